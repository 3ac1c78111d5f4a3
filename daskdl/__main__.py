"""``python -m daskdl``: the ``daskdl`` command."""
import sys

from .cli import main

sys.exit(main())

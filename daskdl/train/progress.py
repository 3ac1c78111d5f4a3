"""A progress bar for a fit: epochs done, samples/s and the last metric.

In a terminal or a notebook it is a ``tqdm.auto`` bar (a widget in Jupyter). When standard
error is not a terminal (batch jobs, CI logs) it is plain lines on the ``"daskdl"`` logger at
INFO, at most one per tenth of the run, so logs hold a few readable lines instead of carriage
returns. Training runs from the client, so this works the same under ``distributed``.
"""
from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger("daskdl")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:  # pragma: no cover
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty or _in_notebook()


class Progress:
    def __init__(self, total_epochs: float, enabled: bool = True, desc: str = "deeplearning", start: float = 0.0):
        self.enabled = enabled and total_epochs > 0
        self.total = float(total_epochs)
        self.done = float(start)
        self.desc = desc
        self.bar = None
        self.t0 = time.time()
        self._next_line = self.total / 10.0
        if not self.enabled:
            return
        if _interactive():
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=round(self.total, 3), initial=round(self.done, 3), desc=desc, unit="epoch",
                                leave=True,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} epochs "
                                           "[{elapsed}<{remaining}{postfix}]")
            except ImportError:  # pragma: no cover - tqdm is a dependency
                self.bar = None

    def update(self, epochs: float, speed: float | None = None, metric: str | None = None):
        if not self.enabled:
            return
        epochs = min(epochs, self.total)
        post = []
        if speed:
            post.append(f"{speed:,.0f} samples/s")
        if metric:
            post.append(metric)
        if self.bar is not None:
            self.bar.update(round(epochs - self.done, 3))
            if post:
                self.bar.set_postfix_str(", ".join(post), refresh=False)
        elif epochs >= self._next_line or epochs >= self.total:
            while self._next_line <= epochs:
                self._next_line += self.total / 10.0
            logger.info("%s: %3.0f%% %.2f/%.2f epochs, %.1f s%s", self.desc, 100.0 * epochs / self.total, epochs,
                        self.total, time.time() - self.t0, " | " + ", ".join(post) if post else "")
        self.done = epochs

    def close(self):
        if self.enabled and self.bar is not None:
            self.bar.close()

"""A progress bar for a fit: epochs done, samples/s and the last metric.

Uses ``tqdm.auto`` when it is installed (terminal and notebook widgets), else a
single line rewritten on standard error. Training runs from the client, so this
works the same under ``distributed``.
"""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total_epochs: float, enabled: bool = True, desc: str = "deeplearning", start: float = 0.0):
        self.enabled = enabled and total_epochs > 0
        self.total = float(total_epochs)
        self.done = float(start)
        self.bar = None
        self.t0 = time.time()
        self._last_plain = 0.0
        if not self.enabled:
            return
        try:
            try:  # notebook widgets only when ipywidgets is there, else the text bar
                import ipywidgets  # noqa: F401
                from tqdm.auto import tqdm
            except ImportError:
                from tqdm import tqdm

            self.bar = tqdm(total=round(self.total, 3), initial=round(self.done, 3), desc=desc, unit="epoch",
                            leave=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} epochs "
                                       "[{elapsed}<{remaining}{postfix}]")
        except ImportError:
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
        else:
            now = time.time()
            if now - self._last_plain > 0.5 or epochs >= self.total:
                self._last_plain = now
                pct = 100.0 * epochs / self.total
                sys.stderr.write(f"\r{'deeplearning'}: {pct:5.1f}% {epochs:.2f}/{self.total:.2f} epochs"
                                 f"{' | ' + ', '.join(post) if post else ''}   ")
                sys.stderr.flush()
        self.done = epochs

    def close(self):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()

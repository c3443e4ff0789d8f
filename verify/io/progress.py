"""A progress bar on stderr (tqdm), shown when stderr is a terminal or when forced.

The package's callers use this small interface (``update(done)``, ``abort()``, ``close()``,
``enabled``); the drawing is tqdm's. tqdm is imported only when a bar is shown (about 40 ms), so a
run without a bar -- stderr not a terminal, ``--no-progress`` -- pays nothing for it.
"""
from __future__ import annotations

import sys
from typing import Any


_LOCKED = False


class Progress:
    def __init__(self, total: int, label: str = "", enabled: bool | None = None, stream: Any = None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self._bar: Any = None
        if self.enabled:
            import threading

            from tqdm import tqdm

            tqdm.monitor_interval = 0  # no monitor thread: updates come from the caller's loop
            global _LOCKED
            if not _LOCKED:  # a thread lock, not tqdm's default multiprocessing one (a semaphore, a tracker process)
                tqdm.set_lock(threading.RLock())
                _LOCKED = True
            self._bar = tqdm(total=self.total, desc=label, file=self.stream, mininterval=0.25, leave=True,
                             dynamic_ncols=True, unit_scale=self.total >= 10_000, smoothing=0.1,
                             bar_format="{desc} [{bar:30}] {percentage:5.1f}%  {n_fmt}/{total_fmt}  "
                                        "{elapsed} elapsed, ~{remaining} left")

    def update(self, done: int, force: bool = False) -> None:
        """``done`` of ``total`` finished (an absolute count); redrawn at most every 0.25 s unless ``force``."""
        if self._bar is None:
            return
        done = max(0, min(int(done), self.total))
        if done != self._bar.n:
            self._bar.update(done - self._bar.n)
        if force:
            self._bar.refresh()

    def abort(self) -> None:
        """End the bar's line without completing it (an interrupt: the next message starts a new line)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        if self._bar is not None:
            self.update(self.total, force=True)
            self._bar.close()
            self._bar = None

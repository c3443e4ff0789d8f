"""A minimal progress bar on stderr (no dependency): shown when stderr is a terminal or when forced."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str = "", enabled: bool | None = None, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        frac = min(done / self.total, 1.0)
        el = now - self.t0
        eta = el / frac - el if frac > 0 else float("nan")
        bar = "#" * int(30 * frac)
        self.stream.write(f"\r{self.label} [{bar:<30s}] {100 * frac:5.1f}%  {done}/{self.total}  {el:6.1f}s elapsed, ~{eta:6.1f}s left")
        self.stream.flush()

    def abort(self) -> None:
        """End the bar's line without completing it (an interrupt: the next message starts a new line)."""
        if self.enabled and self.last:
            self.stream.write("\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(self.total, force=True)
            self.stream.write("\n")
            self.stream.flush()

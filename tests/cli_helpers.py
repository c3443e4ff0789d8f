"""Helpers shared by the tests that run ``picky`` in real subprocesses (test_safety, test_interrupts,
test_startup): the command, its environment, waiting for a marker on stderr, leftover temporaries."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

PICKY = [sys.executable, "-m", "verify.cli"]

#: only a safety net: the waits below end on a marker or on the process's exit, never on a time
#: budget that a loaded machine (a cold numba cache compiles for minutes under double load) can exceed
SAFETY_TIMEOUT = 900.0


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.pop("PICKY_DEBUG", None)
    return env


def wait_for(proc, needle: str, timeout: float = SAFETY_TIMEOUT) -> str:
    """Read proc's stderr until ``needle`` appears (the progress bar writes without newlines); fail
    at once if the process exits first."""
    seen = ""
    t0 = time.monotonic()
    os.set_blocking(proc.stderr.fileno(), False)
    while needle not in seen:
        chunk = proc.stderr.read(4096)
        if chunk:
            seen += chunk.decode(errors="replace")
            continue
        if proc.poll() is not None:
            rest = proc.stderr.read() or b""
            seen += rest.decode(errors="replace")
            if needle in seen:
                break
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {needle!r}; stderr: {seen!r}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"never saw {needle!r} in {timeout:.0f} s; stderr so far: {seen!r}")
        time.sleep(0.05)
    return seen


def temporaries(root: Path) -> list[str]:
    """Every temporary sibling an atomic write can leave (``.NAME.partial-*``, ``.NAME.old-*``) under root."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if ".partial-" in p.name or ".old-" in p.name)

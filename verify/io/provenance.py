"""What produced a result: package and library versions, platform, time and (if available) the git
commit. Every saved result carries :func:`environment` (``picky simulate --save``'s ``run.json``,
``picky verify``'s ``results.json``, manifests)."""
from __future__ import annotations

import datetime as dt
import functools
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

import theory

__all__ = ["environment", "git_commit", "timestamp"]


def timestamp() -> str:
    """Now, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


@functools.lru_cache(maxsize=1)
def git_commit() -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the checkout the package runs from, or None when it is
    not a git checkout (an installed wheel) or git is missing."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(status.strip())}


def _version(dist: str) -> str | None:
    """An installed distribution's version, without importing it (SciPy and numba take a second)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover - every dependency is installed
        return None


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    return {"package": "picky-sgd", "version": theory.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": _version("scipy"), "numba": _version("numba"),
            "platform": platform.platform(), "machine": platform.machine()}


def environment() -> dict[str, Any]:
    """Versions, platform, ``timestamp`` (UTC) and ``git`` (:func:`git_commit`, None outside a checkout)."""
    return {**_static(), "timestamp": timestamp(), "git": git_commit()}

"""numba in one place: the decorator every compiled function uses, its on-disk cache, the generated
dispatch switches, and the two reductions (norm, distance) that every implementation shares.

Cache. Compiled code is cached on disk (numba ``cache=True``) in a directory keyed by a hash of the
package's own source (``theory/`` and ``verify/``): numba checks only the time stamp of the file
that holds a cached function, not of the functions it inlined from other files, so a change in a
problem, a noise model or a theory rule would otherwise leave a stale kernel in the cache. Base
directory: ``$PICKY_NUMBA_CACHE``, else ``$XDG_CACHE_HOME/picky-sgd/numba`` (``~/.cache/...``). The
user's own ``NUMBA_CACHE_DIR`` is left alone (it is restored after each of our decorations).

Floating point. Nothing here uses fast-math: every sum is taken left to right and no multiply-add
is contracted, so a function gives the same bits wherever it is inlined. The reference loop, the
numpy-facing problem methods and the compiled kernel all call these functions, so they agree bit
for bit by construction (see ``verify.engine``).
"""
from __future__ import annotations

import hashlib
import math
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numba
import numpy as np

__all__ = ["jit", "switch", "norm", "dist", "all_finite", "CACHE_DIR", "source_hash"]

_ROOT = Path(__file__).resolve().parents[1]


def source_hash() -> str:
    """sha256 (first 16 hex digits) of every .py file of ``theory/`` and ``verify/``."""
    h = hashlib.sha256()
    for pkg in ("theory", "verify"):
        for f in sorted((_ROOT / pkg).rglob("*.py")):
            h.update(str(f.relative_to(_ROOT)).encode())
            h.update(f.read_bytes())
    h.update(numba.__version__.encode())
    h.update(np.__version__.encode())
    return h.hexdigest()[:16]


def _cache_base() -> Path:
    env = os.environ.get("PICKY_NUMBA_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "picky-sgd" / "numba"


CACHE_DIR = str(_cache_base() / source_hash())


def jit(fn: Callable | None = None, *, cache: bool = True, **kw):
    """``numba.njit(nogil=True, cache=True)`` with the package's cache directory."""

    def deco(f: Callable):
        if not cache:
            return numba.njit(nogil=True, **kw)(f)
        old = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = CACHE_DIR
        try:
            return numba.njit(nogil=True, cache=True, **kw)(f)
        finally:
            numba.config.CACHE_DIR = old

    return deco if fn is None else deco(fn)


def switch(name: str, funcs: Sequence[Callable], args: str, default: str) -> Callable:
    """A compiled ``name(code, <args>)`` that calls ``funcs[code](<args>)``: the dispatch table of a
    registry, generated from the registry itself (so it lists each entry exactly once and cannot
    fall out of step). The callees are called directly, so the compiler can inline them.

    ``args``: the argument list, e.g. ``"p, x, out"``; ``default``: the expression returned for an
    unknown code (never reached through the package: codes come from the registries)."""
    lines = [f"def {name}(code, {args}):"]
    for i in range(len(funcs)):
        lines.append(f"    if code == {i}:")
        lines.append(f"        return _f{i}({args})")
    lines.append(f"    return {default}")
    ns: dict = {f"_f{i}": f for i, f in enumerate(funcs)}
    ns.update(np=np, math=math)
    exec(compile("\n".join(lines), f"<picky switch {name}>", "exec"), ns)  # noqa: S102 - generated from a registry
    return numba.njit(nogil=True)(ns[name])  # not cached itself: inlined into the cached callers


@jit
def norm(v: np.ndarray) -> float:
    """||v||_2: sqrt of the left-to-right sum of squares."""
    s = 0.0
    for k in range(v.size):
        s += v[k] * v[k]
    return math.sqrt(s)


@jit
def dist(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b||_2, the difference taken element by element (no temporary): equals norm(a - b)."""
    s = 0.0
    for k in range(a.size):
        u = a[k] - b[k]
        s += u * u
    return math.sqrt(s)


@jit
def all_finite(v: np.ndarray) -> bool:
    for k in range(v.size):
        if not math.isfinite(v[k]):
            return False
    return True


def quiet_numba_warnings() -> None:
    """numba's performance warnings are about our choices, not the user's input."""
    warnings.filterwarnings("ignore", category=numba.NumbaPerformanceWarning)

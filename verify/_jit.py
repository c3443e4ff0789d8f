"""numba in one place: the decorator every compiled function uses, its on-disk cache, the generated
dispatch switches, and the two reductions (norm, distance) that every implementation shares.

Cache. Compiled code is cached on disk (numba ``cache=True``) in a directory keyed by a hash of the
package's own source (``theory/`` and ``verify/``, but for the modules no compiled code reads): numba checks only the time stamp of the file
that holds a cached function, not of the functions it inlined from other files, so a change in a
problem, a noise model or a theory rule would otherwise leave a stale kernel in the cache. Base
directory: ``$PICKY_NUMBA_CACHE``, else ``$XDG_CACHE_HOME/picky-sgd/numba`` (``~/.cache/...``). The
user's own ``NUMBA_CACHE_DIR`` is left alone (it is restored after each of our decorations).

Floating point. Nothing here uses fast-math: every sum is taken in one fixed order and no
multiply-add is contracted, so a function gives the same bits wherever it is inlined. The reference loop, the
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


#: sources that no compiled function reads (commands, claims, figures, I/O, searches): editing them
#: keeps the cache (a change elsewhere under theory/ or verify/ recompiles, ~20 s)
_NOT_COMPILED = ("verify/cli/", "verify/claims/", "verify/figures/", "verify/runtime/", "verify/search/", "verify/io/",
                 "verify/worstcase/", "verify/api.py", "verify/catalog.py", "verify/optional.py", "verify/models/traces.py",
                 "verify/algorithms/user.py", "verify/algorithms/batch.py")


def source_hash() -> str:
    """sha256 (first 16 hex digits) of the .py files of ``theory/`` and ``verify/`` that compiled code
    can depend on (all but :data:`_NOT_COMPILED`)."""
    h = hashlib.sha256()
    for pkg in ("theory", "verify"):
        for f in sorted((_ROOT / pkg).rglob("*.py")):
            rel = f.relative_to(_ROOT).as_posix()
            if rel.startswith(_NOT_COMPILED):
                continue
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
    return numba.njit(nogil=True, inline="always")(ns[name])  # not cached itself: inlined into the cached callers


@jit(inline="always")
def _sum_sq_diff(a, b, n, diff):
    """sum_k (a_k - b_k)^2 (or a_k^2 if not ``diff``) in a fixed order: eight interleaved partial
    sums over blocks of eight (independent, so the compiler can keep them in vector registers
    without reassociating anything), combined pairwise, then the remainder left to right."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m = n - n % 8
    for k in range(0, m, 8):
        if diff:
            u0 = a[k] - b[k]
            u1 = a[k + 1] - b[k + 1]
            u2 = a[k + 2] - b[k + 2]
            u3 = a[k + 3] - b[k + 3]
            u4 = a[k + 4] - b[k + 4]
            u5 = a[k + 5] - b[k + 5]
            u6 = a[k + 6] - b[k + 6]
            u7 = a[k + 7] - b[k + 7]
        else:
            u0, u1, u2, u3 = a[k], a[k + 1], a[k + 2], a[k + 3]
            u4, u5, u6, u7 = a[k + 4], a[k + 5], a[k + 6], a[k + 7]
        s0 += u0 * u0
        s1 += u1 * u1
        s2 += u2 * u2
        s3 += u3 * u3
        s4 += u4 * u4
        s5 += u5 * u5
        s6 += u6 * u6
        s7 += u7 * u7
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for k in range(m, n):
        u = a[k] - b[k] if diff else a[k]
        s += u * u
    return s


@jit(inline="always")
def norm(v: np.ndarray) -> float:
    """||v||_2 (the sum of squares in the fixed order of ``_sum_sq_diff``)."""
    return math.sqrt(_sum_sq_diff(v, v, v.size, False))


@jit(inline="always")
def dist(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b||_2, the differences taken element by element (no temporary)."""
    return math.sqrt(_sum_sq_diff(a, b, a.size, True))


@jit(inline="always")
def all_finite(v: np.ndarray) -> bool:
    for k in range(v.size):
        if not math.isfinite(v[k]):
            return False
    return True


def quiet_numba_warnings() -> None:
    """numba's performance warnings are about our choices, not the user's input."""
    warnings.filterwarnings("ignore", category=numba.NumbaPerformanceWarning)

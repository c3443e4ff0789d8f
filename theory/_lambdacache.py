"""An on-disk cache of the lambdified forms of :mod:`theory`'s SymPy expressions.

``sympy.lambdify`` turns an expression into the source text of a plain Python function and
executes it in a namespace of ``math`` (or ``numpy``) names. This module stores that source text,
so that a later process recreates the same function by executing the same text in the same
namespace, without importing SymPy or building the statements. The SymPy in ``theory/`` stays the
one source of truth: an entry is only ever *written* from a fresh ``lambdify`` of it, and the cache
file is keyed by a hash of every ``.py`` file under ``theory/`` (plus the SymPy and NumPy versions),
so that editing any statement or rule selects a new, empty cache (as :mod:`verify._jit` keys the
numba cache).

An entry is stored only if every global name its code uses resolves, in the namespace rebuilt
here, to the very object SymPy's namespace gave it (checked when the entry is written); anything
else is simply not cached and is lambdified afresh in each process.

Location: ``$PICKY_THEORY_CACHE`` (a directory), else ``$XDG_CACHE_HOME/picky-sgd/theory``
(``~/.cache/...``); ``PICKY_THEORY_CACHE=off`` disables the cache. A cache that cannot be read
or written is ignored (the expressions are then lambdified as before).
"""
from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
from importlib import metadata
from pathlib import Path
from types import FunctionType
from typing import Any, Callable

__all__ = ["source_hash", "cache_file", "lookup", "store", "lambdified"]

_ROOT = Path(__file__).resolve().parent
#: bump when the layout of an entry changes
_FORMAT = 1


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover - not installed through pip
        return "?"


def source_hash(root: Path | None = None) -> str:
    """sha256 (first 16 hex digits) of every ``.py`` file under ``root`` (default: this package),
    with the SymPy and NumPy versions and the entry format."""
    root = _ROOT if root is None else Path(root)
    h = hashlib.sha256(f"format {_FORMAT}\n".encode())
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    h.update(_version("sympy").encode())
    h.update(_version("numpy").encode())
    return h.hexdigest()[:16]


def _base() -> Path | None:
    env = os.environ.get("PICKY_THEORY_CACHE")
    if env:
        return None if env.lower() in ("off", "0", "no") else Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "picky-sgd" / "theory"


@functools.lru_cache(maxsize=1)
def cache_file() -> Path | None:
    """The cache file of this source (``None`` when disabled)."""
    base = _base()
    return None if base is None else base / f"{source_hash()}.json"


_entries: dict[str, Any] | None = None


def _load() -> dict[str, Any]:
    global _entries
    if _entries is None:
        _entries = {}
        path = cache_file()
        if path is not None:
            try:
                data = json.loads(path.read_text())
                if isinstance(data, dict):
                    _entries = data
            except (OSError, ValueError):
                pass
    return _entries


# ---------------------------------------------------------------------------------------------
# namespaces: what lambdify executes its code in, rebuilt without SymPy
# ---------------------------------------------------------------------------------------------
def _namespace(module: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"builtins": builtins, "range": range}
    if module == "math":
        ns.update({k: v for k, v in vars(math).items() if not k.startswith("_")})
        ns["math"] = math
    elif module == "numpy":
        import numpy

        ns.update({k: v for k, v in vars(numpy).items() if not k.startswith("_")})
        ns["numpy"] = numpy
        ns["reduce"] = functools.reduce
    else:  # pragma: no cover - only the two modules are used
        raise ValueError(f"no cached namespace for module {module!r}")
    return ns


def _global_names(code: Any) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names |= _global_names(c)
    return names


def _same_globals(fn: FunctionType, module: str) -> bool:
    ns = _namespace(module)
    missing = object()
    for name in _global_names(fn.__code__):
        theirs = fn.__globals__.get(name, getattr(builtins, name, missing))
        ours = ns.get(name, getattr(builtins, name, missing))
        if theirs is missing or ours is not theirs:
            return False
    return True


def _source(fn: Callable) -> str:
    import inspect

    return inspect.getsource(fn)


def _rebuild(src: str, module: str) -> Callable:
    ns = _namespace(module)
    code = compile(src, "<picky theory cache>", "exec")
    exec(code, ns)  # noqa: S102 - text written by sympy.lambdify from theory/'s own expressions
    fns = [v for k, v in ns.items() if isinstance(v, FunctionType) and v.__code__.co_filename == "<picky theory cache>"]
    if len(fns) != 1:
        raise ValueError("a cached entry must define exactly one function")
    return fns[0]


def lookup(key: str) -> tuple[Any, list[Callable]] | None:
    """``(data, functions)`` stored under ``key``, or ``None``."""
    entry = _load().get(key)
    if entry is None:
        return None
    try:
        return entry["data"], [_rebuild(src, mod) for src, mod in entry["functions"]]
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None


def store(key: str, data: Any, functions: list[tuple[Callable, str]]) -> None:
    """Store ``data`` (JSON) and ``functions`` (each a lambdified function with its module name,
    ``"math"`` or ``"numpy"``) under ``key``, if every function can be rebuilt exactly."""
    path = cache_file()
    if path is None:
        return
    try:
        if not all(isinstance(f, FunctionType) and _same_globals(f, m) for f, m in functions):
            return
        entry = {"data": data, "functions": [[_source(f), m] for f, m in functions]}
        json.dumps(entry)
    except (OSError, TypeError, ValueError):
        return
    entries = _load()
    entries[key] = entry
    write_json_quietly(path, entries)


def write_json_quietly(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary sibling renamed into place) -- a cache
    file: one that cannot be written is left alone (an ``OSError`` is swallowed; a reader sees the old
    file or the new one, never half of one). Also :mod:`verify.catalog`'s writer."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(obj, fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass


def lambdified(key: str, make: Callable[[], tuple[Any, list[tuple[Callable, str]]]]) -> tuple[Any, list[Callable]]:
    """``(data, functions)`` for ``key``: from the cache, else ``make()`` (which lambdifies from the
    SymPy and returns ``(data, [(function, module), ...])``), stored for the next process."""
    hit = lookup(key)
    if hit is not None:
        return hit
    data, functions = make()
    store(key, data, functions)
    return data, [f for f, _ in functions]

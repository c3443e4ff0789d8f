"""The names the command line shows before it runs anything: the registries' names, ``picky list``.

``picky --help``, ``picky simulate --help`` and ``picky list`` show the algorithms, problems, delay
and noise models (with defaults), adversaries, claims, figures, ... Those live in the registries
(:mod:`verify.algorithms`, :mod:`verify.models.problems`, ...), whose modules import numba, SciPy and
SymPy (seconds). So the command line reads them from a small JSON file generated from the
registries themselves (:func:`build`) and cached on disk, keyed by a hash of the package's source
(``theory/`` and ``verify/``): the registries stay the one source of truth, and any edit to the
package selects a new file, regenerated on first use (as :mod:`verify._jit` keys the numba cache).

Location: ``$PICKY_CATALOG_CACHE`` (a directory), else ``$XDG_CACHE_HOME/picky-sgd/catalog``
(``~/.cache/...``); ``PICKY_CATALOG_CACHE=off`` rebuilds it in every process. A cache that
cannot be read or written is ignored.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["catalog", "build", "source_hash", "cache_file"]

_ROOT = Path(__file__).resolve().parents[1]
#: bump when the layout of the catalog changes
_FORMAT = 10


def source_hash() -> str:
    """sha256 (first 16 hex digits) of every ``.py`` file under ``theory/`` and ``verify/``."""
    h = hashlib.sha256(f"format {_FORMAT}\n".encode())
    for pkg in ("theory", "verify"):
        for f in sorted((_ROOT / pkg).rglob("*.py")):
            h.update(f.relative_to(_ROOT).as_posix().encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cache_file() -> Path | None:
    env = os.environ.get("PICKY_CATALOG_CACHE")
    if env and env.lower() in ("off", "0", "no"):
        return None
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "picky-sgd" / "catalog"
    return base / f"{source_hash()}.json"


def build() -> dict[str, Any]:
    """The catalog, read from the registries (imports them all: seconds)."""
    import theory

    from verify import algorithms, claims, figures
    from verify.models import adversaries as adversary, compute, delays, noise, problems
    from verify.runtime import async_server as asyncrun, simulation
    from verify.search import hunter

    return {
        "format": _FORMAT,
        "algorithms": list(algorithms.ALGORITHMS),
        "overrides": {a: list(v) for a, v in algorithms.OVERRIDES.items()},
        "rules": list(algorithms.RULES),
        "compute_algorithms": {a: list(v) for a, v in simulation.POLICY_OVERRIDES.items()},
        "adversaries": list(adversary.ADVERSARIES),
        "delay_draws": list(simulation.DELAY_DRAWS),
        "engines": list(simulation.ENGINES),
        "conventions": list(theory.CONVENTIONS),
        "claims": {c.id: c.title for c in claims.CLAIMS.values()},
        "claim_profiles": list(claims.PROFILES),
        "figures": list(figures.NAMES),
        "speeds": list(asyncrun.SPEEDS),
        "async_algorithms": [n for n in algorithms.ALGORITHMS if n != "stale-drop"] + list(asyncrun.ALGORITHMS),
        "hunt_symbols": list(hunter.SYMBOLS),
        "hunt_run_symbols": list(hunter.RUN_SYMBOLS),
        "hunt_default_dim": hunter.DEFAULT_DIM,
        "hunt_instances": {n: {"spec": i.spec, "dim": i.dim, "eps": i.eps} for n, i in hunter.INSTANCES.items()},
        "problems": {n: {"description": v["description"], "defaults": v["defaults"]} for n, v in problems.PROBLEMS.items()},
        "delay_models": {n: {"description": m.description, "defaults": m.defaults} for n, m in delays.MODELS.items()},
        "noises": {n: {"description": v["description"], "defaults": v["defaults"]} for n, v in noise.NOISES.items()},
        "compute_models": {n: {"description": m.description, "defaults": {k: p.default for k, p in m.params.items()}}
                           for n, m in compute.MODELS.items()},
    }


def _plain(obj: Any) -> Any:
    """JSON's view of ``obj`` (tuples as lists), so that a fresh and a cached catalog are equal."""
    return json.loads(json.dumps(obj))


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    """The catalog: from the cache file of this source, else :func:`build` (and store it)."""
    path = cache_file()
    if path is not None:
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and data.get("format") == _FORMAT:
                return data
        except (OSError, ValueError):
            pass
    data = _plain(build())
    if path is not None:
        from theory._lambdacache import write_json_quietly  # the standard library only (no SymPy)

        write_json_quietly(path, data)
    return data

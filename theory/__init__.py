"""picky-sgd theory: every bound of the package as SymPy, and fast calculators derived from it.

>>> import theory
>>> theory.iterations("picky-explicit", beta=1.0, F=1.0, sigma=0.0, eps=0.1, tau_avg=2.0)
1996800.0

Nothing in ``theory`` imports ``verify``: data flows theory -> verify.

Start-up: ``import theory`` imports nothing heavy. Each public name is loaded from its submodule on
first use (module ``__getattr__``), and the calculators take their lambdified forms from an on-disk
cache generated from the SymPy (:mod:`theory._lambdacache`, keyed by a hash of this package's
source), so ``theory.iterations(...)`` in a fresh process neither imports SymPy nor builds the
statements once the cache is warm. The SymPy here stays the one source of truth.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> the submodule that defines it (loaded on first access)
_LAZY: dict[str, str] = {
    **{n: "calculators" for n in (
        "CONVENTIONS", "about", "accuracy", "check_constants", "compare", "horizon", "condition_holds", "crossover_ratio",
        "crossover_tau_max", "evaluate", "first_horizon", "inverse_expression", "iterations", "max_stable_delay",
        "restarts", "stability_threshold", "step_size", "threshold", "RangeWarning")},
    **{n: "results" for n in ("RESULTS", "get", "ids")},
    **{n: "rules" for n in ("RULES", "UpdateRule", "get_rule")},
    **{n: "statement" for n in ("Convention", "Kind", "Statement", "Status", "UnknownConstant")},
    **{n: "validation" for n in ("DelaySequenceError", "DelaysLike", "check", "validate_delays")},
    **{n: "timing" for n in ("TIME_RESULTS", "async_arrival_bounds", "batch_time", "get_time", "harmonic_means",
                             "optimal_workers", "ringmaster_time", "time", "time_ratio")},
}
_SUBMODULES = ("symbols", "rules", "results", "statement", "validation", "calculators", "proofs", "timing")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


def latex(result_id: str, what: str = "bound") -> str:
    """LaTeX of a statement's bound (or step_size, threshold, an aux entry)."""
    from .results import get

    return get(result_id).latex(what)


__all__ = [
    "RESULTS",
    "RULES",
    "UpdateRule",
    "get_rule",
    "rules",
    "get",
    "ids",
    "latex",
    "symbols",
    "Statement",
    "Status",
    "Convention",
    "Kind",
    "UnknownConstant",
    "about",
    "iterations",
    "accuracy",
    "step_size",
    "threshold",
    "restarts",
    "evaluate",
    "condition_holds",
    "first_horizon",
    "crossover_tau_max",
    "crossover_ratio",
    "stability_threshold",
    "max_stable_delay",
    "compare",
    "check_constants",
    "horizon",
    "inverse_expression",
    "CONVENTIONS",
    "RangeWarning",
    "check",
    "validate_delays",
    "DelaySequenceError",
    "DelaysLike",
]
__all__ += ["TIME_RESULTS", "get_time", "time", "optimal_workers", "time_ratio", "batch_time", "ringmaster_time", "harmonic_means",
            "async_arrival_bounds"]

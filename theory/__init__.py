"""picky-sgd theory: every bound of the package as SymPy, and fast calculators derived from it.

>>> import theory
>>> theory.iterations("picky-explicit", beta=1.0, F=1.0, sigma=0.0, eps=0.1, tau_avg=2.0)
1996800.0

Nothing in ``theory`` imports ``verify``: data flows theory -> verify.
"""
from __future__ import annotations

from . import symbols
from .calculators import (
    CONVENTIONS,
    RangeWarning,
    accuracy,
    check_constants,
    compare,
    horizon,
    condition_holds,
    crossover_ratio,
    crossover_tau_max,
    evaluate,
    first_horizon,
    inverse_expression,
    iterations,
    max_stable_delay,
    restarts,
    stability_threshold,
    step_size,
    threshold,
)
from . import rules
from .results import RESULTS, get, ids
from .rules import RULES, UpdateRule, get_rule
from .statement import Convention, Kind, Statement, Status, UnknownConstant
from .validation import DelaySequenceError, DelaysLike, check, validate_delays
from .timing import TIME_RESULTS, batch_time, get_time, harmonic_means, optimal_workers, ringmaster_time, time, time_ratio  # noqa: E402,F401

__version__ = "0.1.0"


def latex(result_id: str, what: str = "bound") -> str:
    """LaTeX of a statement's bound (or step_size, threshold, an aux entry)."""
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
__all__ += ["TIME_RESULTS", "get_time", "time", "optimal_workers", "time_ratio", "batch_time", "ringmaster_time", "harmonic_means"]

"""Input validation shared by every calculator and by ``verify``.

Every public entry point of the package validates its inputs here, so that bad input always
raises ``ValueError`` naming the parameter, the offending value and the allowed range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["Domain", "DOMAINS", "check", "check_scalar", "check_int", "check_real", "check_bool", "is_number", "describe_int",
           "describe_real", "validate_delays", "DelaySequenceError", "DelaysLike"]


@dataclass(frozen=True)
class Domain:
    """Allowed range of one named parameter: ``low (<|<=) x (<|<=) high``."""

    name: str
    low: float
    high: float
    low_open: bool
    high_open: bool
    integer: bool = False
    meaning: str = ""

    def describe(self) -> str:
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        low = "-inf" if self.low == -math.inf else f"{self.low:g}"
        high = "inf" if self.high == math.inf else f"{self.high:g}"
        kind = "an integer" if self.integer else "a finite real"
        return f"{kind} in {lo}{low}, {high}{hi}"

    def contains(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        if self.low_open and not x > self.low:
            return False
        if not self.low_open and not x >= self.low:
            return False
        if self.high_open and not x < self.high:
            return False
        if not self.high_open and not x <= self.high:
            return False
        if self.integer and x != math.floor(x):
            return False
        return True


_INF = math.inf
DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in [
        Domain("beta", 0.0, _INF, True, True, meaning="smoothness constant (gradient Lipschitz constant)"),
        Domain("F", 0.0, _INF, True, True, meaning="initial gap f(x_1) - inf f"),
        Domain("sigma", 0.0, _INF, False, True, meaning="noise standard deviation (variance sigma^2)"),
        Domain("eps", 0.0, _INF, True, True, meaning="target accuracy"),
        Domain("tau_avg", 0.0, _INF, False, True, meaning="average delay (1/T) sum_t d_t"),
        Domain("tau_max", 0.0, _INF, False, True, meaning="maximal delay max_t d_t"),
        Domain("tau_q", 0.0, _INF, False, True, meaning="q-quantile of the delays"),
        Domain("tau_C", 0.0, _INF, False, True, meaning="concurrency (gradients in flight)"),
        Domain("concurrency", 1.0, _INF, False, True, meaning="the sequence's maximum concurrency: max_t of the "
               "gradients in flight at step t (>= 1: the one applied at t)"),
        Domain("T", 0.0, _INF, True, True, meaning="number of steps (horizon)"),
        Domain("delta", 0.0, 1.0, True, True, meaning="failure probability"),
        Domain("q", 0.0, 1.0, True, False, meaning="delay quantile level"),
        Domain("workers", 1.0, _INF, False, True, integer=True, meaning="number of workers"),
        Domain("breakpoints", 0.0, _INF, False, True, integer=True, meaning="number of breakpoints |B|"),
        Domain("sum_delays", 0.0, _INF, False, True, meaning="sum of the delays sum_t d_t"),
        Domain("C", 0.0, _INF, True, True, meaning="absolute constant (unknown; user parameter)"),
        Domain("eta", 0.0, _INF, True, True, meaning="step size"),
    ]
}


# ----------------------------------------------------------------------------------------------
# The one set of checks for single values (theory, verify and the CLI's argument types use these,
# so that the API and the CLI reject the same values with the same words):
# "<name> must be <allowed>; got <value>"
# ----------------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def describe_int(low: int = 0, high: float = _INF) -> str:
    """How an integer range reads in messages: "a positive integer", "an integer >= 0", "an integer in [a, b]"."""
    if high == _INF:
        return "a positive integer" if low == 1 else f"an integer >= {low}"
    return f"an integer in [{low}, {int(high)}]"


def describe_real(low: float = -_INF, high: float = _INF, low_open: bool = True, high_open: bool = True) -> str:
    return Domain("", low, high, low_open or low == -_INF, high_open or high == _INF).describe()


def check_int(name: str, value: Any, low: int = 0, high: float = _INF, *, integral_floats: bool = False) -> int:
    """``value`` as an int if it is an integer (not a bool) in [low, high]; ``integral_floats``
    also accepts 3.0. Else ValueError "<name> must be <describe_int>; got <value>"."""
    ok = is_number(value)
    if ok and not isinstance(value, (int, np.integer)):
        ok = integral_floats and math.isfinite(float(value)) and float(value) == math.floor(float(value))
    if not ok or not low <= value <= high:
        raise ValueError(f"{name} must be {describe_int(low, high)}; got {value!r}")
    return int(value)


def check_real(name: str, value: Any, low: float = -_INF, high: float = _INF, low_open: bool = True,
               high_open: bool = True) -> float:
    """``value`` as a float if it is a finite real in the interval; else ValueError naming it."""
    dom = Domain(name, low, high, low_open or low == -_INF, high_open or high == _INF)
    if not is_number(value) or not dom.contains(float(value)):
        raise ValueError(f"{name} must be {dom.describe()}; got {value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """A bool (or 0/1); else ValueError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if is_number(value) and float(value) in (0.0, 1.0):
        return bool(value)
    raise ValueError(f"{name} must be a boolean (true/false); got {value!r}")


def _domain(name: str) -> Domain:
    base = name.split(":", 1)[0]
    if base in DOMAINS:
        return DOMAINS[base]
    if base.startswith("C_"):
        return Domain(name, 0.0, _INF, True, True, meaning="absolute constant")
    raise KeyError(f"no domain registered for parameter {name!r}")


def check_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in the domain of ``name``; else raise ValueError."""
    dom = _domain(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be {dom.describe()}; got {value!r} of type {type(value).__name__}")
    x = float(value)
    if not dom.contains(x):
        raise ValueError(f"{name} must be {dom.describe()}; got {value!r}")
    return x


def check(name: str, value: Any) -> float | np.ndarray:
    """Validate a scalar or an array parameter. Arrays are checked elementwise; the first bad
    element is named with its index."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        # fast path for plain Python numbers
        dom = _domain(name)
        x = float(value)
        if dom.contains(x):
            return x
        raise ValueError(f"{name} must be {dom.describe()}; got {value!r}")
    if isinstance(value, (np.ndarray, list, tuple)):
        dom = _domain(name)
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be {dom.describe()} (or an array of such); got {value!r}") from None
        ok = np.isfinite(arr)
        ok &= (arr > dom.low) if dom.low_open else (arr >= dom.low)
        ok &= (arr < dom.high) if dom.high_open else (arr <= dom.high)
        if dom.integer:
            ok &= arr == np.floor(np.where(np.isfinite(arr), arr, 0.0))
        if not ok.all():
            idx = tuple(int(i) for i in np.argwhere(~ok)[0])
            raise ValueError(
                f"{name} must be {dom.describe()}; got {arr[idx]!r} at index {idx if arr.ndim > 1 else idx[0]}"
            )
        return arr
    return check_scalar(name, value)


class DelaysLike(Protocol):
    """Anything that carries a delay sequence d_1..d_T in a ``delays`` array (e.g.
    ``verify.models.delays.DelaySequence``); every theory function taking delays accepts it."""

    delays: Any


class DelaySequenceError(ValueError):
    """A delay sequence violates the model 0 <= d_t <= t-1 (1-indexed steps), integer, finite."""


def validate_delays(delays: Any, length: int | None = None, name: str = "delays") -> np.ndarray:
    """Validate a delay sequence d_1..d_T of the model of Theorem D and return it as int64.

    The model (paper.md §2, theorem-d-review.md §7.2): step t = 1..T uses the gradient computed at
    the iterate of step t - d_t, so 0 <= d_t <= t - 1 (causality). In 0-based array position i
    (step t = i + 1) this reads 0 <= delays[i] <= i.

    ``delays`` is a 1-d sequence of integers (list, tuple, numpy array) or an object that carries one
    in its ``delays`` attribute (the :class:`DelaysLike` protocol; ``verify.models.delays.DelaySequence``, what
    ``verify.models.delays.make`` returns, is one). Theory reads the attribute and never imports verify.

    Raises DelaySequenceError (a ValueError) naming the first offending step.
    """
    if not isinstance(delays, (np.ndarray, list, tuple)) and hasattr(delays, "delays"):
        delays = delays.delays
    try:
        arr = np.asarray(delays)
    except Exception as exc:  # pragma: no cover - numpy raises many types
        raise DelaySequenceError(f"{name} must be a 1-d sequence of integers; got {type(delays).__name__}") from exc
    if arr.ndim != 1:
        if arr.ndim == 0:
            raise DelaySequenceError(f"{name} must be a 1-d sequence of integers (or an object with a .delays array, "
                                     f"such as verify.models.delays.DelaySequence); got {type(delays).__name__}")
        raise DelaySequenceError(f"{name} must be 1-dimensional; got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise DelaySequenceError(f"{name} must have length {length} (one delay per step); got length {arr.shape[0]}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DelaySequenceError(f"{name} must hold integers; got dtype {arr.dtype}")
    # one pass: the first offending step overall, whatever the kind of violation
    idx = np.arange(arr.shape[0])
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        safe = np.where(finite, arr, 0.0)
        integral = safe == np.floor(safe)
    else:
        finite = integral = np.ones(arr.shape[0], dtype=bool)
        safe = arr
    bad = ~finite | ~integral | (safe < 0) | (safe > idx)
    if bad.any():
        i = int(np.argmax(bad))
        v = arr[i].item()
        if not finite[i]:
            why = f"is not finite: {v!r}"
        elif not integral[i]:
            why = f"is not an integer: {v!r}"
        elif safe[i] < 0:
            why = f"= {v!r} is negative; delays must satisfy 0 <= d_t <= t-1"
        else:
            why = (
                f"= {v!r} exceeds t-1 = {i}: the gradient would come from before step 1 "
                "(causality requires 0 <= d_t <= t-1)"
            )
        raise DelaySequenceError(f"{name}[{i}] (step t={i + 1}) {why}")
    d = arr.astype(np.int64)
    return d

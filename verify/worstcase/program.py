"""A delayed method on a fixed delay sequence, unrolled into a *program*: which iterate each step
reads, whether it moves, by how much, and which distance constraints a Picky accept pattern adds.
numpy only; both the PEP (:mod:`.pep`) and the certificates (:mod:`.certificate`) read it.

Indexing (that of :func:`verify.algorithms.reference_run`): steps t = 1..T; at step t the server holds
x_t and applies g_t = grad f(x_{t-d_t}) (sigma = 0):

    x_{t+1} = x_t - eta_t grad f(x_{t-d_t})   if step t is accepted,     x_{t+1} = x_t otherwise.

The measured quantity is min_{1<=t<=T} ||grad f(x_t)||^2 (x_{T+1} is not measured, as in the
reference loop; ``count_last=True`` adds it, the convention of PEPit's gradient-descent example).

Iterates are grouped into *points*: x_{t+1} is a new point when step t moves (accepted, eta_t > 0),
otherwise the same point as x_t. ``point_of[t]`` is the point of x_t (t = 1..T+1, index 0 unused).
With x_1 = 0 (every constraint below depends on differences only), x_t = sum_q X[t, q] g_q is a linear
combination of the gradients g_q at the points, X the coefficient matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from theory.validation import validate_delays

from ..algorithms.rules import Algorithm, Picky
from verify.models.delays import DelaySequence

__all__ = ["Program", "build_program", "parse_pattern", "INITIAL_CONDITIONS"]

#: the initial conditions the PEP can impose (see the package docstring :mod:`verify.worstcase`)
INITIAL_CONDITIONS = ("every", "final")


def parse_pattern(pattern: Any, T: int) -> np.ndarray:
    """A Picky accept pattern: a string of 'a' (accepted) / 'r' (rejected), one per step (at least T;
    the first T are used), or a boolean sequence. Returns a bool array of length T."""
    if isinstance(pattern, str):
        bad = sorted(set(pattern) - {"a", "r"})
        if bad:
            raise ValueError(f"pattern must be a string of 'a' (accept) and 'r' (reject); got {pattern!r} (bad {bad})")
        arr = np.array([c == "a" for c in pattern], dtype=bool)
    else:
        try:
            arr = np.asarray(pattern, dtype=bool).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"pattern must be a string of 'a'/'r' or a boolean sequence; got {pattern!r}") from None
    if arr.size < T:
        raise ValueError(f"pattern has {arr.size} steps; it needs at least T = {T}")
    return arr[:T].copy()


@dataclass(frozen=True)
class Program:
    """The unrolled method (see the module docstring). Arrays are indexed by step t - 1 (length T)
    unless said otherwise."""

    T: int
    beta: float
    F: float
    delays: np.ndarray  # d_t used (zero for SGD)
    accept: np.ndarray  # bool
    eta: np.ndarray  # eta_t applied when accepted
    rho: float | None  # Picky's threshold (pattern constraints), None otherwise
    pattern: bool  # whether accept came from a Picky pattern (adds distance constraints)
    initial: str
    count_last: bool
    point_of: np.ndarray  # length T + 2, point_of[t] for t = 1..T+1
    X: np.ndarray  # (T + 2, n): x_t = X[t] @ (g_0..g_{n-1}), x_1 = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(self.X.shape[1])

    def measured_steps(self) -> list[int]:
        """The t whose ||grad f(x_t)||^2 enters the minimum."""
        return list(range(1, self.T + 1)) + ([self.T + 1] if self.count_last else [])

    def source(self, t: int) -> int:
        """The step whose iterate step t reads: t - d_t."""
        return t - int(self.delays[t - 1])

    def distance_constraints(self) -> list[tuple[int, str]]:
        """Picky's pattern as (t, "le" | "ge"): ||x_t - x_{t-d_t}||^2 <= rho^2 on accepted steps with
        d_t > 0, >= rho^2 on rejected steps (d_t = 0 gives distance 0: accepted always)."""
        if not self.pattern:
            return []
        return [(t, "le" if self.accept[t - 1] else "ge") for t in range(1, self.T + 1)
                if self.delays[t - 1] > 0 or not self.accept[t - 1]]

    def structurally_infeasible(self) -> str | None:
        """Why the pattern cannot hold whatever f is (a rejection at distance 0), or None."""
        for t, kind in self.distance_constraints():
            if kind == "ge" and self.point_of[t] == self.point_of[self.source(t)]:
                why = "d_t = 0" if self.delays[t - 1] == 0 else f"x_{t} = x_{self.source(t)} (no accepted move in between)"
                return f"step {t} is rejected but ||x_t - x_(t-d_t)|| = 0 < rho ({why})"
        return None

    def prefix(self, T: int) -> "Program":
        """The same method stopped after T steps."""
        return _assemble(T, self.beta, self.F, self.delays[:T], self.accept[:T], self.eta[:T], self.rho, self.pattern,
                         self.initial, self.count_last, self.extra)


def _assemble(T: int, beta: float, F: float, d: np.ndarray, accept: np.ndarray, eta: np.ndarray, rho: float | None,
              pattern: bool, initial: str, count_last: bool, extra: dict[str, Any]) -> Program:
    point_of = np.zeros(T + 2, dtype=np.int64)
    moves = accept & (eta > 0)
    n = 1 + int(np.count_nonzero(moves))
    X = np.zeros((T + 2, n))
    p = 0
    for t in range(1, T + 1):
        point_of[t] = p
        if moves[t - 1]:
            src = point_of[t - int(d[t - 1])]
            p += 1
            X[t + 1] = X[t]
            X[t + 1, src] -= eta[t - 1]
        else:
            X[t + 1] = X[t]
    point_of[T + 1] = p
    for a in (d, accept, eta, point_of, X):
        a.setflags(write=False)
    return Program(T, beta, F, d, accept, eta, rho, pattern, initial, count_last, point_of, X, dict(extra))


def build_program(
    alg: Algorithm,
    delays: DelaySequence | Sequence[int] | np.ndarray,
    *,
    T: int | None = None,
    pattern: Any = None,
    eta: Any = None,
    initial: str = "every",
    count_last: bool = False,
    F: float,
) -> Program:
    """Unroll ``alg`` on ``delays`` (first T steps). ``eta``: None (the rule's eta_t =
    ``alg.decide``), a number (constant step), or an array of T steps (time-varying; replaces the
    rule's step on accepted steps). ``pattern``: Picky's accept pattern (required for Picky, refused
    for the others, whose accept rule depends on d_t only)."""
    if not isinstance(alg, Algorithm):
        raise ValueError(f"alg must be an algorithm from verify.algorithms.resolve; got {type(alg).__name__}")
    if alg.sigma != 0.0:
        raise ValueError(f"the exact worst case is computed for sigma = 0; got sigma = {alg.sigma}")
    if initial not in INITIAL_CONDITIONS:
        raise ValueError(f"initial must be one of {INITIAL_CONDITIONS}; got {initial!r}")
    if not (isinstance(F, (int, float)) and np.isfinite(F) and F > 0):
        raise ValueError(f"F must be a number > 0; got {F!r}")
    d = delays.delays if isinstance(delays, DelaySequence) else validate_delays(delays)
    if T is None:
        T = int(d.size)
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1; got {T!r}")
    T = int(T)
    if T > d.size:
        raise ValueError(f"T = {T} exceeds the delay sequence length {d.size}")
    d = np.array(d[:T], dtype=np.int64)
    if not alg.uses_delays:
        d[:] = 0
    is_picky = isinstance(alg, Picky)
    if is_picky:
        if pattern is None:
            raise ValueError("Picky SGD needs an accept pattern (pattern / --pattern: 'a'/'r' per step): its accept test depends on f")
        accept = parse_pattern(pattern, T)
    else:
        if pattern is not None:
            raise ValueError(f"pattern applies to Picky SGD only; algorithm {alg.name!r} decides from d_t alone")
        accept = np.array([alg.decide(0.0, int(x))[0] for x in d], dtype=bool)
    rule_eta = np.array([alg.step(int(x)) for x in d], dtype=float)
    if eta is None:
        steps = rule_eta
    else:
        steps = np.asarray(eta, dtype=float).reshape(-1) if np.ndim(eta) else np.full(T, float(eta))
        if steps.size < T:
            raise ValueError(f"eta has {steps.size} entries; it needs one per step (T = {T})")
        steps = steps[:T].copy()
        if not np.all(np.isfinite(steps)) or np.any(steps < 0):
            raise ValueError(f"eta must be finite and >= 0 at every step; got {eta!r}")
    rho = float(alg.rho) if is_picky else None
    return _assemble(T, float(alg.beta), float(F), d, accept, steps, rho, is_picky, initial, bool(count_last),
                     {"algorithm": alg.as_dict(), "eta_source": "rule" if eta is None else "given"})

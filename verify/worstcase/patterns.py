"""Picky SGD's worst case over accept patterns (issue 25 (e), (f)).

The theorems' worst case for Picky SGD on a fixed delay sequence is the maximum over the accept
patterns that some function realises: W*(d) = max_P W(d, P), W(d, P) the SDP of
:func:`verify.worstcase.worst_case` with pattern P. A step with d_t = 0 is always accepted
(distance 0 <= rho), so the free steps are those with d_t > 0: 2^m patterns for m such steps.

Infeasible patterns: a pattern that no beta-smooth function with the initial condition realises is
no instance. It is recognised either before any solve (:meth:`.program.Program.structurally_infeasible`:
a rejection at distance 0) or by the solver's status ('infeasible' / 'infeasible_inaccurate', raised
as :class:`verify.worstcase.WorstCaseError`); either way it is counted and skipped, never a value.
(An 'infeasible_inaccurate' status is the solver's verdict, not a certificate: such a pattern is
skipped, so the maximum is over the patterns the solver found feasible.) A solve that fails
otherwise is tried again with the PEPit backend; if that fails too (Clarabel gives up on some ill-conditioned patterns, status None) is counted as
``failed:<status>`` and skipped too: a maximum with failures is over the solved patterns only, and the
claims say so (:func:`failed_count`).
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from ..algorithms.rules import Algorithm
from .pep import WorstCaseError, solve_program
from .program import build_program

__all__ = ["free_steps", "pattern_value", "max_over_patterns", "failed_count"]


def free_steps(d: Sequence[int] | np.ndarray) -> list[int]:
    """The 0-based indices of the steps whose accept decision depends on f (d_t > 0)."""
    return [i for i, x in enumerate(np.asarray(d).reshape(-1)) if int(x) > 0]


def pattern_value(alg: Algorithm, d: Sequence[int] | np.ndarray, pattern: str, *, F: float,
                  solver: str = "clarabel", backend: str = "direct") -> tuple[float | None, str]:
    """(W(d, pattern), status), or (None, why) for an infeasible pattern: 'structural' (rejected at
    distance 0, no solve) or the solver's status; (None, 'failed:<status>') for a solve that failed
    otherwise; an unbounded problem raises (it cannot happen under the initial condition 'every')."""
    prog = build_program(alg, d, pattern=pattern, F=F)
    if prog.structurally_infeasible():
        return None, "structural"
    try:
        wc = solve_program(prog, solver, backend)
    except WorstCaseError as exc:
        if exc.status.startswith("infeasible"):
            return None, exc.status
        if exc.status.startswith("unbounded"):
            raise
        if backend != "pepit":  # the reference formulation (its own canonicalisation) before giving up
            return pattern_value(alg, d, pattern, F=F, solver=solver, backend="pepit")
        return None, f"failed:{exc.status}"
    return wc.value, wc.status


def max_over_patterns(alg: Algorithm, d: Sequence[int] | np.ndarray, *, F: float, limit: int = 64,
                      solver: str = "clarabel", backend: str = "direct") -> dict[str, Any] | None:
    """W*(d) by enumerating every pattern of the free steps (None when there are more than ``limit``):
    {"value", "pattern", "evaluated", "infeasible": {reason: count}}."""
    d = np.asarray(d, dtype=np.int64).reshape(-1)
    free = free_steps(d)
    if 2 ** len(free) > limit:
        return None
    best: dict[str, Any] = {"value": -np.inf, "pattern": None, "evaluated": 0, "infeasible": {}}
    for bits in itertools.product("ar", repeat=len(free)):
        pat = ["a"] * d.size
        for i, b in zip(free, bits):
            pat[i] = b
        pattern = "".join(pat)
        value, status = pattern_value(alg, d, pattern, F=F, solver=solver, backend=backend)
        best["evaluated"] += 1
        if value is None:
            best["infeasible"][status] = best["infeasible"].get(status, 0) + 1
        elif value > best["value"]:
            best.update(value=value, pattern=pattern)
    return best


def failed_count(skipped: dict[str, int]) -> int:
    """How many of the skipped patterns were failed solves (not infeasible ones)."""
    return sum(n for k, n in skipped.items() if k.startswith("failed:"))

"""Exact worst cases of delayed first-order methods on a fixed delay sequence (issue 25), by
performance estimation (Drori & Teboulle 2014; Taylor, Hendrickx & Glineur 2017) with PEPit.

A delayed method run on a *fixed* delay sequence d_1..d_T with sigma = 0 is a first-order method:
step t applies grad f(x_{t-d_t}) (the indexing of :func:`verify.algorithms.reference_run`, see
:mod:`.program`). Its worst case over the class of beta-smooth (not necessarily convex) functions,

    W(T) = sup { min_{1<=t<=T} ||grad f(x_t)||^2 : f beta-smooth, initial condition },

is the optimum of one semidefinite program in the Gram matrix of the gradients and the function
values at the iterates (the smooth interpolation conditions of Taylor, Hendrickx & Glineur 2017,
Theorem 3.10 with mu = -L, make it exact for the class defined by the constraints below).

**Initial condition (what we impose, and in which direction it differs from the theorems').** The
theorems assume F >= f(x_1) - inf f. Infimum over all x is not a condition on finitely many points,
so the PEP imposes conditions it implies, at the points the method visits:

- ``initial="every"`` (the default): for every distinct point x_k of the run (k = 1..T+1),

      f(x_1) - f(x_k) + ||grad f(x_k)||^2 / (2 beta) <= F.

  Implied by f(x_1) - inf f <= F: for a beta-smooth f, inf f <= f(x_k - grad f(x_k)/beta) <=
  f(x_k) - ||grad f(x_k)||^2/(2 beta) (the descent lemma). At k = 1 it reads ||grad f(x_1)||^2 <= 2 beta F.
- ``initial="final"``: f(x_1) - f(x_{T+1}) <= F, the condition of PEPit's nonconvex
  gradient-descent example (implied too, since f(x_{T+1}) >= inf f). It is weaker than "every"
  (a larger feasible set, a larger value); it lets an algorithm that stands still (Picky rejecting
  every step, stale-drop dropping every gradient) have an unbounded worst case, and the value of a
  prefix is not monotone in T. It is here to reproduce the published exact value.

Direction: every f with f(x_1) - inf f <= F satisfies either condition, so the theorems' class is
contained in the PEP's feasible set, and the SDP value is an **upper bound on the worst case under
the theorems' assumption** (equal to it when some worst-case instance can be extended to a function
whose infimum is at least f(x_1) - F; we do not prove that). So W(T) <= a theorem's bound certifies
the bound at T (the dual multipliers are the proof); W(T) > bound does not by itself refute it.

**Steps to eps.** The worst-case first-hit time is the smallest T' with W(T') <= eps^2 (for every f,
some t <= T' has ||grad f(x_t)|| <= eps). Under "every" the prefix classes are nested (the constraints
of T' are among those of T'+1, and the minimum runs over more steps), so W is nonincreasing in T' and
:func:`steps_to_eps` bisects over 1..T (about log2 T solves); under "final" it scans T' = 1, 2, ...

**Solvers** (``benchmarks/bench_worst_case.py``, numbers in ``benchmarks/README.md``): Clarabel
(interior point) is the default because the certificates need it: its value and multipliers are
accurate to ~1e-8 (duality gap, PSD residual), so the numpy checks (:mod:`.certificate`) pass at
tolerance 1e-6. SCS (first-order, default settings) is off by 3e-5 to 4e-4 relative and leaves dual
residuals ~5e-5, failing those checks; up to T = 40 it is about as fast as Clarabel (within 1.4x
either way), at T = 80 about 2x faster (CPU): the choice only where an approximate value is enough.
Most of the time of a PEPit solve is compilation, not the solver (PEPit builds each scalar constraint
as a cvxpy expression): ``backend="direct"`` (:mod:`.direct`) writes the same SDP as one stacked
linear map and is several times faster.

Known exact value (tests/test_worstcase.py): gradient descent without delays, step h/L, N steps,
min over x_1..x_{N+1}, initial f(x_1) - f(x_{N+1}) <= F: W = 4 L F / (N min{4h - h^3, 4h - h^2})
for 0 < h < sqrt(3) (Abbaszadehpeivasti, de Klerk & Zamani 2022, Optim. Lett. 16:1649-1661;
PEPit's example ``nonconvex_optimization/gradient_descent.py`` cites it with the value 4L/(3N) at h = 1).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..algorithms.rules import Algorithm
from verify.models.delays import DelaySequence
from .pep import BACKENDS, SOLVERS, WorstCase, WorstCaseError, require_pepit, solve_program
from .program import INITIAL_CONDITIONS, Program, build_program, parse_pattern

__all__ = ["worst_case", "steps_to_eps", "WorstCase", "WorstCaseError", "Program", "build_program",
           "parse_pattern", "solve_program", "SOLVERS", "BACKENDS", "INITIAL_CONDITIONS", "require_pepit", "StepsToEps"]


def worst_case(
    alg: Algorithm,
    delays: DelaySequence | Sequence[int] | np.ndarray,
    *,
    F: float,
    T: int | None = None,
    pattern: Any = None,
    eta: Any = None,
    initial: str = "every",
    count_last: bool = False,
    solver: str = "clarabel",
    backend: str = "pepit",
) -> WorstCase:
    """The exact worst case of ``alg`` (sigma = 0) on the first T steps of ``delays`` over
    beta-smooth functions (beta = ``alg.beta``) under the initial condition ``initial`` with gap
    ``F`` (see the module docstring). ``pattern``: Picky's accept pattern ('a'/'r' per step): the
    PEP then adds ||x_t - x_{t-d_t}||^2 <= rho^2 on accepted and >= rho^2 on rejected steps (both
    linear in the Gram matrix); an infeasible pattern raises :class:`WorstCaseError` (status
    "infeasible"). ``eta``: None (the rule's eta_t), a number, or one step per step. ``backend``:
    "pepit" (the reference) or "direct" (:mod:`.direct`, the same SDP without PEPit's per-constraint
    compilation: several times faster from T ~ 20)."""
    prog = build_program(alg, delays, T=T, pattern=pattern, eta=eta, initial=initial, count_last=count_last, F=F)
    return solve_program(prog, solver, backend)


class StepsToEps(dict):
    """{"steps": T' or None (not within T), "values": {T': W(T')} solved, "eps": eps, "T": T}."""


def steps_to_eps(prog: Program, eps: float, solver: str = "clarabel", backend: str = "pepit") -> StepsToEps:
    """The worst-case number of steps to eps: the smallest T' <= prog.T with W(T') <= eps^2 on the
    prefix T' (None if W(T) > eps^2). Bisection under ``initial="every"`` (W nonincreasing, see the
    module docstring), a scan under "final" (where a prefix may be unbounded: W = +inf). An infeasible pattern raises
    :class:`WorstCaseError` (if the whole pattern is feasible, so is every prefix)."""
    if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a number > 0; got {eps!r}")
    target = float(eps) ** 2
    values: dict[int, float] = {}

    def W(k: int) -> float:
        if k not in values:
            try:
                values[k] = solve_program(prog.prefix(k), solver, backend).value
            except WorstCaseError as exc:
                if not exc.status.startswith("unbounded"):
                    raise
                values[k] = float("inf")
        return values[k]

    out = StepsToEps(eps=float(eps), T=prog.T, values=values, steps=None, search="bisection" if prog.initial == "every" else "scan")
    if prog.initial == "every":
        if W(prog.T) > target:
            return out
        lo, hi = 0, prog.T  # W(hi) <= target; W(lo) > target (lo = 0: no step measured)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if W(mid) <= target:
                hi = mid
            else:
                lo = mid
        out["steps"] = hi
        return out
    for k in range(1, prog.T + 1):
        if W(k) <= target:
            out["steps"] = k
            return out
    return out

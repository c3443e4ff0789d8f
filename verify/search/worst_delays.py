"""The worst delays for the exact worst case (issue 25 (e)): a Hypothesis-targeted search over short
delay sequences d_1..d_T with a budget on the average delay, maximising the exact worst case W(d)
of :mod:`verify.worstcase` (sigma = 0); for Picky SGD jointly over the accept pattern.

Search space: d_t in 0..t-1 drawn per step, then *repaired* to the budget sum_t d_t <= S =
floor(tau_avg T): while the sum exceeds S, the largest entry (the last one among ties) is lowered
by one -- every draw is a valid sequence, none is discarded. Picky's pattern: each step with
d_t > 0 is rejected when its drawn integer in 0..3 is 0 (a quarter of them; d_t = 0 is always
accepted). An infeasible pattern (:mod:`verify.worstcase.patterns`: structural, or the solver's
'infeasible' status) is no instance: it scores 0 for ``hypothesis.target`` and is counted, never
reported as a worst case; a solve that fails otherwise is counted as ``failed:<status>`` and
scores 0 too. The constant-delay sequence of the budget (with the all-accept pattern)
is pinned with ``@example``. The search is seeded and runs inside
:func:`verify.search.strategies.reproducible_search`: it depends on (seed, budget) only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify.algorithms.rules import Algorithm, Picky

__all__ = ["repair", "search_worst_delays", "REJECT_CHOICES"]

#: a free step is rejected when its draw in 0..REJECT_CHOICES-1 is 0
REJECT_CHOICES = 4


def repair(raw: Any, S: int) -> np.ndarray:
    """d_t = min(raw_t, t - 1), then lowered to sum <= S (largest first, the last among ties)."""
    d = np.minimum(np.asarray(raw, dtype=np.int64), np.arange(len(raw)))
    while d.sum() > S:
        i = len(d) - 1 - int(np.argmax(d[::-1]))
        d[i] -= 1
    return d


def search_worst_delays(alg: Algorithm, T: int, tau_avg: float, *, F: float, examples: int, seed: int = 0,
                        backend: str = "direct", solver: str = "clarabel") -> dict[str, Any]:
    """The search (module docstring). Returns {"value", "delays", "pattern", "evaluated",
    "infeasible": {reason: count}, "S"}: the worst (sequence, pattern) found and its W."""
    from hypothesis import HealthCheck, Phase, example, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from verify.search import strategies
    from verify.worstcase.patterns import pattern_value

    if not (isinstance(T, int) and T >= 2):
        raise ValueError(f"T must be an integer >= 2; got {T!r}")
    if not (np.isfinite(tau_avg) and 0 <= tau_avg <= (T - 1) / 2):
        raise ValueError(f"tau_avg must be in [0, (T-1)/2] = [0, {(T - 1) / 2}]; got {tau_avg!r}")
    S = int(np.floor(tau_avg * T + 1e-9))
    picky = isinstance(alg, Picky)
    best: dict[str, Any] = {"value": -np.inf, "delays": None, "pattern": None, "evaluated": 0, "infeasible": {}, "S": S}
    delay_st = st.tuples(*[st.integers(0, t - 1) for t in range(1, T + 1)])
    reject_st = st.tuples(*[st.integers(0, REJECT_CHOICES - 1) for _ in range(T)])

    def body(raw, rej):
        d = repair(raw, S)
        pattern = "".join("r" if (picky and d[i] > 0 and rej[i] == 0) else "a" for i in range(T)) if picky else None
        if picky:
            value, status = pattern_value(alg, d, pattern, F=F, solver=solver, backend=backend)
        else:
            from verify.worstcase import build_program, solve_program

            from verify.worstcase import WorstCaseError

            try:
                wc = solve_program(build_program(alg, d, F=F), solver, backend)
                value, status = wc.value, wc.status
            except WorstCaseError as exc:  # a failed solve: counted, scores 0 (no pattern to be infeasible)
                if exc.status.startswith("unbounded"):
                    raise
                value, status = None, f"failed:{exc.status}"
        best["evaluated"] += 1
        if value is None:
            best["infeasible"][status] = best["infeasible"].get(status, 0) + 1
            target(0.0, label="exact worst case")
            return
        target(float(value), label="exact worst case")
        if value > best["value"]:
            best.update(value=float(value), delays=[int(x) for x in d], pattern=pattern)

    const = tuple(int(np.floor(tau_avg)) for _ in range(T))
    test = given(delay_st, reject_st)(body)
    test = example(const, (1,) * T)(test)
    test = settings(max_examples=examples, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate, Phase.target], suppress_health_check=list(HealthCheck))(test)
    test = hseed(seed)(test)
    with strategies.reproducible_search():
        test()
    return best

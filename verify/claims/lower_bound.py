"""Claim 8 -- what the lower-bound construction guarantees, exactly (Carmon et al.'s chain).

f_T is a zero-chain: if x is supported on the first k coordinates, grad f_T(x) is supported on the
first k + 1 (the chain's "progress" gains at most one coordinate per gradient). Every algorithm here
starts at x_1 = 0 and moves only along gradients of past iterates, so after t steps at most t - 1
coordinates are nonzero; and ||grad f(x)|| > L lam/152 whenever the last coordinate is 0
(``Chain.grad_floor``). So no algorithm, under any delays, is eps-stationary (eps <= the floor)
before step T + 1 (T = the number of coordinates) when sigma = 0.

Checked: (i) the zero-chain property of the compiled gradient on random prefix-supported points;
(ii) for every algorithm and several delay sequences, the first eps-stationary step is > T (or never).
"""
from __future__ import annotations

import numpy as np

from verify import algorithms
from verify.models import delays, problems
from .common import Claim, Context, label, noop_test, run_lanes
from .evidence import FAIL, PASS, Evidence, Row, combine

__all__ = ["CLAIM"]


def _zero_chain(prob: problems.Problem, rng: np.random.Generator, n: int) -> dict:
    worst = 0
    for _ in range(n):
        k = int(rng.integers(0, prob.dim))
        x = np.zeros(prob.dim)
        x[:k] = rng.standard_normal(k) * prob.lam * 3
        g = prob.grad(x)
        support = np.flatnonzero(g)
        top = int(support.max()) + 1 if support.size else 0
        worst = max(worst, top - k)
    return {"part": "zero-chain", "dim": prob.dim, "points": n, "largest_gain": worst, "verdict": PASS if worst <= 1 else FAIL}


def check(ctx: Context) -> Evidence:
    rng = np.random.default_rng(8)
    entries, rows = [], []
    for dim, lam in ((5, 1.0), (12, 3.0), (30, 10.0)):
        prob = problems.make(f"chain:L=1,lam={lam}", dim)
        entries.append(_zero_chain(prob, rng, 200))
        eps = 0.99 * prob.grad_floor
        for spec in ("none", "constant:tau=4", "bursty:m=9", "pareto:alpha=1.5,scale=3", "straggler"):
            T = 50 * dim + 200
            seq = delays.make(spec, T, seed=1)
            algs = [algorithms.resolve(a, beta=prob.beta, F=prob.F, eps=eps, sigma=0.0, delays=seq)
                    for a in algorithms.ALGORITHMS]
            runs = run_lanes(prob, seq, algs, [0] * len(algs), T=T, stop_at_hit=True)
            ctx.collect(CLAIM.id, runs, label(seq))
            for r in runs:
                early = r.first_hit is not None and r.first_hit <= dim
                entries.append({"part": "runs", "dim": dim, "delays": label(seq), "algorithm": r.algorithm,
                                "first_hit": r.first_hit, "verdict": FAIL if early else PASS})
                rows.append(Row(r.algorithm, prob.spec, label(seq), 0, "first_hit_minus_dim",
                                None if r.first_hit is None else r.first_hit - dim))
    margins = [e["first_hit"] - e["dim"] for e in entries if e.get("first_hit") is not None]
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result="lower-bound", status=CLAIM.status,
        verdict=combine([e["verdict"] for e in entries]),
        measured={"smallest_first_hit_minus_dim": min(margins) if margins else None,
                  "largest_coordinate_gain_per_gradient": max(e["largest_gain"] for e in entries if e["part"] == "zero-chain"),
                  "runs": sum(1 for e in entries if e["part"] == "runs")},
        bound={"first_hit_minus_dim": ">= 1", "coordinate_gain": "<= 1"},
        ratio=min((e["first_hit"] / (e["dim"] + 1) for e in entries if e.get("first_hit") is not None), default=None),
        ci=None, test=noop_test(),
        what="zero-chain property of the chain's gradient; no algorithm is eps-stationary before step dim + 1 (sigma = 0)",
        instances=entries, rows=rows,
        notes=["ratio (measured/bound): the smallest first eps-stationary step / (dim + 1), the earliest step the "
               "construction allows; a LOWER bound, so the claim holds when it is >= 1"],
    )


CLAIM = Claim(
    id="lower-bound", number=8,
    title="Lower-bound construction: the chain gains one coordinate per gradient; no algorithm hits eps before step T + 1",
    result="lower-bound",
    measures="coordinate gain per gradient; first eps-stationary step minus the number of coordinates",
    instances="chains of 5, 12, 30 coordinates x every algorithm x 5 delay sequences",
    check=check,
)

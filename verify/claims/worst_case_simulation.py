"""Claim 13 -- simulation never beats the exact worst case (issue 25 (b)).

For sigma = 0 runs of the claims' algorithms (Picky SGD, delayed SGD, delay-adaptive SGD, stale-drop,
SGD without delays; every parameter from :mod:`theory`'s defaults) on the claims' problems
(:data:`verify.claims.common.INSTANCES`: quad, logsum, chain, with their exact beta and F) on short
delay sequences (T = 16 quick, 24 full), the compiled engine's measured min_{t<=T} ||grad f(x_t)||^2
must be at most the exact worst case W of the same algorithm on the same delays (``direct`` backend,
Clarabel), for Picky SGD with the accept pattern the run realised (its rejected steps).

Why a run is in the SDP's feasible set (the direction): the problem is beta-smooth (beta exact, or an
upper bound for chain: a beta'-smooth f is beta-smooth for beta >= beta'), F = f(x_1) - inf f exactly,
and the SDP's initial condition "every", f(x_1) - f(x_k) + ||grad f(x_k)||^2/(2 beta) <= F at every
iterate, follows from the descent lemma (inf f <= f(x_k - grad f(x_k)/beta) <= f(x_k) -
||grad f(x_k)||^2/(2 beta)); the run's accepted steps have ||x_t - x_{t-d_t}|| <= rho and its rejected
ones > rho, the pattern constraints. So the run's iterates and gradients are a feasible point of the
SDP and its objective, the measured value, is <= W. Each side is checked on its own, so that a
violation says which side is wrong:

1. replay: the program the SDP is built from (:func:`verify.worstcase.build_program`, numpy) is replayed
   on the true f (x_t = x_1 + sum_q X[t, q] grad f(point q)); its min_{t<=T} ||grad f(x_t)||^2 must equal
   the engine's to relative 1e-9, and the replayed run must satisfy the initial condition (tolerance
   1e-12) and the pattern's distance constraints -- the engine, the program and the SDP's assumptions
   agree on this run even where the inequality has room;
2. measured <= W (1 + REL_TOL): REL_TOL = 1e-5, the solver's accuracy: the ``direct`` backend's
   'optimal_inaccurate' solves have relative duality gaps up to ~1e-5 (Clarabel's 'optimal' ~1e-8);
   a direct solve whose gap ``|primal - dual|`` exceeds REL_TOL max(W, 1e-3) is solved again with PEPit
   (its Clarabel solves reach ~1e-8); a gap still above it makes the claim inconclusive
   (the tolerance would not cover the solver), an infeasible or failed solve is a failure (the run is a
   feasible point).

Measured: the largest measured / worst case over the runs (how close real instances come to the worst
case over the class). Needs the ``worstcase`` extra; without it the claim is inconclusive.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from verify import algorithms
from verify.models import delays
from .common import INSTANCES, Claim, Context, noop_test, run_lanes
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine

__all__ = ["CLAIM", "SETTINGS", "replay", "REL_TOL"]

ALGORITHMS = ("picky", "delayed-sgd", "delay-adaptive", "stale-drop", "sgd")
#: profile -> (T, delay specs)
SETTINGS = {
    "test": (8, ("constant:tau=2", "bursty:m=3")),
    "quick": (16, ("constant:tau=2", "constant:tau=5", "bursty:m=3")),
    "full": (24, ("constant:tau=2", "constant:tau=5", "bursty:m=3", "bursty:m=7", "straggler")),
}
REL_TOL = 1e-5
REPLAY_RTOL = 1e-9
INITIAL_TOL = 1e-12


def replay(prog: Any, problem: Any) -> dict[str, Any]:
    """The program ``prog`` (:class:`verify.worstcase.Program`) run on the true function: point 0 is
    x_1 and point q + 1 is x_1 + sum_{r<=q} X[., r] grad f(point r) (X is lower triangular in points).
    Returns the iterates' squared gradient norms (t = 1..T), their minimum, the largest violation of the
    initial condition "every" and of Picky's pattern constraints (<= 0: satisfied)."""
    x1 = np.array(problem.x1, dtype=float)
    pts, grads = [x1], [np.asarray(problem.grad(x1), dtype=float)]
    for t in range(1, prog.T + 2):
        q = int(prog.point_of[t])
        if q == len(pts):  # a new point: its coefficients use only earlier points' gradients
            x = x1 + sum(prog.X[t, r] * grads[r] for r in range(q))
            pts.append(x)
            grads.append(np.asarray(problem.grad(x), dtype=float))
    g2 = np.array([float(grads[prog.point_of[t]] @ grads[prog.point_of[t]]) for t in range(1, prog.T + 1)])
    f1 = float(problem.f(x1))
    initial = max(f1 - float(problem.f(p)) + float(g @ g) / (2 * prog.beta) - prog.F for p, g in zip(pts, grads))
    pattern = -math.inf
    for t, kind in prog.distance_constraints():
        dist2 = float(np.sum((pts[prog.point_of[t]] - pts[prog.point_of[prog.source(t)]]) ** 2))
        pattern = max(pattern, dist2 - prog.rho**2 if kind == "le" else prog.rho**2 - dist2)
    return {"grad_norm2": g2, "min": float(g2.min()), "initial_violation": initial, "pattern_violation": pattern}


def check(ctx: Context) -> Evidence:
    from ..worstcase import WorstCaseError, build_program, solve_program

    T, specs = SETTINGS.get(ctx.budget.profile, SETTINGS["quick"])
    base = dict(claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status, test=noop_test(),
                what="measured min_t ||grad f(x_t)||^2 (sigma = 0 run) / exact worst case, same delays and rule",
                parameters={"T": T, "delays": list(specs), "algorithms": list(ALGORITHMS), "instances": list(INSTANCES),
                            "sigma": 0.0, "initial": "every", "solver": "clarabel", "backend": "direct",
                            "rel_tol": REL_TOL, "replay_rtol": REPLAY_RTOL})
    try:
        from ..worstcase import require_pepit

        require_pepit()
    except ValueError as exc:
        return Evidence(verdict=INCONCLUSIVE, measured=None, bound=None, ratio=None, ci=None, notes=[str(exc)], **base)
    entries, rows = [], []
    for inst in INSTANCES.values():
        prob = inst.problem()
        for spec in specs:
            seq = delays.make(spec, T)
            algs = [algorithms.resolve(a, beta=prob.beta, F=prob.F, eps=inst.eps, sigma=0.0, delays=seq) for a in ALGORITHMS]
            runs = run_lanes(prob, seq, algs, [0] * len(algs), T=T)
            ctx.collect(CLAIM.id, runs, spec)
            for alg, run in zip(algs, runs):
                measured = float(run.min_grad_norm) ** 2
                e: dict[str, Any] = {"instance": inst.name, "delays": spec, "T": T, "algorithm": alg.name, "measured": measured}
                pattern = None
                if alg.name == "picky":
                    rej = set(int(s) for s in run.rejected_steps)
                    pattern = "".join("r" if t in rej else "a" for t in range(1, T + 1))
                    e["pattern"] = pattern
                prog = build_program(alg, seq, pattern=pattern, F=prob.F)
                rp = replay(prog, prob)
                e.update(replay_min=rp["min"], initial_violation=rp["initial_violation"],
                         pattern_violation=rp["pattern_violation"])
                replay_ok = (abs(rp["min"] - measured) <= REPLAY_RTOL * max(measured, 1e-300)
                             and rp["initial_violation"] <= INITIAL_TOL and rp["pattern_violation"] <= 0.0
                             and not run.diverged)
                try:
                    wc = solve_program(prog, "clarabel", "direct")
                except WorstCaseError as exc:
                    e.update(status=exc.status, worst_case=None, verdict=FAIL, replay_ok=replay_ok)
                    entries.append(e)
                    continue
                gap, used = abs(wc.value - wc.dual_value), "direct"
                if gap > REL_TOL * max(wc.value, 1e-3):  # an inaccurate direct solve: the reference formulation
                    try:
                        wc, used = solve_program(prog, "clarabel", "pepit"), "pepit"
                    except WorstCaseError:
                        pass
                    gap = abs(wc.value - wc.dual_value)
                ratio = measured / wc.value
                below = measured <= wc.value * (1 + REL_TOL)
                accurate = gap <= REL_TOL * max(wc.value, 1e-3)
                verdict = FAIL if not (replay_ok and below) else (PASS if accurate else INCONCLUSIVE)
                e.update(status=wc.status, worst_case=wc.value, dual_bound=wc.dual_value, duality_gap=gap, ratio=ratio,
                         replay_ok=replay_ok, verdict=verdict, backend=used)
                entries.append(e)
                rows.append(Row(alg.name, prob.spec, spec, 0, f"measured/worst T={T}", ratio))
    solved = [e for e in entries if e.get("worst_case") is not None]
    worst = max(solved, key=lambda e: e["ratio"], default=None)
    return Evidence(
        verdict=combine([e["verdict"] for e in entries]),
        measured={"max measured/worst": worst["ratio"] if worst else None,
                  "at": {k: worst[k] for k in ("instance", "delays", "algorithm")} if worst else None,
                  "instances": len(entries), "replay_failures": sum(not e["replay_ok"] for e in entries),
                  "max duality gap": max((e["duality_gap"] for e in solved), default=None)},
        bound={"measured/worst": 1.0}, ratio=worst["ratio"] if worst else None, ci=None, seeds=[0],
        instances=entries, rows=rows,
        notes=["a run is a feasible point of the SDP: beta-smooth, F = f(x_1) - inf f exactly, the initial condition "
               "'every' by the descent lemma, Picky's realised pattern; so measured <= worst case, to the solver's "
               f"accuracy (relative {REL_TOL:g})"], **base)


CLAIM = Claim(
    id="worst-case-simulation", number=13,
    title="Simulation never beats the exact worst case: sigma = 0 runs against the SDP on the same delays and rule",
    result=None,
    measures="measured min_{t<=T} ||grad f(x_t)||^2 / exact worst case (Picky: the realised accept pattern); "
             "the program replayed on f equals the engine's run",
    instances="quad, logsum, chain (exact beta, F); picky, delayed-sgd, delay-adaptive, stale-drop, sgd with theory's "
              "defaults; constant 2 and 5, bursty m = 3; T = 16 (quick)",
    check=check,
)

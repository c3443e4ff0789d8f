"""Claim 4 -- Algorithm 1's per-step invariants (paper.md §8.2, derived), exact on every step.

* d_t = 0  =>  accepted (for every filtering rule: Picky, stale-drop);
* accepted  =>  ||x_t - x_{t-d_t}|| <= rho, and then ||grad f(x_t) - grad f(x_{t-d_t})|| <= beta rho
  = eps/2 (beta exact, or an upper bound, for every problem here);
* rejected  =>  ||x_t - x_{t-d_t}|| > rho (Picky filters exactly at rho: a gradient within rho is
  always applied; natural ties at distance = rho occur in these runs and must be accepted);
* rejected  =>  x_{t+1} = x_t: seen through the trace of ||grad f(x_t)|| at every step, which must
  repeat exactly (bit for bit) after a rejected step.

Checked on every run of every claim (the records keep max_accepted_distance, max_accepted_grad_gap
and the rejected steps) and on runs of its own with a trace at every step.
"""
from __future__ import annotations

import numpy as np

from verify import algorithms
from verify.models import delays
from .common import INSTANCES, Claim, Context, label, noop_test, run_lanes
from .evidence import FAIL, NOT_MET, PASS, Evidence, combine

__all__ = ["CLAIM"]


def _run_checks(r) -> dict:
    cfg = r.config
    out = {"algorithm": r.algorithm, "problem": r.problem.get("spec"), "seed": r.seed}
    ok = True
    rej = r.rejected_steps
    if rej is not None and rej.size:
        d = r.delays.delays
        zero = d[rej - 1] == 0 if r.algorithm != "sgd" else np.ones(rej.size, bool)
        out["rejected_with_zero_delay"] = int(zero.sum())
        ok &= not zero.any()
    if r.algorithm == "picky":
        rho, beta = cfg["rho"], cfg["beta"]
        out["max_accepted_distance_over_rho"] = r.max_accepted_distance / rho
        out["max_gap_over_beta_rho"] = r.max_accepted_grad_gap / (beta * rho)
        ok &= r.max_accepted_distance <= rho
        if r.min_rejected_distance is not None:
            out["min_rejected_distance_over_rho"] = r.min_rejected_distance / rho
            ok &= r.min_rejected_distance > rho
        ok &= r.max_accepted_grad_gap <= beta * rho * (1 + 1e-12)  # two rounded norms
        if cfg["source"].get("rho") != "user":
            ok &= beta * rho <= cfg["eps"] / 2 * (1 + 1e-15)
    if r.trace_every == 1 and rej is not None and rej.size:
        g = r.trace_grad_norm
        idx = rej[rej < g.size]  # ||grad f(x_{t+1})|| is g[t] (0-based), x_t's is g[t - 1]
        same = g[idx] == g[idx - 1]
        out["rejected_steps_with_moved_iterate"] = int((~same).sum())
        ok &= bool(same.all())
    out["verdict"] = PASS if ok else FAIL
    return out


def check(ctx: Context) -> Evidence:
    own = []
    for name in ("quad", "logsum", "chain"):
        inst = INSTANCES[name]
        prob = inst.problem()
        for spec in ("bursty:m=20", "pareto:alpha=1.5,scale=3", "bimodal:p=0.05,D=50"):
            seq = delays.make(spec, 3000, seed=3)
            algs = [algorithms.resolve(a, beta=prob.beta, F=prob.F, eps=inst.eps, sigma=s, delays=seq)
                    for a in ("picky", "stale-drop", "delayed-sgd") for s in (0.0, 0.5)]
            runs = run_lanes(prob, seq, algs, list(range(len(algs))), T=3000, trace_every=1)
            ctx.collect(CLAIM.id, runs, label(seq))
            own += runs
    everything = [c.run for c in ctx.runs]
    entries = [_run_checks(r) for r in everything]
    n_traced = sum(1 for r in everything if r.trace_every == 1)
    picky = [e for e in entries if e["algorithm"] == "picky"]
    worst = max((e["max_accepted_distance_over_rho"] for e in picky), default=None)
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result="picky-explicit", status=CLAIM.status,
        verdict=combine([e["verdict"] for e in entries]) if entries else NOT_MET,
        measured={"runs_checked": len(entries), "runs_with_full_trace": n_traced,
                  "largest_accepted_distance_over_rho": worst,
                  "largest_gap_over_eps_half": max((e["max_gap_over_beta_rho"] for e in picky), default=None),
                  "smallest_rejected_distance_over_rho": min((e["min_rejected_distance_over_rho"] for e in picky
                                                               if "min_rejected_distance_over_rho" in e), default=None),
                  "rejected_with_zero_delay": sum(e.get("rejected_with_zero_delay", 0) for e in entries),
                  "rejected_steps_with_moved_iterate": sum(e.get("rejected_steps_with_moved_iterate", 0) for e in entries)},
        bound={"accepted_distance_over_rho": 1.0, "gap_over_eps_half": 1.0, "rejected_distance_over_rho": "> 1"},
        ratio=worst, ci=None, test=noop_test(),
        what="per-step invariants of Algorithm 1 on every run of every claim",
        instances=[e for e in entries if e["verdict"] == FAIL][:50], rows=[],
        notes=["instances lists the failing runs only (at most 50); every run of the verification is checked"],
    )


CLAIM = Claim(
    id="invariants", number=4,
    title=("Algorithm 1's invariants: d_t = 0 accepted; accepted => distance <= rho and gap <= eps/2; "
           "rejected => distance > rho and x unchanged"),
    result="picky-explicit",
    measures=("max accepted distance / rho, min rejected distance / rho, max gradient gap / (beta rho), rejected steps "
              "with d_t = 0 or a moved iterate"),
    instances="every run of every claim, plus traced runs of picky, stale-drop, delayed SGD on quad, logsum, chain",
    check=check,
)

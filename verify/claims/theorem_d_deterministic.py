"""Claim 1 -- Theorem D / D', deterministic case (sigma = 0).

With sigma = 0 a run is deterministic, so "P(success by T) >= 1/2" means success: Picky SGD with
Theorem D's step and threshold must reach ||grad f(x_t)|| <= eps by the first horizon T at which
Theorem D''s condition holds for d_1..d_T (``theory.first_horizon``), and then also by Theorem D's.
Checked on named constructions, heavy-tailed random sequences, sequence programs (ramps,
two-point patterns), real asynchronous traces recorded on Dask workers (:mod:`verify.models.traces`), the
targeted adversarial search on every instance where the condition can hold within its length
(:mod:`verify.search.targeted`: quad and logsum; chain needs 3.3e6 steps even without delays) and the two
adaptive adversaries of :mod:`verify.models.adversaries` (:data:`ADAPTIVE`; flagged: outside the oblivious
assumption, but with sigma = 0 a realised sequence is, in hindsight, a fixed one). A sequence whose condition never holds within its length is
"condition-not-met", never a pass.

Measured: the first eps-stationary step t_hit; bound: the first horizon t0; ratio t_hit/t0.
"""
from __future__ import annotations

import numpy as np

from verify import algorithms
from verify.models import delays
from verify.models import adversaries
from verify.models.traces import async_traces
from verify.search import targeted as search
from .common import (INSTANCES, THEOREM_D, THEOREM_SHARP, Claim, Context, label, no_horizon_reason, noop_test, rows_of,
                     run_lanes)
from .evidence import FAIL, NOT_MET, PASS, Evidence, combine, count_not_met

__all__ = ["CLAIM", "sequences"]


def sequences(profile: str) -> list[delays.DelaySequence]:
    """The fixed sequences of claims 1 and 2 (length: long enough for tau_avg ~ 5-10 on ``quad``)."""
    T = 150_000 if profile == "test" else 400_000
    specs = ["none", "constant:tau=5", "bursty:m=20", "straggler", "ksj-straggler", "bimodal:p=0.01,D=500",
             "pareto:alpha=1.5,scale=3", "lognormal:mu=1,s=1", "geometric:mean=4", "workers:n=6"]
    out = [delays.make(s, T, seed=0) for s in specs]
    out.append(delays.make(f"constant:tau={T}", T))  # d_t = t - 1: the condition never holds
    out += search.named_programs(T)
    return out


def _check_fixed(ctx: Context, inst, seq) -> dict:
    prob = inst.problem()
    alg = inst.picky(0.0)
    t0 = inst.horizon(seq)
    tD = inst.horizon(seq, result=THEOREM_D)
    entry = {"instance": inst.name, "delays": label(seq), "tau_avg": seq.stats().tau_avg, "tau_max": seq.stats().tau_max,
             "horizon_D_prime": t0, "horizon_D": tD}
    if t0 is None:
        p = inst.problem()
        return {**entry, "verdict": NOT_MET, "first_hit": None, "ratio": None,
                **no_horizon_reason(len(seq), seq.stats().tau_avg, beta=p.beta, F=p.F, eps=inst.eps)}
    (run,) = run_lanes(prob, seq, alg, [0], T=t0, stop_at_hit=True, record_rejections=True)
    ctx.collect("theorem-d-deterministic", [run], label(seq))
    hit = run.first_hit
    ok = hit is not None and hit <= t0 and (tD is None or hit <= tD)
    return {**entry, "first_hit": hit, "rejected": run.rejected, "ratio": None if hit is None else hit / t0,
            "verdict": PASS if ok else FAIL, "_run": run}


#: the adaptive adversaries run against Picky SGD (verify.models.adversaries.ADVERSARIES specs)
ADAPTIVE = ("picky-rejector:tau=3,window=200", "stale-error:tau=3,window=200,strategy=strike,kappa=2")


def _check_adaptive(ctx: Context, inst, spec: str, cap: int) -> dict:
    prob = inst.problem()
    alg = inst.picky(0.0)
    run = algorithms.reference_run(prob, adversaries.make(spec, alg, alg.eps), alg, seed=0, T=cap, stop_at_hit=True)
    ctx.collect("theorem-d-deterministic", [run], f"adaptive:{spec}")
    d = run.delays.delays
    hit = run.first_hit
    # the realised prefix, continued by zeros (the run up to its hit does not depend on later delays)
    early = inst.horizon(d[: (hit - 1 if hit else d.size)]) if (hit is None or hit > 1) else None
    if hit is not None:
        verdict = FAIL if early is not None else PASS
        t0 = inst.horizon(np.concatenate([d, np.zeros(4 * cap, np.int64)]))
    else:
        t0 = early
        verdict = FAIL if early is not None else NOT_MET
    reason = {"reason": f"the adaptive adversary kept eps out of reach for {cap} steps and its realised prefix never "
                        f"met Theorem D''s condition"} if verdict == NOT_MET else {}
    return {**reason, "instance": inst.name, "delays": f"adaptive adversary {spec}", "adaptive": True,
            "tau_avg": run.delay_stats["tau_avg"], "tau_max": run.delay_stats["tau_max"], "first_hit": hit,
            "rejected": run.rejected, "horizon_D_prime": t0, "ratio": None if (hit is None or not t0) else hit / t0,
            "verdict": verdict,
            "note": f"{adversaries.NOTE} (sigma = 0: its realised sequence is fixed in hindsight)"}


def check(ctx: Context) -> Evidence:
    entries = []
    rows = []
    for name in ("quad", "logsum", "chain"):
        inst = INSTANCES[name]
        for seq in sequences(ctx.budget.profile):
            e = _check_fixed(ctx, inst, seq)
            run = e.pop("_run", None)
            if run is not None:
                rows += rows_of([run], e["delays"])
            entries.append(e)
        ctx.progress(f"claim 1: {name} done")
    for name, seq in async_traces().items():  # real asynchronous traces (Dask workers), as recorded
        for inst_name in ("quad", "logsum", "chain"):
            e = _check_fixed(ctx, INSTANCES[inst_name], seq)
            run = e.pop("_run", None)
            e["delays"] = f"real async trace {name} ({seq.params.get('workers')} workers, {seq.params.get('speeds')})"
            e["real_trace"] = name
            if run is not None:
                rows += rows_of([run], e["delays"])
            entries.append(e)
    for found in search.worst_sequences(ctx):  # the targeted search (Hypothesis), on every instance
        e = _check_fixed(ctx, INSTANCES[found.instance], found.sequence)
        e.pop("_run", None)
        e["delays"] = f"targeted search: {found.describe}"
        e["search"] = found.summary()
        entries.append(e)
    for spec in ADAPTIVE:
        entries.append(_check_adaptive(ctx, INSTANCES["quad"], spec, 20_000))
    checked = [e for e in entries if e["verdict"] != NOT_MET]
    worst = max(checked, key=lambda e: e["ratio"] or 0.0) if checked else None
    ev = Evidence(
        claim=CLAIM.id, title=CLAIM.title, result=THEOREM_SHARP, status=CLAIM.status,
        verdict=combine([e["verdict"] for e in entries]),
        measured={"worst_first_hit": worst["first_hit"] if worst else None,
                  "instances_checked": len(checked), "condition_not_met": len(entries) - len(checked)},
        bound={"horizon_at_worst": worst["horizon_D_prime"] if worst else None},
        ratio=worst["ratio"] if worst else None, ci=None, test=noop_test(),
        what="first eps-stationary step t_hit of Picky SGD (Theorem D's eta, rho; sigma = 0) vs Theorem D''s first horizon t0",
        instances=entries, seeds=[0], rows=rows, not_met=count_not_met(entries),
        parameters={n: INSTANCES[n].describe() for n in ("quad", "logsum", "chain")},
        notes=["worst ratio t_hit/t0 over every checked sequence, the targeted search included",
               "targeted search (seeded, the profile's budget per instance) on "
               + ", ".join(n for n in search.SEARCHED if not search.unsearchable(n))
               + "".join(f"; not on {n}: {search.unsearchable(n)}" for n in search.SEARCHED if search.unsearchable(n)),
               "Theorem D's horizon is also checked where it exists (it is never earlier than D''s)"],
    )
    return ev


CLAIM = Claim(
    id="theorem-d-deterministic", number=1,
    title="Theorem D/D' (sigma = 0): Picky SGD is eps-stationary by the first horizon",
    result=THEOREM_SHARP,
    measures="first eps-stationary step vs the first horizon at which Theorem D' holds",
    instances="quad, logsum, chain x named constructions, heavy-tailed draws, programs, targeted search, adaptive adversaries",
    check=check,
)

"""Claim 9 -- how loose the explicit bounds are, and an empirical lower bound on the paper's constant.

For each explicit theorem, the largest measured/bound over every run of the verification:
Theorem D' (t_hit / its first horizon), Theorem D (t_hit / its first horizon), the counting-lemma
rejection bound (rejections before the hit / bound). These ratios must be <= 1 (else claims 1-3
fail); how far below 1 they are is the bounds' slack.

The paper's Theorem 1 has the rate form T = C beta F (sigma^2/eps^4 + (1 + tau_avg)/eps^2) with C
unknown (``theory`` ``picky``; default 1 is a placeholder). If the rate form held with constant C, a
deterministic run (sigma = 0) that first reaches eps at step h would need, for every T < h,
T < C rate(tau_avg over d_1..d_T). So every such run gives C > max_{T < h} T / rate(tau_avg(T)): the
largest of these over all runs is an EMPIRICAL LOWER BOUND on C -- for Picky SGD run with Theorem D's
step and threshold (the paper's own step and threshold are unknown), labelled so.
"""
from __future__ import annotations

import numpy as np

import theory

from .common import INSTANCES, Claim, Context, noop_test, run_lanes
from .evidence import FAIL, PASS, Evidence

__all__ = ["CLAIM", "c_lower_bound"]


def c_lower_bound(d: np.ndarray, hit: int, beta: float, F: float, eps: float, sigma: float = 0.0) -> float:
    """max over T < hit of T / (beta F (sigma^2/eps^4 + (1 + tau_avg(T))/eps^2)), tau_avg over d_1..d_T."""
    if hit is None or hit <= 1:
        return 0.0
    Ts = np.arange(1, hit, dtype=float)
    tau = np.cumsum(np.asarray(d[: hit - 1], dtype=float)) / Ts
    rate = np.asarray(theory.iterations("picky", C=1.0, beta=beta, F=F, eps=eps, sigma=sigma, tau_avg=tau), dtype=float)
    return float(np.max(Ts / rate))


def _horizon_ratios(ctx: Context) -> list[dict]:
    out = []
    seen = set()
    for c in ctx.runs:
        r = c.run
        if not c.theorem_params or r.config["sigma"] != 0.0 or r.first_hit is None or r.diverged:
            continue
        key = (id(r.delays), r.problem["spec"], r.problem["dim"], r.config["eps"])
        if key in seen:
            continue
        seen.add(key)
        kw = dict(beta=r.config["beta"], F=r.problem["F"], sigma=0.0, eps=r.config["eps"])
        dseq = r.delays.delays
        row = {"claim": c.claim, "delays": c.label, "problem": r.problem["spec"], "first_hit": r.first_hit}
        for res in ("picky-explicit-sharp", "picky-explicit"):
            h = theory.first_horizon(dseq, result=res, **kw)
            row[res] = None if h is None else r.first_hit / h
        row["C_lower"] = c_lower_bound(dseq, r.first_hit, kw["beta"], kw["F"], kw["eps"])
        out.append(row)
    return out


def check(ctx: Context) -> Evidence:
    if not any(c.theorem_params and c.run.config["sigma"] == 0.0 for c in ctx.runs):  # run alone: claim 1's sequences
        from .theorem_d_deterministic import sequences

        inst = INSTANCES["quad"]
        for seq in sequences(ctx.budget.profile)[:6]:
            t0 = inst.horizon(seq)
            if t0:
                ctx.collect(CLAIM.id, run_lanes(inst.problem(), seq, inst.picky(0.0), [0], T=t0, stop_at_hit=True),
                            seq.model)
    rows = _horizon_ratios(ctx)
    best = {}
    for res in ("picky-explicit-sharp", "picky-explicit"):
        vals = [r for r in rows if r[res] is not None]
        best[res] = max(vals, key=lambda r: r[res]) if vals else None
    cl = ctx.evidence.get("counting-lemma")
    counting = cl.measured.get("largest_rejections_over_bound_on_runs") if cl else None
    c_best = max(rows, key=lambda r: r["C_lower"]) if rows else None
    ok = all((r[res] is None or r[res] <= 1.0) for r in rows for res in ("picky-explicit-sharp", "picky-explicit"))
    measured = {
        "largest_ratio_theorem_D_prime": best["picky-explicit-sharp"]["picky-explicit-sharp"] if best["picky-explicit-sharp"] else None,
        "largest_ratio_theorem_D": best["picky-explicit"]["picky-explicit"] if best["picky-explicit"] else None,
        "largest_ratio_counting_rejections": counting,
        "C_lower_bound_rate_form": c_best["C_lower"] if c_best else None,
        "C_lower_bound_where": {k: c_best[k] for k in ("claim", "delays", "problem", "first_hit")} if c_best else None,
        "worst_D_prime_where": {k: best["picky-explicit-sharp"][k] for k in ("claim", "delays", "problem", "first_hit")}
        if best["picky-explicit-sharp"] else None,
        "runs": len(rows),
    }
    # the exact worst case / Theorem D' at the horizons the SDP reaches (claim 12, when it ran before this one)
    wct = ctx.evidence.get("worst-case-tightness")
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result="picky", status=CLAIM.status, verdict=PASS if ok and rows else FAIL,
        measured=measured, bound={"explicit_ratios": "<= 1"}, ratio=measured["largest_ratio_theorem_D_prime"],
        worst_case_ratio=wct.worst_case_ratio if wct is not None else None, ci=None,
        test=noop_test(), what="largest measured/bound of each explicit theorem; the smallest C consistent with every run",
        instances=sorted(rows, key=lambda r: -(r["picky-explicit-sharp"] or 0))[:40],
        notes=["C_lower_bound_rate_form is an empirical LOWER bound on the rate form's unknown constant, for Picky SGD with "
               "Theorem D's step and threshold (the paper's own are unknown); not the paper's constant",
               "instances: the 40 runs closest to Theorem D''s bound"],
    )


CLAIM = Claim(
    id="tightness", number=9,
    title="Tightness: largest measured/bound of each explicit theorem; an empirical lower bound on the rate form's C",
    result="picky",
    measures="max t_hit/horizon (D', D), max rejections/bound, max_T T/rate(tau_avg(T)) over runs",
    instances="every deterministic Picky run of the verification (theorem parameters)",
    check=check,
)

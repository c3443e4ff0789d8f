"""Claim 5 -- the headline: Picky SGD's steps depend on the average delay, not the maximal one.

Two-point family: i.i.d. delays, D with probability p, else 0 (``bimodal:p,D``), so tau_avg ~ p D
and tau_max = D. (a) At fixed tau_avg = p D = 2, D from 10 up to the profile's largest: the
log-log slope of the median steps to eps (over independent draws of the sequence) against D, with
a percentile bootstrap interval at 97.5% (scipy.stats.bootstrap, each D's draws resampled; the two
tested intervals together: family-wise false-alarm rate <= 0.05, Bonferroni). Picky SGD (Theorem D's
step): pass iff the interval's upper end is <= 0.1, fail iff its lower end is above, else inconclusive. Delayed SGD with its theorem's
step (scaled to tau_max): expected slope about 1 -- reported, and required to be >= 0.5 (the
contrast the paper claims). (b) At fixed tau_max = D = 1000, tau_avg from 1 to 64: Picky's slope
against tau_avg, reported with its interval beside every run's Theorem D' horizon (sigma = 0: the
hit must come by it wherever the condition holds).

Instance: logsum on R^10 (beta = 2, F = 10 log 10, exact), eps = 0.1, sigma = 0 -- the paper
digest's worked example.
"""
from __future__ import annotations

import numpy as np

import theory

from verify import algorithms
from verify.models import delays, problems
from .common import Claim, Context, bonferroni_confidence, interval_verdict, no_horizon_reason, run_lanes, slope_ci_bootstrap
from .evidence import FAIL, INCONCLUSIVE, NOT_MET, PASS, Evidence, Row, Test, combine

__all__ = ["CLAIM", "TAU_AVG", "SLOPE_MAX"]

TAU_AVG = 2.0
SLOPE_MAX = 0.1
CONTRAST_MIN = 0.5
EPS = 0.1
#: family-wise false-alarm rate of the two tested slopes; each interval at 1 - ALPHA/2 (Bonferroni)
ALPHA = 0.05
LEVEL = bonferroni_confidence(ALPHA, 2)


def _runs(prob, spec: str, seeds: list[int], name: str, T: int, chunk: int = 8):
    """One lane per draw (delay seed = ``seeds[k]``), in chunks so that at most ``chunk`` sequences of
    length T are held at once; returns (runs, their sequences' tau_avg)."""
    runs, taus = [], []
    for i in range(0, len(seeds), chunk):
        seqs = [delays.make(spec, T, seed=s) for s in seeds[i:i + chunk]]
        algs = [algorithms.resolve(name, beta=prob.beta, F=prob.F, eps=EPS, sigma=0.0, delays=s) for s in seqs]
        runs += run_lanes(prob, seqs, algs, list(range(i, i + len(seqs))), T=T, stop_at_hit=True, record_rejections=True)
        taus += [s.stats().tau_avg for s in seqs]
    return runs, taus


def check(ctx: Context) -> Evidence:
    b = ctx.budget
    prob = problems.make("logsum", 10)
    Ds = list(b.headline_D)
    entries, rows = [], []
    groups: dict[str, list[list[float]]] = {"picky": [], "delayed-sgd": []}
    for D in Ds:
        p = TAU_AVG / D
        T = 120 * (D + 1) + 20_000  # delayed SGD needs ~ 88 (1 + tau_max) steps here; Picky ~ 100
        spec = f"bimodal:p={p!r},D={D}"
        for name in groups:
            runs, taus = _runs(prob, spec, [1000 * D + k for k in range(b.draws)], name, T)
            ctx.collect(CLAIM.id, runs, spec)
            hits = [float(r.first_hit) if r.first_hit is not None else np.inf for r in runs]
            groups[name].append(hits)
            rows += [Row(name, prob.spec, spec, r.seed, "first_hit", r.first_hit) for r in runs]
            entries.append({"part": "a", "algorithm": name, "D": D, "p": p, "T": T, "median_steps": float(np.median(hits)),
                            "median_rejected": float(np.median([r.rejected for r in runs])),
                            "tau_avg_range": [min(taus), max(taus)]})
        ctx.progress(f"claim 5: D = {D} done")
    out = {}
    verdicts = []
    for name, gs in groups.items():
        if any(not np.all(np.isfinite(g)) for g in gs):
            out[name] = {"slope": None, "ci95": None, "note": "some runs never reached eps within T"}
            verdicts.append(INCONCLUSIVE if name == "picky" else PASS)
            continue
        slope, ci = slope_ci_bootstrap(Ds, gs, seed=5, confidence=LEVEL)
        out[name] = {"slope": slope, "ci95": list(ci)}
    if out["picky"]["ci95"] is not None:
        verdicts.append(interval_verdict(out["picky"]["ci95"], upper=SLOPE_MAX))
    if out["delayed-sgd"]["ci95"] is not None:
        verdicts.append(interval_verdict(out["delayed-sgd"]["ci95"], lower=CONTRAST_MIN))

    # (b) steps against tau_avg at fixed tau_max
    D = 1000
    taus = [1.0, 4.0, 16.0, 64.0] if b.profile != "test" else [1.0, 8.0, 64.0]
    gb, horizon_ok, no_horizon = [], [], {}
    for tau in taus:
        T = 200_000
        spec = f"bimodal:p={tau / D!r},D={D}"
        runs, _ = _runs(prob, spec, [77 + k for k in range(b.draws)], "picky", T)
        ctx.collect(CLAIM.id, runs, spec)
        hits = [float(r.first_hit) for r in runs]
        gb.append(hits)
        for r in runs:
            h = theory.first_horizon(r.delays.delays, result="picky-explicit-sharp", beta=prob.beta, F=prob.F,
                                     sigma=0.0, eps=EPS)
            if h is not None:
                horizon_ok.append(r.first_hit is not None and r.first_hit <= h)
            else:
                why = no_horizon_reason(len(r.delays), r.delays.stats().tau_avg, beta=prob.beta, F=prob.F, eps=EPS)
                no_horizon[why["reason"]] = no_horizon.get(why["reason"], 0) + 1
        entries.append({"part": "b", "algorithm": "picky", "D": D, "tau_avg": tau, "median_steps": float(np.median(hits)),
                        "median_rejected": float(np.median([r.rejected for r in runs]))})
    slope_b, ci_b = slope_ci_bootstrap(taus, gb, seed=6)
    out["picky_vs_tau_avg"] = {"slope": slope_b, "ci95": list(ci_b), "tau_max": D,
                               "runs_with_horizon": len(horizon_ok), "hit_by_horizon": int(sum(horizon_ok))}
    verdicts.append(NOT_MET if not horizon_ok else (PASS if all(horizon_ok) else FAIL))
    not_met = {f"part (b): {k}": v for k, v in no_horizon.items()}
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result="picky", status=CLAIM.status, verdict=combine(verdicts),
        measured=out, bound={"picky_slope_vs_tau_max": f"<= {SLOPE_MAX} (no growth)",
                             "delayed_sgd_slope_vs_tau_max": f">= {CONTRAST_MIN} (about 1)"},
        ratio=None, ci=out["picky"]["ci95"],
        test=Test(f"log-log slope of median steps, percentile bootstrap {LEVEL:.1%} intervals (scipy.stats.bootstrap, "
                  "2000 resamples); pass if the interval is inside the claim, fail if outside, else inconclusive",
                  f"Picky: slope <= {SLOPE_MAX}; delayed SGD: slope >= {CONTRAST_MIN}", ALPHA,
                  correction=f"Bonferroni over the 2 tested intervals (each at {LEVEL:.1%}): family-wise rate <= {ALPHA:g}"),
        what=f"steps to eps = {EPS} on logsum R^10 against tau_max at fixed tau_avg = {TAU_AVG} (and against tau_avg at tau_max = 1000)",
        instances=entries, seeds=list(range(b.draws)), rows=rows, not_met=not_met,
        parameters={"problem": prob.describe(), "eps": EPS, "sigma": 0.0, "D": Ds, "draws_per_D": b.draws},
        notes=["each draw is an independent i.i.d. two-point sequence (bimodal delay model)",
               "ci95 keys hold the Bonferroni-level intervals (97.5% each; the name is kept for the schema)",
               "part (b)'s slope is reported, not tested; its horizon check runs only where Theorem D''s condition holds"],
    )


CLAIM = Claim(
    id="headline", number=5,
    title="The headline: at fixed tau_avg, Picky SGD's steps do not grow with tau_max (delayed SGD's do)",
    result="picky",
    measures="log-log slopes of median steps to eps vs tau_max (fixed tau_avg) and vs tau_avg (fixed tau_max)",
    instances="logsum R^10, eps 0.1, two-point (bimodal) delays, independent draws per point",
    check=check,
)

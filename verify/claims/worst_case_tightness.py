"""Claim 12 -- two-sided tightness of Theorem D and D' at the horizons the SDP reaches (issue 25 (c)).

For each delay sequence and horizon T: eps_X(T) = the accuracy theorem X guarantees at T
(``theory.accuracy``, tau_avg of the prefix), so X's condition holds at T; Picky SGD with X's own step
and threshold (eta = 1/(9 beta), rho = eps_X(T)/(2 beta)) and the all-accept pattern; the exact worst
case W(T) of min_{t<=T} ||grad f(x_t)||^2 (PEPit + Clarabel, initial condition 'every', an upper
bound on the worst case under the theorems' assumption: :mod:`verify.worstcase`). The claim: W(T) <=
eps_X(T)^2, checked as: the multipliers are dual feasible (numpy, tolerance 1e-6: nonnegative,
f-terms cancelling, PSD residual) and their bound is <= eps_X(T)^2 -- they then *prove* X at T for
that pattern -- and the instance attaining W passes its certificate (the duality gap, ~1e-8 with
PEPit and up to ~1e-5 with the direct backend's 'optimal_inaccurate' solves, is reported). Measured: worst case / bound, beside claim 9's measured / bound (how loose the bound is over
the whole function class, not only on our instances).

Scope, stated: the all-accept pattern only (the run of Picky on every instance whose distances stay
below rho; the theorems' worst case is the maximum over the feasible patterns, which issue 25 (e)
searches); sigma = 0; delayed SGD's theorem is rate-only (unknown C): no ratio for it here.
Needs the ``worstcase`` extra; without it the claim is inconclusive.
"""
from __future__ import annotations

import math

import theory

from verify import algorithms
from verify.models import delays
from .common import THEOREM_D, THEOREM_SHARP, Claim, Context, noop_test
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine

__all__ = ["CLAIM", "SETTINGS"]

BETA, F = 1.0, 1.0
SPECS = ("none", "constant:tau=1", "constant:tau=3", "bursty:m=3")
SETTINGS = {"test": (8,), "quick": (10, 20), "full": (10, 20, 40)}
#: the quick profile's exact part must stay under a minute: the direct backend there (same SDP, no
#: per-constraint compilation; its instance certificate is still independent, its dual one checks the solver)
BACKEND = {"test": "pepit", "quick": "direct", "full": "pepit"}


def check(ctx: Context) -> Evidence:
    from ..worstcase import WorstCaseError, build_program, solve_program
    from ..worstcase.certificate import check_dual, check_instance

    horizons = SETTINGS.get(ctx.budget.profile, SETTINGS["quick"])
    backend = BACKEND.get(ctx.budget.profile, "pepit")
    base = dict(claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status, test=noop_test(),
                what="exact worst case (all-accept pattern) / the accuracy Theorem D, D' guarantee at T",
                parameters={"beta": BETA, "F": F, "sigma": 0.0, "delays": list(SPECS), "T": list(horizons),
                            "pattern": "all accepted", "initial": "every", "solver": "clarabel", "backend": backend})
    try:
        from ..worstcase import require_pepit

        require_pepit()
    except ValueError as exc:
        return Evidence(verdict=INCONCLUSIVE, measured=None, bound=None, ratio=None, ci=None, notes=[str(exc)], **base)
    entries, rows = [], []
    for spec in SPECS:
        for T in horizons:
            seq = delays.make(spec, T)
            tau_avg = float(seq.delays.mean())
            for rid in (THEOREM_D, THEOREM_SHARP):
                eps2 = float(theory.accuracy(rid, T, beta=BETA, F=F, sigma=0.0, tau_avg=tau_avg, convention="squared"))
                eps = math.sqrt(eps2) * (1 + 1e-12)  # the condition holds at T (not lost to rounding)
                holds = bool(theory.condition_holds(rid, T=T, sum_delays=int(seq.delays.sum()), beta=BETA, F=F, sigma=0.0, eps=eps))
                alg = algorithms.resolve("picky", beta=BETA, F=F, eps=eps, sigma=0.0)
                e = {"delays": spec, "T": T, "tau_avg": tau_avg, "theorem": rid, "eps2_bound": eps2, "condition_at_T": holds,
                     "eta": alg.eta, "rho": alg.rho}
                try:
                    wc = solve_program(build_program(alg, seq, pattern="a" * T, F=F), "clarabel", backend)
                except WorstCaseError as exc:
                    e.update(status=exc.status, worst_case=None, verdict=FAIL)
                    entries.append(e)
                    continue
                ci, cd = check_instance(wc), check_dual(wc)
                # the proof of W <= dual bound: dual feasibility (the gap only measures exactness)
                proof = all(v <= cd.tol for k, v in cd.residuals.items() if k not in ("duality_gap", "dual_bound"))
                ratio = wc.value / eps2
                e.update(status=wc.status, worst_case=wc.value, dual_bound=cd.residuals["dual_bound"], ratio=ratio,
                         dual_ratio=cd.residuals["dual_bound"] / eps2, duality_gap=cd.residuals["duality_gap"],
                         certificates_ok=ci.ok and proof,
                         verdict=PASS if (holds and cd.residuals["dual_bound"] <= eps2 and ci.ok and proof) else FAIL)
                entries.append(e)
                rows.append(Row("picky", f"worst case over {BETA:g}-smooth", spec, None, f"{rid} worst/bound T={T}", ratio))
    solved = [e for e in entries if e.get("worst_case") is not None]
    by = {rid: max((e["ratio"] for e in solved if e["theorem"] == rid), default=None) for rid in (THEOREM_D, THEOREM_SHARP)}
    return Evidence(
        verdict=combine([e["verdict"] for e in entries]),
        measured={"max worst/bound D": by[THEOREM_D], "max worst/bound D'": by[THEOREM_SHARP], "instances": len(entries)},
        bound={"worst/bound": 1.0}, ratio=None, worst_case_ratio=max((e["ratio"] for e in solved), default=None), ci=None,
        instances=entries, rows=rows,
        notes=["all-accept pattern only; the SDP value is an upper bound on the worst case under the theorems' "
               "assumption, so ratio <= 1 certifies the theorem at T for that pattern"], **base)


CLAIM = Claim(
    id="worst-case-tightness", number=12,
    title="Two-sided tightness: the exact worst case against Theorem D and D' at the horizons the SDP reaches",
    result=THEOREM_SHARP,
    measures="exact worst case / eps_X(T)^2 for X = D, D' (Picky with X's eta and rho, all-accept pattern); certificates",
    instances="beta = F = 1, sigma = 0; delays none, constant 1 and 3, bursty m = 3; T = 10, 20 (quick)",
    check=check,
)

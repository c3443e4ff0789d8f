"""Claim 14 -- the worst delays for the exact worst case (issue 25 (e)).

At beta = F = 1, sigma = 0, for delayed SGD (eta = 1/(9 beta), Theorem D's step, fixed) and Picky SGD
(Theorem D's eta = 1/(9 beta) and rho = eps/(2 beta) at eps = 1/2), a Hypothesis-targeted search
(:func:`verify.search.worst_delays.search_worst_delays`: seeded, reproducible from (seed, budget))
over delay sequences of length T (10 quick, 12 full) with sum_t d_t <= floor(tau_avg T) maximises the
exact worst case W(d) of min_{t<=T} ||grad f(x_t)||^2 (SDP, ``direct`` backend); for Picky jointly
over the accept pattern (infeasible patterns -- a rejection at distance 0, or the solver's
'infeasible' status -- score 0 and are counted, :mod:`verify.worstcase.patterns`). Reported: the worst
sequence (and pattern) found, W, and W of the constant-delay sequence of the same budget
(``constant:tau=tau_avg``, d_t = min(tau, t - 1)); for Picky the constant sequence's W maximised over
*every* pattern (enumerated), beside its all-accept value.

The check (an exact check, it can fail): the worst found is re-solved with PEPit (the reference
formulation): the two backends agree to relative 1e-5 (the direct backend's accuracy), the PEPit
instance passes its interpolation certificate and the multipliers their dual certificate (tolerance
1e-6), and the search's value is >= the constant sequence's (pinned as an ``@example``: a search that
does not evaluate it, or a backend that changes with the sequence's encoding, is caught). The search
is a lower bound on the maximum over sequences (a Hypothesis search, not an enumeration).
Needs the ``worstcase`` extra; without it the claim is inconclusive.
"""
from __future__ import annotations

from typing import Any


from verify import algorithms
from verify.models import delays
from .common import Claim, Context, noop_test
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine

__all__ = ["CLAIM", "SETTINGS", "setting_algorithms"]

BETA, F, EPS = 1.0, 1.0, 0.5
#: profile -> (T, tau_avg budgets, Hypothesis examples per search, most patterns enumerated)
SETTINGS = {
    "test": (8, (1.0,), 10, 128),
    "quick": (10, (1.0,), 40, 512),
    "full": (12, (1.0, 2.0), 200, 2048),
}
AGREE_RTOL = 1e-5
SEED = 0


def setting_algorithms() -> list[algorithms.Algorithm]:
    """Picky SGD with Theorem D's eta and rho at eps = 1/2, and delayed SGD at the same fixed eta."""
    pk = algorithms.resolve("picky", beta=BETA, F=F, eps=EPS, sigma=0.0)
    return [algorithms.resolve("delayed-sgd", beta=BETA, F=F, eps=EPS, sigma=0.0, eta=pk.eta), pk]


def check(ctx: Context) -> Evidence:
    from ..search.worst_delays import search_worst_delays
    from ..worstcase import WorstCaseError, build_program, solve_program
    from ..worstcase.certificate import check_dual, check_instance
    from ..worstcase.patterns import max_over_patterns

    T, budgets, n_examples, limit = SETTINGS.get(ctx.budget.profile, SETTINGS["quick"])
    base = dict(claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status, test=noop_test(),
                what="worst delay sequence (and Picky pattern) found by a targeted search vs the constant sequence",
                parameters={"beta": BETA, "F": F, "eps": EPS, "T": T, "tau_avg budgets": list(budgets),
                            "examples": n_examples, "seed": SEED, "pattern enumeration limit": limit,
                            "initial": "every", "solver": "clarabel", "backend": "direct (search), pepit (check)"})
    try:
        from ..worstcase import require_pepit

        require_pepit()
    except ValueError as exc:
        return Evidence(verdict=INCONCLUSIVE, measured=None, bound=None, ratio=None, ci=None, notes=[str(exc)], **base)
    entries, rows = [], []
    for tau_avg in budgets:
        const = delays.make(f"constant:tau={int(tau_avg)}", T).delays
        for alg in setting_algorithms():
            picky = alg.name == "picky"
            found = search_worst_delays(alg, T, tau_avg, F=F, examples=n_examples, seed=SEED)
            e: dict[str, Any] = {"algorithm": alg.name, "eta": alg.eta, "rho": getattr(alg, "rho", None), "T": T,
                                 "tau_avg_budget": tau_avg, "worst_delays": found["delays"], "worst_pattern": found["pattern"],
                                 "worst_case": found["value"], "evaluated": found["evaluated"],
                                 "infeasible": found["infeasible"], "constant_delays": const.tolist(),
                                 "constant_tau_avg": float(const.mean())}
            const_all = solve_program(build_program(alg, const, F=F, pattern="a" * T if picky else None),
                                      "clarabel", "direct").value
            e["constant_worst_case"] = const_all
            if picky:
                mx = max_over_patterns(alg, const, F=F, limit=limit)
                e["constant_worst_case_all_patterns"] = None if mx is None else mx["value"]
                e["constant_worst_pattern"] = None if mx is None else mx["pattern"]
                e["constant_infeasible_patterns"] = None if mx is None else mx["infeasible"]
            try:
                ref = solve_program(build_program(alg, found["delays"], F=F, pattern=found["pattern"]), "clarabel", "pepit")
            except WorstCaseError as exc:
                e.update(status=exc.status, verdict=FAIL)
                entries.append(e)
                continue
            ci, cd = check_instance(ref), check_dual(ref)
            agree = abs(ref.value - found["value"]) <= AGREE_RTOL * max(ref.value, 1e-3)
            covers = found["value"] >= const_all * (1 - 1e-6)
            e.update(pepit_value=ref.value, backends_agree=agree, certificate_instance=ci.ok, certificate_dual=cd.ok,
                     covers_constant=covers, ratio_to_constant=found["value"] / const_all,
                     verdict=PASS if (agree and ci.ok and cd.ok and covers) else FAIL)
            entries.append(e)
            rows.append(Row(alg.name, f"worst case over {BETA:g}-smooth", f"searched T={T} tau_avg<={tau_avg:g}", SEED,
                            "worst / constant", e["ratio_to_constant"]))
    done = [e for e in entries if "ratio_to_constant" in e]
    return Evidence(
        verdict=combine([e["verdict"] for e in entries]),
        measured={**{f"{e['algorithm']} tau_avg<={e['tau_avg_budget']:g}: worst/constant": e["ratio_to_constant"] for e in done},
                  **{f"{e['algorithm']} tau_avg<={e['tau_avg_budget']:g}": {
            "worst": e["worst_case"], "delays": e["worst_delays"], "pattern": e["worst_pattern"],
            "constant": e["constant_worst_case"], **({"constant, worst pattern": e["constant_worst_case_all_patterns"]}
                                                      if "constant_worst_case_all_patterns" in e else {})} for e in done}},
        bound=None, ratio=max((e["ratio_to_constant"] for e in done), default=None), ci=None, seeds=[SEED],
        instances=entries, rows=rows,
        notes=["ratio = worst found / constant-delay sequence (same budget; Picky: all-accept); the search is a lower "
               "bound on the maximum over sequences; infeasible patterns score 0 and are counted"], **base)


CLAIM = Claim(
    id="worst-case-delays", number=14,
    title="The worst delays: a targeted search for the delay sequence (and Picky's pattern) maximising the exact worst case",
    result=None,
    measures="exact worst case of the worst sequence found / of the constant sequence, same tau_avg; PEPit re-solve "
             "and certificates of the worst found",
    instances="beta = F = 1, sigma = 0; delayed SGD and Picky at eta = 1/(9 beta), rho = 1/4; T = 10, tau_avg <= 1 (quick)",
    check=check,
)

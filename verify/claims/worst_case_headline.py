"""Claim 15 -- the headline at small T, by exact worst cases (issue 25 (f)).

"Picky SGD's complexity depends on the average delay, delayed SGD's on the maximal delay", certified
at a horizon the SDP reaches: at beta = F = 1, sigma = 0, T = 12 and a fixed total delay S = 10
(tau_avg = S/T), the family "a block of m = S/D steps of delay D right after they become possible"
(d_t = D for t = D+1..D+m, else 0; tau_max = D = 1, 2, 5, 10, every member with sum_t d_t = S exactly),
and for each member the exact worst case W of min_{t<=T} ||grad f(x_t)||^2 (SDP, ``direct`` backend)
of delayed SGD at eta = 1/(9 beta) and of Picky SGD at the same eta with rho = 1/4 (Theorem D's at
eps = 1/2): with the all-accept pattern, and maximised over every accept pattern
(:func:`verify.worstcase.patterns.max_over_patterns`, enumerated up to the profile's limit; infeasible
patterns skipped and counted; a failed solve, counted too, makes that member inconclusive: its
maximum is over the solved patterns only). The full profile adds eta = 1/2 (Picky at the same rho).

Reported as measured (no verdict on the headline itself: the paper's statement is about the number of
steps to eps as eps -> 0, not about a worst case at T = 12): per column, W at the largest tau_max over
W at tau_max = 1. The honest caveat: Picky's worst case is the maximum over the patterns a function
can realise; the all-accept column alone flatters it (a rejected step is a step not taken).

The check (exact relations that hold for every program, so the claim can fail): Picky's all-accept
program is delayed SGD's plus the constraints ||x_t - x_{t-d_t}|| <= rho, a smaller feasible set, so
W(Picky, all accept) <= W(delayed SGD) (relative 1e-5, the direct backend's accuracy); and the
pattern maximum is >= the all-accept value when all-accept is feasible (it is one of the patterns).
Needs the ``worstcase`` extra; without it the claim is inconclusive.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify import algorithms
from .common import Claim, Context, noop_test
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine

__all__ = ["CLAIM", "SETTINGS", "block_family"]

BETA, F, EPS = 1.0, 1.0, 0.5
#: profile -> (T, S, tau_max values, etas, most patterns enumerated)
SETTINGS = {
    "test": (8, 6, (1, 2, 6), (1 / 9,), 64),
    "quick": (12, 10, (1, 2, 5, 10), (1 / 9,), 1024),
    "full": (12, 10, (1, 2, 5, 10), (1 / 9, 1 / 2), 1024),
}
RTOL = 1e-5


def block_family(T: int, S: int, D: int) -> np.ndarray:
    """d_t = D for t = D+1..D+S/D (1-based), else 0: tau_max = D, sum_t d_t = S (D must divide S and
    D + S/D <= T - 1, so that some measured iterate follows the last delayed step)."""
    if S % D or D + S // D > T - 1:
        raise ValueError(f"block_family needs D | S and D + S/D <= T - 1; got T={T}, S={S}, D={D}")
    d = np.zeros(T, dtype=np.int64)
    d[D:D + S // D] = D
    return d


def check(ctx: Context) -> Evidence:
    from ..worstcase import WorstCaseError, build_program, solve_program
    from ..worstcase.patterns import failed_count, max_over_patterns

    T, S, Ds, etas, limit = SETTINGS.get(ctx.budget.profile, SETTINGS["quick"])
    base = dict(claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status, test=noop_test(),
                what="exact worst case against tau_max at fixed tau_avg: delayed SGD, Picky (all accept, worst pattern)",
                parameters={"beta": BETA, "F": F, "T": T, "sum_delays": S, "tau_avg": S / T, "tau_max": list(Ds),
                            "eta": list(etas), "rho": EPS / (2 * BETA), "pattern enumeration limit": limit,
                            "initial": "every", "solver": "clarabel", "backend": "direct"})
    try:
        from ..worstcase import require_pepit

        require_pepit()
    except ValueError as exc:
        return Evidence(verdict=INCONCLUSIVE, measured=None, bound=None, ratio=None, ci=None, notes=[str(exc)], **base)
    entries, rows, growth = [], [], {}
    for eta in etas:
        ds = algorithms.resolve("delayed-sgd", beta=BETA, F=F, eps=EPS, sigma=0.0, eta=eta)
        pk = algorithms.resolve("picky", beta=BETA, F=F, eps=EPS, sigma=0.0, eta=eta)
        col: dict[str, list] = {"delayed-sgd": [], "picky all-accept": [], "picky worst pattern": []}
        for D in Ds:
            d = block_family(T, S, D)
            e: dict[str, Any] = {"eta": eta, "rho": pk.rho, "tau_max": D, "tau_avg": float(d.mean()), "delays": d.tolist()}
            w_ds = solve_program(build_program(ds, d, F=F), "clarabel", "direct").value
            try:
                w_all = solve_program(build_program(pk, d, F=F, pattern="a" * T), "clarabel", "direct").value
            except WorstCaseError as exc:
                w_all = None
                e["all_accept_status"] = exc.status
            mx = max_over_patterns(pk, d, F=F, limit=limit)
            w_max = None if mx is None or mx["pattern"] is None else mx["value"]
            ok = w_all is None or w_all <= w_ds * (1 + RTOL)
            if w_all is not None and w_max is not None:
                ok = ok and w_max >= w_all * (1 - RTOL)
            failed = 0 if mx is None else failed_count(mx["infeasible"])
            e.update({"delayed-sgd": w_ds, "picky all-accept": w_all, "picky worst pattern": w_max,
                      "worst pattern": None if mx is None else mx["pattern"],
                      "patterns evaluated": None if mx is None else mx["evaluated"],
                      "infeasible patterns": None if mx is None else mx["infeasible"], "failed solves": failed,
                      "verdict": FAIL if not ok else (INCONCLUSIVE if failed else PASS)})
            entries.append(e)
            for k in col:
                col[k].append(e[k])
                if e[k] is not None:
                    rows.append(Row(k.split()[0], f"worst case over {BETA:g}-smooth", f"block D={D} S={S}", None,
                                    f"{k} eta={eta:.4g} T={T}", e[k]))
        for k, v in col.items():
            growth[f"{k} eta={eta:.4g}"] = (v[-1] / v[0]) if (v[0] and v[-1] is not None) else None
    return Evidence(
        verdict=combine([e["verdict"] for e in entries]),
        measured={**{f"{k}: W(tau_max {Ds[-1]})/W(1)": v for k, v in growth.items()}, "T": T, "tau_avg": S / T},
        bound=None, ratio=None, ci=None, instances=entries, rows=rows,
        notes=["measured, not a verdict on the headline (an asymptotic statement about steps to eps); Picky's worst case "
               "is the maximum over feasible patterns, the all-accept column alone flatters it"], **base)


CLAIM = Claim(
    id="worst-case-headline", number=15,
    title="The headline at small T: exact worst case against tau_max at fixed tau_avg, Picky SGD vs delayed SGD",
    result=None,
    measures="exact worst case per tau_max (delayed SGD; Picky all-accept and over every pattern); relations "
             "W(Picky all-accept) <= W(delayed SGD) <= and pattern max >= all-accept",
    instances="beta = F = 1, sigma = 0, T = 12, sum d = 10, blocks of delay D = 1, 2, 5, 10; eta = 1/(9 beta), rho = 1/4",
    check=check,
)

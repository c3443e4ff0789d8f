"""Claim 11 -- the exact worst-case SDP reproduces a known exact value (issue 25 (a)).

Gradient descent without delays, step h/L, N steps, on L-smooth nonconvex functions with
f(x_1) - f(x_{N+1}) <= F: the exact worst case of min_{k<=N+1} ||grad f(x_k)||^2 is
4 L F/(N min{4h - h^3, 4h - h^2}) for 0 < h < sqrt(3) (:func:`verify.worstcase.known.gd_exact_worst_case`;
Abbaszadehpeivasti, de Klerk & Zamani 2022; label secondary, see paper_notes.md). The SDP of
:mod:`verify.worstcase` (PEPit + Clarabel, ``initial="final"``, ``count_last=True``) must give it to
relative 1e-6, with both numpy certificates (instance, multipliers) passing at tolerance 1e-6. A
check of the whole pipeline (program, PEP, solver, certificates) against a number it did not produce.
Needs the ``worstcase`` extra; without it the claim is inconclusive (nothing checked).
"""
from __future__ import annotations

import numpy as np

from .. import algorithms
from .common import Claim, Context, noop_test
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine

__all__ = ["CLAIM", "GRID"]

#: (L, F, h, N) per profile; h = 3/2 is on the 4h - h^3 branch
GRID = {
    "test": [(1.0, 1.0, 1.0, 3), (1.0, 1.0, 0.5, 2), (2.0, 3.0, 1.5, 2)],
    "quick": [(1.0, 1.0, h, N) for h in (0.25, 0.5, 1.0, 1.5) for N in (2, 5)] + [(2.0, 3.0, 1.0, 4)],
    "full": [(1.0, 1.0, h, N) for h in (0.1, 0.25, 0.5, 1.0, 1.25, 1.5, 1.7) for N in (1, 2, 5, 10)] + [(2.0, 3.0, 1.0, 10)],
}
REL_TOL = 1e-6


def check(ctx: Context) -> Evidence:
    from ..worstcase import WorstCaseError, worst_case
    from ..worstcase.certificate import check_dual, check_instance
    from ..worstcase.known import GD_SOURCE, gd_exact_worst_case

    grid = GRID.get(ctx.budget.profile, GRID["quick"])
    base = dict(claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status, test=noop_test(),
                what="gradient descent without delays: SDP worst case vs the known exact value",
                parameters={"grid (L, F, h, N)": grid, "rel_tol": REL_TOL, "solver": "clarabel", "backend": "pepit",
                            "initial": "final", "count_last": True, "source": GD_SOURCE})
    try:
        from ..worstcase import require_pepit

        require_pepit()
    except ValueError as exc:
        return Evidence(verdict=INCONCLUSIVE, measured=None, bound=None, ratio=None, ci=None, notes=[str(exc)], **base)
    entries, rows = [], []
    for L, F, h, N in grid:
        known = gd_exact_worst_case(L, F, h, N)
        alg = algorithms.resolve("sgd", beta=L, F=F, eps=1.0, sigma=0.0, eta=h / L)
        try:
            wc = worst_case(alg, np.zeros(N, dtype=np.int64), F=F, initial="final", count_last=True)
        except WorstCaseError as exc:
            entries.append({"L": L, "F": F, "h": h, "N": N, "known": known, "sdp": None, "status": exc.status,
                            "verdict": FAIL})
            continue
        ci, cd = check_instance(wc), check_dual(wc)
        rel = abs(wc.value - known) / known
        ok = rel <= REL_TOL and ci.ok and cd.ok
        entries.append({"L": L, "F": F, "h": h, "N": N, "known": known, "sdp": wc.value, "dual_bound": wc.dual_value,
                        "rel_error": rel, "status": wc.status,
                        "certificate_instance": ci.as_dict(), "certificate_dual": cd.as_dict(),
                        "verdict": PASS if ok else FAIL})
        rows.append(Row("sgd", f"worst case over {L:g}-smooth", "none", None, f"sdp/known h={h:g} N={N}", wc.value / known))
    solved = [e for e in entries if e["sdp"] is not None]
    ratios = [e["sdp"] / e["known"] for e in solved]
    worst = max(solved, key=lambda e: e["rel_error"]) if solved else None
    return Evidence(
        verdict=combine([e["verdict"] for e in entries]),
        measured={"max_rel_error": worst["rel_error"] if worst else None,
                  "instances": len(entries),
                  "max_certificate_residual": max((max(v for k, v in e["certificate_dual"]["residuals"].items() if k != "dual_bound")
                                                   for e in solved), default=None)},
        bound={"rel_tol": REL_TOL}, ratio=max(ratios, key=lambda r: abs(r - 1)) if ratios else None, ci=None,
        instances=entries, rows=rows, **base)


CLAIM = Claim(
    id="worst-case-known", number=11,
    title="Exact worst case (SDP) reproduces the known exact value of gradient descent on smooth nonconvex functions",
    result=None,
    measures="SDP value / 4LF/(N min{4h-h^3, 4h-h^2}) on a grid of steps h and horizons N; numpy certificates",
    instances="gradient descent without delays, L-smooth functions, f(x_1) - f(x_{N+1}) <= F",
    check=check,
)

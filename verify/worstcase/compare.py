"""The theory's bounds beside an exact worst case (values from :mod:`theory`'s calculators only).

For Picky SGD run with Theorem D's own step and threshold (eta = eta_D, rho = eps/(2 beta)):

- Theorem D / D' at the run's eps: the steps they ask for, T_X(eps) (D' also needs sum_t d_t <=
  eps^2 T^2/(8960 beta F)); beside them the exact worst-case steps to eps (ratio steps / T_X), and,
  when the theorem's condition holds at the run's horizon T, the ratio W(T)/eps^2 (<= 1 certifies the
  theorem there: W is an upper bound on the theorems' class);
- at horizon T, the accuracy each guarantees, eps_X(T)^2 (``theory.accuracy``, tau_avg of the run),
  as information: that guarantee is for Picky run with rho = eps_X(T)/(2 beta).

For delayed SGD (and delay-adaptive, stale-drop at their steps): delayed GD's stability threshold on
f = (beta/2) x^2 at the run's tau_max (``theory.stability_threshold``, ``theory.max_stable_delay``);
delayed SGD's theorem has only a rate with an unknown constant C, so no ratio is printed for it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import theory

__all__ = ["bounds_beside"]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def bounds_beside(wc: Any, eps: float | None = None, steps: int | None = None) -> list[dict[str, Any]]:
    """Rows {result, applies, note, ...} comparing ``wc`` (a WorstCase) with the theory's bounds;
    ``steps``: the worst-case steps to ``eps`` if computed (None: not reached within T)."""
    prog = wc.program
    alg = prog.extra.get("algorithm") or {}
    name = alg.get("algorithm")
    beta, F, T = prog.beta, prog.F, prog.T
    d = prog.delays
    S, tau_avg, tau_max = int(d.sum()), float(d.mean()), int(d.max())
    rows: list[dict[str, Any]] = []
    if name == "picky":
        for rid, label in (("picky-explicit", "Theorem D"), ("picky-explicit-sharp", "Theorem D'")):
            acc2 = float(theory.accuracy(rid, T, beta=beta, F=F, sigma=0.0, tau_avg=tau_avg, convention="norm")) ** 2
            row: dict[str, Any] = {"result": rid, "label": label, "eps2_at_T": acc2, "ratio_at_T": None,
                                   "steps_bound": None, "steps_ratio": None, "applies": False}
            if eps is None:
                row["note"] = f"at T = {T} the theorem guarantees eps^2 = {acc2:.6g} for rho = eps/(2 beta); give --eps to compare"
                rows.append(row)
                continue
            eta_D = float(theory.step_size(rid, beta=beta, eps=eps, sigma=0.0))
            rho_D = float(theory.threshold(rid, beta=beta, eps=eps, sigma=0.0))
            own = _close(float(prog.eta[0]), eta_D) and bool(np.all(prog.eta == prog.eta[0])) and _close(prog.rho, rho_D)
            row["applies"] = own
            if not own:
                row["note"] = f"not this run's parameters (theorem: eta = {eta_D:.6g}, rho = {rho_D:.6g})"
                rows.append(row)
                continue
            Tb = float(theory.iterations(rid, beta=beta, F=F, sigma=0.0, eps=eps, tau_avg=tau_avg))
            row["steps_bound"] = Tb
            if steps is not None:
                row["steps_ratio"] = steps / Tb
            holds = bool(theory.condition_holds(rid, T=T, sum_delays=S, beta=beta, F=F, sigma=0.0, eps=eps))
            row["condition_at_T"] = holds
            if holds:
                row["ratio_at_T"] = wc.value / eps ** 2
                row["note"] = "condition holds at T: worst case / eps^2 <= 1 certifies the theorem at T"
            else:
                row["note"] = f"condition does not hold at T = {T} (it asks T >= {Tb:.6g}" + \
                    (" and sum d_t <= eps^2 T^2/(8960 beta F)" if rid.endswith("sharp") else "") + ")"
            rows.append(row)
    if name in ("delayed-sgd", "delay-adaptive", "stale-drop", "sgd"):
        eta = float(prog.eta.max())
        a = float(theory.stability_threshold(tau_max))
        top = theory.max_stable_delay(eta, beta)
        rows.append({"result": "delayed-sgd", "label": "stability (delayed GD, constant delay, f = beta x^2/2)",
                     "applies": name == "delayed-sgd", "eta_beta": eta * beta, "threshold_at_tau_max": a,
                     "max_stable_delay": top, "stable_at_tau_max": eta * beta < a,
                     "note": f"eta beta = {eta * beta:.6g} {'<' if eta * beta < a else '>='} a*({tau_max}) = {a:.6g}; "
                             f"largest stable constant delay {top}; rate-only theorem (unknown C): no ratio"})
    return rows

"""Claim 7 -- stability contrast (derived; related.md §2, Levin-May).

Delayed GD x_{t+1} = x_t - eta beta x_{t-tau} on f = (beta/2)||x||^2 with a constant delay tau is
asymptotically stable iff eta beta < 2 sin(pi/(2(2 tau + 1))) (theory ``delayed-sgd`` aux
``stability_threshold``; ``theory.max_stable_delay``). With Picky SGD's step eta = 1/(9 beta):
stable up to tau_c = 13, unstable from 14. Checked: delayed SGD with that step converges at tau_c and
diverges at tau_c + 1, tau_c + 6 and 40 (judged over the whole horizon: a divergent oscillation can
pass through tiny gradient norms); Picky SGD with the same step converges at every one of them
(judged on the last iterate).
"""
from __future__ import annotations

import theory

from verify import algorithms
from verify.models import delays, problems
from ..algorithms import DivergenceGuard
from .common import Claim, Context, noop_test, run_lanes
from .evidence import FAIL, PASS, Evidence, Row, combine

__all__ = ["CLAIM"]

BETA = 2.0
EPS = 1e-3


def check(ctx: Context) -> Evidence:
    prob = problems.make(f"quadratic:spectrum=constant,L={BETA}", 3)
    eta = theory.step_size("picky-explicit", beta=BETA, sigma=0.0, eps=EPS)
    tau_c = theory.max_stable_delay(eta, BETA)
    guard = DivergenceGuard(radius=1e6)
    entries, rows = [], []
    for tau, stable in ((tau_c, True), (tau_c + 1, False), (tau_c + 6, False), (40, False)):
        T = 30_000
        seq = delays.make(f"constant:tau={tau}", T)
        dsgd = algorithms.resolve("delayed-sgd", beta=BETA, F=prob.F, eps=EPS, sigma=0.0, eta=eta)
        picky = algorithms.resolve("picky", beta=BETA, F=prob.F, eps=EPS, sigma=0.0)
        r_d, r_p = run_lanes(prob, seq, [dsgd, picky], [0, 0], T=T, guard=guard, record_rejections=True)
        ctx.collect(CLAIM.id, [r_d, r_p], f"constant:tau={tau}")
        ok_d = (not r_d.diverged and r_d.final_grad_norm <= EPS) if stable else r_d.diverged
        ok_p = not r_p.diverged and r_p.first_hit is not None and r_p.final_grad_norm <= EPS
        entries.append({"tau": tau, "theory_stable": stable, "threshold_eta_beta": theory.stability_threshold(tau),
                        "eta_beta": eta * BETA, "delayed_sgd_diverged": r_d.diverged,
                        "delayed_sgd_diverged_step": r_d.diverged_step, "delayed_sgd_final_grad": r_d.final_grad_norm,
                        "picky_final_grad": r_p.final_grad_norm, "picky_rejected": r_p.rejected,
                        "verdict": PASS if ok_d and ok_p else FAIL})
        rows += [Row("delayed-sgd", prob.spec, seq.model + f":tau={tau}", 0, "diverged", int(r_d.diverged)),
                 Row("picky", prob.spec, seq.model + f":tau={tau}", 0, "final_grad_norm", r_p.final_grad_norm)]
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result="delayed-sgd", status=CLAIM.status,
        verdict=combine([e["verdict"] for e in entries]),
        measured={"stable_up_to": max((e["tau"] for e in entries if not e["delayed_sgd_diverged"]), default=None),
                  "diverged_at": [e["tau"] for e in entries if e["delayed_sgd_diverged"]],
                  "picky_converged_at_all": all(e["picky_final_grad"] <= EPS for e in entries)},
        bound={"max_stable_delay": tau_c},
        ratio=(max((e["tau"] for e in entries if not e["delayed_sgd_diverged"]), default=0) / tau_c) if tau_c else None,
        ci=None, test=noop_test(),
        what=f"delayed GD with eta = 1/(9 beta) on (beta/2)||x||^2, constant delays around theory's threshold {tau_c}",
        instances=entries, rows=rows, parameters={"beta": BETA, "eta": eta, "eps": EPS, "T": 30_000},
        notes=["ratio (measured/bound): the largest constant delay at which delayed GD stayed stable / theory's "
               "largest stable delay (1 = the threshold is exact; checked from both sides)"],
    )


CLAIM = Claim(
    id="stability", number=7,
    title="Stability contrast: delayed GD with Picky's step is stable exactly below theory's threshold; Picky converges beyond it",
    result="delayed-sgd",
    measures="divergence of delayed GD at constant delays tau_c, tau_c+1, tau_c+6, 40; Picky's last gradient norm",
    instances="(beta/2)||x||^2 on R^3, beta = 2, sigma = 0",
    check=check,
)

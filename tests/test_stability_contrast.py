"""Delayed GD with Picky's step size eta = 1/(9 beta) on f = (beta/2)||x||^2 is stable exactly up to
the constant delay that theory predicts (a*(tau) = 2 sin(pi/(2(2 tau + 1))) > eta beta), and
diverges beyond it; Picky SGD with the same step size converges at every delay (paper.md §8.2)."""
from __future__ import annotations

import pytest

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P
from verify.algorithms import DivergenceGuard

BETA = 2.0
EPS = 1e-3


def _setup(tau: int, T: int):
    prob = P.make(f"quadratic:spectrum=constant,L={BETA}", 3)
    seq = D.make(f"constant:tau={tau}", T)
    eta = theory.step_size("picky-explicit", beta=BETA, sigma=0.0, eps=EPS)  # 1/(9 beta)
    return prob, seq, eta


def test_threshold_from_theory_is_14():
    eta = theory.step_size("picky-explicit", beta=BETA, sigma=0.0, eps=EPS)
    assert eta * BETA == pytest.approx(1 / 9)
    assert theory.max_stable_delay(eta, BETA) == 13


def test_delayed_sgd_with_pickys_step_diverges_above_threshold_picky_converges():
    eta = theory.step_size("picky-explicit", beta=BETA, sigma=0.0, eps=EPS)
    tau_c = theory.max_stable_delay(eta, BETA)  # 13: stable; 14: unstable
    guard = DivergenceGuard(radius=1e6)
    for tau, stable in ((tau_c, True), (tau_c + 1, False), (tau_c + 6, False), (40, False)):
        prob, seq, eta = _setup(tau, T=30_000)  # growth 1.00127/step at tau = 14: 1e6 in ~1.1e4 steps
        dsgd = A.resolve("delayed-sgd", beta=BETA, F=prob.F, eps=EPS, sigma=0.0, eta=eta)
        picky = A.resolve("picky", beta=BETA, F=prob.F, eps=EPS, sigma=0.0)
        assert picky.eta == eta
        # no early stop: a divergent oscillation passes through tiny gradient norms, so "some
        # iterate is eps-stationary" can hold by accident (observed at tau = 14: min ||grad|| ~ 6e-16);
        # divergence is judged over the whole horizon, convergence on the last iterate.
        r_d, r_p = E.run_batch(prob, seq, [dsgd, picky], [0, 0], guard=guard, record_rejections=False)
        if stable:
            assert not r_d.diverged and r_d.final_grad_norm <= EPS, tau
        else:
            assert r_d.diverged, (tau, r_d.final_grad_norm)
        assert not r_p.diverged and r_p.first_hit is not None and r_p.final_grad_norm <= EPS, tau
        # (Theorem D' has no horizon within T here: eps = 1e-3 needs ~1e9 steps; see the next test)
        assert theory.first_horizon(seq.delays, beta=BETA, F=prob.F, sigma=0.0, eps=EPS) is None


def test_picky_meets_theorem_d_prime_at_the_unstable_delays():
    # an instance where Theorem D''s horizon is within reach: beta = 1, F = 1/2, eps = 1/2, with Picky's
    # step 1/(9 beta) beyond delayed GD's stability threshold (constant delays 14, 20, 40)
    prob = P.make("quadratic:spectrum=constant,L=1,scale=0.5", 4)
    picky = A.resolve("picky", beta=1.0, F=0.5, eps=0.5, sigma=0.0)
    assert theory.max_stable_delay(picky.eta, 1.0) == 13
    for tau in (14, 20, 40):
        seq = D.make(f"constant:tau={tau}", 1_000_000)
        t0 = theory.first_horizon(seq.delays, beta=1.0, F=0.5, sigma=0.0, eps=0.5)
        assert t0 is not None and t0 < 1_000_000
        (r,) = E.run_batch(prob, seq, picky, [0], T=t0, stop_at_hit=True)
        assert r.first_hit is not None and r.first_hit <= t0

"""Every constant of Theorem D / D' (theory.results) against its SymPy re-derivation
(theory.proofs.theorem_d). A changed constant in either place fails here."""
from __future__ import annotations

import sympy as sp

import theory
from theory.proofs.theorem_d import derive
from theory.symbols import B, F, S, T, beta, eps, sigma, tau_avg

D = derive()
s = sp.Symbol("s", positive=True)


def _coeffs(expr: sp.Expr) -> dict:
    """Coefficients of beta F/eps^2, beta F sigma^2/eps^4, beta F tau/eps^2 in an iteration bound."""
    poly = sp.Poly(sp.expand(expr * eps**4 / (beta * F)), eps, sigma, tau_avg)
    return {k: sp.nsimplify(v) for k, v in poly.as_dict().items()}


def test_proof_constants_are_the_known_values():
    # the derivation itself, step by step (paper.md §4.3 (a)-(f))
    assert D.descent_coefficient == sp.Rational(1, 4)
    assert D.accepted_steps == 4 and D.drift_factor == sp.Rational(3, 2) and D.drift_length == 6
    assert D.drift_breakpoints == 24
    assert D.m_denominator == 128 and D.eta_sigma_cap == 16
    assert D.count_breakpoints_raw == 1024 and D.count_breakpoints == 256
    assert D.breakpoints == 280 and D.sqrt_coefficient == 560
    assert D.horizon_eta == 32 and D.horizon_tau == 8960
    assert D.horizon_sigma == 128 and D.horizon_const_minimal == 512
    assert D.final_budget == sp.Rational(1, 2)


def test_theorem_d_bound_matches_derivation():
    c = _coeffs(theory.get("picky-explicit").bound)
    assert set(c) == {(2, 0, 0), (0, 2, 0), (2, 0, 1)}
    assert c[(0, 2, 0)] == D.horizon_sigma
    assert c[(2, 0, 1)] == D.horizon_tau
    # 2048 is a valid (not minimal) constant: 2048 + 128 s^2 >= each term of 32F/(eta eps^2), all s >= 0
    c0 = c[(2, 0, 0)]
    assert c0 >= D.horizon_const_minimal
    for term in D.horizon_max_terms:
        assert sp.solveset(sp.Lt(c0 + D.horizon_sigma * s**2, term), s, sp.Interval(0, sp.oo)) == sp.S.EmptySet


def test_theorem_d_prime_bound_is_the_minimal_constant():
    st = theory.get("picky-explicit-sharp")
    assert isinstance(st.bound, sp.Max) and len(st.bound.args) == 2
    parts = sorted((_coeffs(a) for a in st.bound.args), key=len)
    tau_part, t0_part = parts
    assert tau_part == {(2, 0, 1): D.horizon_tau}
    assert t0_part == {(2, 0, 0): D.horizon_const_minimal, (0, 2, 0): D.horizon_sigma}
    # 512 is attained: at s = sigma/eps = 2, 511 + 128 s^2 < 512 s
    assert any((D.horizon_const_minimal - 1 + D.horizon_sigma * s**2 - t).subs(s, 2) < 0 for t in D.horizon_max_terms)


def test_theorem_d_implies_d_prime():
    d, dp = theory.get("picky-explicit").bound, theory.get("picky-explicit-sharp").bound
    for arg in dp.args:
        diff = sp.expand(d - arg)
        assert all(coef >= 0 for coef in sp.Poly(diff * eps**4 / (beta * F), eps, sigma, tau_avg).coeffs())


def test_step_size_and_threshold_match_derivation():
    st = theory.get("picky-explicit")
    expected_eta = 1 / (beta * sp.Max(*[t.subs(s, sigma / eps) for t in D.step_size_max_terms]))
    assert sp.simplify(st.step_size - expected_eta) == 0
    assert sp.simplify(st.threshold - D.threshold_factor * eps / beta) == 0
    assert theory.get("picky-explicit-sharp").step_size == st.step_size
    # the step-size caps are what the proof uses: beta eta <= 1/9, beta eta sigma^2 <= eps^2/4, eta <= eps/(16 beta sigma)
    for sig in (0, sp.Rational(1, 10), 1, 2, 4, 100):
        eta = st.step_size.subs({beta: 3, eps: sp.Rational(1, 5), sigma: sig})
        assert 3 * eta <= sp.Rational(1, 9)
        assert 3 * eta * sig**2 <= sp.Rational(1, 25) / 4
        if sig:
            assert eta <= sp.Rational(1, 5) / (16 * 3 * sig)


def test_m_choice_gives_chebyshev_budget():
    # m = floor(eps^2/(128 beta^2 eta^2 sigma^2)) >= 2 and 16 beta^2 eta^2 sigma^2 m/eps^2 <= 1/8, on a grid
    for ratio in [sp.Rational(k, 7) for k in range(1, 200, 3)] + [sp.Integer(10) ** k for k in range(-4, 5)]:
        eta = theory.get("picky-explicit").step_size.subs({beta: 1, eps: 1, sigma: ratio})
        m = sp.floor(1 / (D.m_denominator * eta**2 * ratio**2))
        assert m >= 2
        assert 16 * eta**2 * ratio**2 * m <= D.noise_rejection_fraction


def test_final_inequality_under_the_two_conditions():
    # T >= 32F/(eta eps^2) and T >= 8960 beta F tau/eps^2 give 4F/(eta eps^2) + sqrt(560 beta F tau T)/eps + T/8 <= T/2
    eta = sp.Symbol("eta", positive=True)
    t1 = D.horizon_eta * F / (eta * eps**2)
    t2 = D.horizon_tau * beta * F * tau_avg / eps**2
    # at T = t1 the accepted-steps term is exactly T/8; at T = t2 the sqrt term is exactly T/4 (both
    # terms divided by T decrease in T, so T >= max(t1, t2) keeps them below); noise adds T/8
    assert sp.simplify(D.accepted_steps * F / (eta * eps**2) - t1 / 8) == 0
    assert sp.simplify(sp.sqrt(D.sqrt_coefficient * beta * F * tau_avg * t2) / eps - t2 / 4) == 0


def test_counting_lemma_statement_matches_derivation():
    st = theory.get("counting-lemma")
    assert sp.simplify(st.aux["drift_breakpoints_deterministic"] - D.drift_breakpoints * beta * F / eps**2) == 0
    assert sp.simplify(st.aux["breakpoints_expected"] - D.breakpoints * beta * F / eps**2) == 0
    assert sp.simplify(st.aux["rejections_expected"] - (sp.sqrt(2 * D.breakpoints * beta * F * S) / eps + D.noise_rejection_fraction * T)) == 0
    # exact form: the largest N with N^2 + |B| N <= 2 |B| S
    n = st.bound
    assert sp.simplify(n**2 + B * n - 2 * B * S) == 0
    assert sp.simplify(st.aux["sqrt_form"] ** 2 - 2 * B * S) == 0


def test_picky_explicit_aux_matches_derivation():
    st = theory.get("picky-explicit")
    assert sp.simplify(st.aux["accepted_steps_expected"] - D.accepted_steps * F / (st.step_size * eps**2)) == 0
    assert sp.simplify(st.aux["drift_length_expected"] - D.drift_length * F / eps) == 0
    assert sp.simplify(st.aux["breakpoints_expected"] - D.breakpoints * beta * F / eps**2) == 0

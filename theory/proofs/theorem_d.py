"""Theorem D's algebra, re-derived step by step with SymPy (paper.md §4.3, theorem-d-review.md).

The proof makes four *choices* (budgets); every constant of the theorem then *follows*, and this
module computes it:

- choice 1: beta*eta <= 1/9 and beta*eta*sigma^2 <= eps^2/4 (the step-size caps of the descent step);
- choice 2: rejections are split at radius r = rho/2 with rho = eps/(2 beta) (triangle inequality);
- choice 3: the Chebyshev budget for noise rejections with few accepted steps is 1/8 per step;
- choice 4: the final budget T P(E) <= T/8 + T/4 + T/8 = T/2.

``derive()`` returns the constants; tests compare them with :mod:`theory.results`, so a wrong
constant there fails a test. Nothing here is typed in from the theorem's statement.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["DerivedConstants", "derive"]

R = sp.Rational


@dataclass(frozen=True)
class DerivedConstants:
    descent_coefficient: sp.Rational  # E[decrease] >= c * eta * G^2                       (1/4)
    accepted_steps: sp.Rational  # E[A] <= this * F/(eta eps^2)                               (4)
    drift_factor: sp.Rational  # ||grad f(y)|| <= this * G for accepted steps                 (3/2)
    drift_length: sp.Rational  # E[D] <= this * F/eps                                         (6)
    drift_breakpoints: sp.Rational  # E[K] <= this * beta F/eps^2                             (24)
    m_denominator: sp.Integer  # m = floor(eps^2/(this * beta^2 eta^2 sigma^2))              (128)
    eta_sigma_cap: sp.Integer  # eta <= eps/(this * beta * sigma) makes m >= 2                 (16)
    count_breakpoints_raw: sp.Integer  # E[J] <= this * beta^2 eta sigma^2 F/eps^4            (1024)
    count_breakpoints: sp.Rational  # E[J] <= this * beta F/eps^2                             (256)
    breakpoints: sp.Rational  # E[K + J] <= this * beta F/eps^2                               (280)
    sqrt_coefficient: sp.Rational  # sqrt(this * beta F tau T)/eps                            (560)
    horizon_eta: sp.Rational  # T >= this * F/(eta eps^2)                                     (32)
    horizon_tau: sp.Rational  # T >= this * beta F tau/eps^2                                  (8960)
    horizon_max_terms: tuple[sp.Expr, ...]  # 32 F/(eta eps^2) = (beta F/eps^2) max(these), s = sigma/eps
    horizon_sigma: sp.Rational  # coefficient of beta F sigma^2/eps^4 in the sufficient T     (128)
    horizon_const_minimal: sp.Rational  # smallest c with c + 128 s^2 >= max(terms) for all s (512)
    final_budget: sp.Rational  # T/8 + T/4 + T/8                                             (1/2)
    step_size_max_terms: tuple[sp.Expr, ...]  # eta = 1/(beta max(these)), s = sigma/eps      (9, 4 s^2, 16 s)
    threshold_factor: sp.Rational  # rho = this * eps/beta                                    (1/2)
    noise_rejection_fraction: sp.Rational  # E[#(ii-b)] <= this * T                            (1/8)


def derive() -> DerivedConstants:
    G, e, a, s, x, m = sp.symbols("G epsilon a s x m", positive=True)

    # choice 1 --------------------------------------------------------------------------------
    cap_a = R(1, 9)  # beta*eta <= 1/9
    cap_noise = R(1, 4)  # beta*eta*sigma^2 <= eps^2/4 < G^2/4 (on the stopped range G > eps)
    # (a) accepted step with ||grad f(y) - grad f(x)|| <= eps/2 and G > eps:
    #     <grad f(x), grad f(y)> >= G^2 - G eps/2 >= G^2/2  (at eps = G, the worst case)
    inner = sp.simplify((G**2 - G * e / 2).subs(e, G) / G**2)
    #     E||g||^2 <= (G + eps/2)^2 + sigma^2 <= (3/2)^2 G^2 + sigma^2
    drift_factor = sp.simplify(((G + e / 2) / G).subs(e, G))
    second = drift_factor**2
    # expected decrease / (eta G^2) >= inner - (beta eta/2) second - (beta eta sigma^2/2)/G^2
    decrease = sp.Lambda((a, x), inner - a / 2 * second - x / 2)
    # linear in (a, x): its minimum over the box a <= 1/9, x <= 1/4 is at the corner
    c_desc = sp.nsimplify(decrease(cap_a, cap_noise))
    assert sp.diff(decrease(a, x), a) < 0 and sp.diff(decrease(a, x), x) < 0
    accepted = 1 / c_desc  # (eta c) eps^2 E[A] <= F
    drift_length = drift_factor * accepted  # D <= (3/(2 eps)) eta sum a G^2 <= (3/2)(1/c) F/eps

    # choice 2: r = eps/(4 beta); K <= D/r ------------------------------------------------------
    r_over = R(1, 4)  # r = r_over * eps/beta
    drift_bps = drift_length / r_over

    # choice 3: P(||eta sum xi|| > r) <= eta^2 sigma^2 m / r^2 <= 1/8 ------------------------------
    cheb_budget = R(1, 8)
    cheb_coeff = 1 / r_over**2  # eta^2 sigma^2 m/r^2 = 16 beta^2 eta^2 sigma^2 m/eps^2
    m_den = sp.Integer(cheb_coeff / cheb_budget)  # m <= eps^2/(128 beta^2 eta^2 sigma^2)
    # m >= 2 needs eps^2/(m_den beta^2 eta^2 sigma^2) >= 2, i.e. eta <= eps/(sqrt(2 m_den) beta sigma)
    eta_cap = sp.sqrt(2 * m_den)
    # floor(y) >= y/2 for y >= 1, so 1/m <= 2 m_den beta^2 eta^2 sigma^2/eps^2
    inv_m = 2 * m_den
    j_raw = accepted * inv_m  # E[J] <= (4F/(eta eps^2)) * 256 beta^2 eta^2 sigma^2/eps^2
    j_coeff = j_raw * cap_noise  # beta eta sigma^2 <= eps^2/4
    total_bps = drift_bps + j_coeff
    sqrt_coeff = 2 * total_bps  # sqrt(2 (K+J) tau T) with E[K+J] <= 280 beta F/eps^2 (Jensen)

    # choice 4: T P(E) <= E[A] + sqrt(560 beta F tau T)/eps + T/8 <= T/8 + T/4 + T/8 ---------------
    b_acc, b_sqrt, b_noise = R(1, 8), R(1, 4), cheb_budget
    horizon_eta = accepted / b_acc  # 4F/(eta eps^2) <= T/8
    horizon_tau = sqrt_coeff / b_sqrt**2  # sqrt(c T)/eps <= T/4  <=>  T >= 16 c beta F tau/eps^2
    final = b_acc + b_sqrt + b_noise

    # case split: 32 F/(eta eps^2) with eta = 1/(beta max(1/cap_a, sigma^2/(cap_noise eps^2), eta_cap sigma/eps))
    terms = (horizon_eta / cap_a, horizon_eta / cap_noise * s**2, horizon_eta * eta_cap * s)
    sigma_coeff = sp.Poly(terms[1], s).coeff_monomial(s**2)
    # smallest c with c + sigma_coeff s^2 >= each term for all s >= 0
    cands = []
    for t in terms:
        g = sp.expand(t - sigma_coeff * s**2)
        crit = [c for c in sp.solve(sp.diff(g, s), s) if c.is_real and c >= 0] + [sp.Integer(0)]
        cands.append(max(g.subs(s, c) for c in crit) if sp.degree(g, s) <= 2 and sp.LC(sp.Poly(g, s)) <= 0 else sp.oo)
    c_min = max(cands)

    return DerivedConstants(
        descent_coefficient=c_desc,
        accepted_steps=accepted,
        drift_factor=drift_factor,
        drift_length=drift_length,
        drift_breakpoints=drift_bps,
        m_denominator=m_den,
        eta_sigma_cap=sp.Integer(eta_cap),
        count_breakpoints_raw=sp.Integer(j_raw),
        count_breakpoints=j_coeff,
        breakpoints=total_bps,
        sqrt_coefficient=sqrt_coeff,
        horizon_eta=horizon_eta,
        horizon_tau=horizon_tau,
        horizon_max_terms=terms,
        horizon_sigma=sigma_coeff,
        horizon_const_minimal=c_min,
        final_budget=final,
        step_size_max_terms=(1 / cap_a, s**2 / cap_noise, eta_cap * s),
        threshold_factor=2 * r_over,
        noise_rejection_fraction=cheb_budget,
    )


if __name__ == "__main__":  # pragma: no cover
    for k, v in derive().__dict__.items():
        print(f"{k:24s} {v}")

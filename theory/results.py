"""Every result of the package, written once as SymPy.

All iteration bounds are in the NORM convention (target ||grad f(x)|| <= eps); results whose
source uses the squared convention were converted by eps -> eps^2 (related.md, "Conventions").
Provenance labels follow ``../shared/reference/paper.md`` and ``related.md``; see paper_notes.md.

Ids (stable, used by the CLI): picky, picky-explicit, picky-explicit-sharp, counting-lemma, sgd,
delayed-sgd, ksj-constant, delay-adaptive, quantile, lower-bound.
"""
from __future__ import annotations

import sympy as sp

from .statement import Convention, Kind, Statement, Status, UnknownConstant
from .symbols import B, F, S, T, beta, constant, delta, eps, q, sigma, tau, tau_avg, tau_C, tau_max, tau_q

__all__ = ["RESULTS", "get", "ids"]

R = sp.Rational

#: restarts k = ceil(log2(1/delta)): k independent runs all fail with probability <= 2^-k <= delta
RESTARTS = sp.ceiling(sp.log(1 / delta, 2))

#: Theorem D's step size min{1/(9 beta), eps^2/(4 beta sigma^2), eps/(16 beta sigma)},
#: written as 1/(beta max{...}) so that sigma = 0 needs no special case.
ETA_D = 1 / (beta * sp.Max(9, 4 * sigma**2 / eps**2, 16 * sigma / eps))
#: Algorithm 1's threshold rho = eps/(2 beta) (paper value UNCONFIRMED; Theorem D's choice)
RHO_D = eps / (2 * beta)

_ORACLE = (
    "stochastic gradients g(x; z) with E g = grad f(x) and E||g - grad f(x)||^2 <= sigma^2 at every x; "
    "a fresh sample z_t at every step t, independent of the past and of the delays"
)
_SMOOTH = "f differentiable, beta-smooth on R^d in the Euclidean norm, bounded below; F = f(x_1) - inf f"
_OBLIVIOUS = (
    "oblivious delays: d_1..d_T fixed in advance (or random and independent of the noise; then condition on "
    "them), with 0 <= d_t <= t-1 for 1-indexed steps t"
)

_KSJ = (
    "A. Koloskova, S. U. Stich, M. Jaggi, Sharper Convergence Guarantees for Asynchronous SGD for "
    "Distributed and Federated Learning, NeurIPS 2022, arXiv:2206.08307"
)
_COHEN = (
    "A. Cohen, A. Daniely, Y. Drori, T. Koren, M. Schain, Asynchronous Stochastic Optimization Robust to "
    "Arbitrary Delays, NeurIPS 2021 (34:9024-9035), arXiv:2106.11879"
)

_C_picky = constant("C_picky")
_C_dsgd = constant("C_dsgd")
_C_ksj = constant("C_ksj")
_C_da = constant("C_da")
_C_quant = constant("C_quant")
_c_lower = constant("c_lower")


def _rate(C: sp.Symbol, delay: sp.Expr) -> sp.Expr:
    """C beta F (sigma^2/eps^4 + (1 + delay)/eps^2): the common O(.) form; the 1 keeps the
    delay-free beta F/eps^2 term that every first-order method needs."""
    return C * beta * F * (sigma**2 / eps**4 + (1 + delay) / eps**2)


_PLACEHOLDER = "placeholder default 1 chosen here; the source's constant is unknown"

RESULTS: dict[str, Statement] = {}


def _add(st: Statement) -> None:
    if st.id in RESULTS:  # pragma: no cover - programming error
        raise RuntimeError(f"duplicate statement id {st.id}")
    RESULTS[st.id] = st


# --- Cohen et al. 2021, Theorem 1 (rate only) ------------------------------------------------
_add(
    Statement(
        id="picky",
        title="Picky SGD, paper Theorem 1 (rate form)",
        citation=_COHEN + ", Theorem 1 (tex lines 293-321 per a public source audit)",
        status=Status.RATE_ONLY,
        provenance=(
            "rate O(sigma^2/eps^4 + tau_avg/eps^2) CONFIRMED (abstract); probability >= 1/2 for some iterate and "
            "the O(log 1/delta) restart amplification SECONDARY (source audit); constants, step size and threshold "
            "UNCONFIRMED (the paper's full text was not available)"
        ),
        convention=Convention.NORM,
        source_convention=Convention.NORM,
        kind=Kind.UPPER,
        guarantee="P(exists t <= T: ||grad f(x_t)|| <= eps) >= 1/2",
        delay_quantity="tau_avg = (1/T) sum_{t<=T} d_t (all steps, discarded ones included)",
        assumptions=(_SMOOTH, _ORACLE, _OBLIVIOUS),
        bound=_rate(_C_picky, tau_avg),
        step_size=None,
        step_size_note="unknown (recollection, UNCONFIRMED: eta ~ min{1/beta, eps^2/(beta sigma^2)}); see picky-explicit",
        threshold=None,
        threshold_note="unknown (recollection, UNCONFIRMED: eps/(2 beta)); see picky-explicit",
        success_probability=R(1, 2),
        restarts=RESTARTS,
        constant=UnknownConstant(_C_picky, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
        notes="the (1 + tau_avg) keeps the delay-free beta F/eps^2 term that the abstract's O(.) hides",
    )
)

# --- Theorem D (derived) ----------------------------------------------------------------------
#: the delay term's constant of Theorem D and D' (re-derived as horizon_tau by theory/proofs/theorem_d.py)
_C_DELAY = 8960
_T0_D = 2048 * beta * F / eps**2 + 128 * beta * F * sigma**2 / eps**4
_add(
    Statement(
        id="picky-explicit",
        title="Picky SGD, Theorem D (explicit constants, derived here)",
        citation="paper.md §4.3 (derived for this package; reviewed in theorem-d-review.md). NOT the paper's constants",
        status=Status.DERIVED,
        provenance="proved for this package with the paper's algorithm and rate; every constant re-derived in tests",
        convention=Convention.NORM,
        source_convention=Convention.NORM,
        kind=Kind.UPPER,
        guarantee="P(exists t <= T: ||grad f(x_t)|| <= eps) >= 1/2",
        delay_quantity="tau_avg = (1/T) sum_{t<=T} d_t over the horizon T itself (a condition on the pair (T, d_1..d_T))",
        assumptions=(_SMOOTH, _ORACLE, _OBLIVIOUS, "threshold rho = eps/(2 beta); step size eta_D (does not depend on tau or T)"),
        bound=_T0_D + _C_DELAY * beta * F * tau_avg / eps**2,
        step_size=ETA_D,
        step_size_note="min{1/(9 beta), eps^2/(4 beta sigma^2), eps/(16 beta sigma)} (sigma terms absent if sigma = 0)",
        threshold=RHO_D,
        threshold_note="eps/(2 beta): accepted stale gradients are eps/2-accurate",
        side_conditions=(sp.Ge(T, _T0_D + _C_DELAY * beta * F * S / (T * eps**2)),),
        success_probability=R(1, 2),
        restarts=RESTARTS,
        aux={
            "descent_per_accepted_step": sp.Symbol("G", positive=True) ** 2 / 4,
            "accepted_steps_expected": 4 * F / (ETA_D * eps**2),
            "drift_length_expected": 6 * F / eps,
            "breakpoints_expected": 280 * beta * F / eps**2,
        },
        notes="the conclusion is monotone in T although the condition is not: see first_horizon()",
    )
)

# --- Theorem D' (sharper; derived) ------------------------------------------------------------
_T0_Dp = 512 * beta * F / eps**2 + 128 * beta * F * sigma**2 / eps**4
_add(
    Statement(
        id="picky-explicit-sharp",
        title="Picky SGD, Theorem D' (sharper explicit constants, derived here)",
        citation="theorem-d-review.md §8 (derived for this package). NOT the paper's constants",
        status=Status.DERIVED,
        provenance="the two conditions used in Theorem D's proof, separately; 2048 lowered to 512 by AM-GM",
        convention=Convention.NORM,
        source_convention=Convention.NORM,
        kind=Kind.UPPER,
        guarantee="P(exists t <= T: ||grad f(x_t)|| <= eps) >= 1/2, and then for every larger horizon",
        delay_quantity="S_T = sum_{t<=T} d_t (condition on the pair (T, d_1..d_T))",
        assumptions=(_SMOOTH, _ORACLE, _OBLIVIOUS, "threshold rho = eps/(2 beta); step size eta_D"),
        bound=sp.Max(_T0_Dp, _C_DELAY * beta * F * tau_avg / eps**2),
        step_size=ETA_D,
        step_size_note="as Theorem D",
        threshold=RHO_D,
        threshold_note="as Theorem D",
        side_conditions=(sp.Ge(T, _T0_Dp), sp.Le(S, eps**2 * T**2 / (_C_DELAY * beta * F))),
        success_probability=R(1, 2),
        restarts=RESTARTS,
        notes="Theorem D's hypothesis implies D''s",
    )
)

# --- Counting lemma (derived) -----------------------------------------------------------------
_K_det = 24 * beta * F / eps**2  # drift breakpoints, sigma = 0, pathwise


def _exact_count(b: sp.Expr, s: sp.Expr) -> sp.Expr:
    """Largest N with N^2 + b N <= 2 b s: the root (sqrt(b^2 + 8 b s) - b)/2, written without the
    cancellation (which, in floating point, goes negative at s = 0 for large b)."""
    return sp.Piecewise((0, sp.Eq(b, 0)), (4 * b * s / (sp.sqrt(b**2 + 8 * b * s) + b), True))


_add(
    Statement(
        id="counting-lemma",
        title="Counting lemma: steps whose window straddles a breakpoint",
        citation="paper.md §4.3(d), exact form theorem-d-review.md §3 (derived for this package)",
        status=Status.DERIVED,
        provenance="deterministic combinatorial lemma; exact form attained by the bursty pattern",
        convention=Convention.NORM,
        source_convention=Convention.NORM,
        kind=Kind.COUNT,
        guarantee=(
            "for any delays and any breakpoint set B: N = #{t : exists p in B, t - d_t <= p < t} satisfies "
            "N^2 + |B| N <= 2 |B| sum_t d_t, hence N <= sqrt(2 |B| sum_t d_t)"
        ),
        delay_quantity="S = sum_{t<=T} d_t",
        assumptions=("0 <= d_t <= t-1", "B any set of steps"),
        bound=_exact_count(B, S),
        side_conditions=(sp.Le(sp.Symbol("N", nonnegative=True) ** 2 + B * sp.Symbol("N", nonnegative=True), 2 * B * S),),
        aux={
            "sqrt_form": sp.sqrt(2 * B * S),
            "drift_breakpoints_deterministic": _K_det,
            "rejections_deterministic": _exact_count(_K_det, S),
            "rejections_deterministic_sqrt": sp.sqrt(2 * _K_det * S),
            "breakpoints_expected": 280 * beta * F / eps**2,
            "rejections_expected": sp.sqrt(560 * beta * F * S) / eps + T / 8,
        },
        notes=(
            "rejections_* bound the rejected updates of Picky SGD (Theorem D's eta, rho) before the first "
            "eps-stationary iterate; *_deterministic holds pathwise when sigma = 0 (K <= 24 beta F/eps^2)"
        ),
    )
)

# --- SGD without delays: Ghadimi-Lan ----------------------------------------------------------
_N_sgd = 4 * beta * F / eps**2 + 32 * beta * F * sigma**2 / eps**4
_add(
    Statement(
        id="sgd",
        title="SGD without delays (Ghadimi-Lan 2013, Cor. 2.2 form)",
        citation=(
            "S. Ghadimi, G. Lan, Stochastic first- and zeroth-order methods for nonconvex stochastic programming, "
            "SIAM J. Optim. 23(4):2341-2368, 2013, Theorem 2.1(a)"
        ),
        status=Status.DERIVED,
        provenance="derived (related.md §1) from the CONFIRMED Theorem 2.1(a); converted from the squared convention",
        convention=Convention.NORM,
        source_convention=Convention.SQUARED,
        kind=Kind.UPPER,
        guarantee="E||grad f(x_R)||^2 <= eps^2 (so E||grad f(x_R)|| <= eps) for the random output step R",
        delay_quantity="none",
        assumptions=(_SMOOTH, _ORACLE, "output x_R with P(R = k) proportional to 2 gamma - beta gamma^2"),
        bound=_N_sgd,
        step_size=1 / sp.Max(beta, sigma * sp.sqrt(beta * _N_sgd / (2 * F))),
        step_size_note="gamma = min{1/beta, D_f/(sigma sqrt(N))}, D_f = sqrt(2F/beta), N the iteration bound",
        aux={"accuracy_squared_after_N": 2 * beta * F / T + 2 * sigma * sp.sqrt(2 * beta * F / T)},
    )
)

# --- Delayed SGD, max delay (Stich-Karimireddy) -----------------------------------------------
_add(
    Statement(
        id="delayed-sgd",
        title="Delayed SGD with a constant step (max-delay rate, Stich-Karimireddy 2020)",
        citation=(
            "S. U. Stich, S. P. Karimireddy, The error-feedback framework: Better rates for SGD with delayed "
            "gradients and compressed communication, JMLR 21(237), 2020"
        ),
        status=Status.SECONDARY,
        provenance=(
            "rate SECONDARY (stated by Stich in KSJ 2022 §1); constant unknown; step-size form UNCONFIRMED "
            "(gamma ~ 1/(beta tau_max)), its constant chosen here; stability threshold DERIVED (related.md §2)"
        ),
        convention=Convention.NORM,
        source_convention=Convention.SQUARED,
        kind=Kind.UPPER,
        guarantee="(1/T) sum_t E||grad f(x_t)||^2 <= eps^2",
        delay_quantity="tau_max = max_t d_t",
        assumptions=(_SMOOTH, _ORACLE, "bounded delays d_t <= tau_max"),
        bound=_rate(_C_dsgd, tau_max),
        step_size=1 / (beta * sp.Max(9 * (1 + tau_max), 4 * sigma**2 / eps**2, 16 * sigma / eps)),
        step_size_note=(
            "chosen here: Theorem D's step with its 1/(9 beta) cap divided by (1 + tau_max) "
            "(form UNCONFIRMED: gamma ~ 1/(beta tau_max))"
        ),
        constant=UnknownConstant(_C_dsgd, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
        aux={
            # delayed GD x_{t+1} = x_t - eta beta x_{t-tau} on (beta/2) x^2 is stable iff eta beta < a*(tau)
            "stability_threshold": 2 * sp.sin(sp.pi / (2 * (2 * tau + 1))),
        },
        notes="stability_threshold: the largest stable eta*beta for constant delay tau on f = (beta/2) x^2 (Levin-May)",
    )
)

# --- Koloskova-Stich-Jaggi: constant step, concurrency ----------------------------------------
_add(
    Statement(
        id="ksj-constant",
        title="Asynchronous SGD, constant step (KSJ 2022 Thm 6)",
        citation=_KSJ + ", Theorem 6",
        status=Status.RATE_ONLY,
        provenance="rate CONFIRMED from the full text; constants and beta F scaling UNCONFIRMED; converted from squared",
        convention=Convention.NORM,
        source_convention=Convention.SQUARED,
        kind=Kind.UPPER,
        guarantee="(1/(T+1)) sum_t E||grad f(x_t)||^2 <= eps^2",
        delay_quantity=("tau_C, the maximum concurrency (KSJ Definition 1: max_t of the number of active workers; = n "
                        "when all n workers are busy) and tau_max"),
        assumptions=(_SMOOTH, _ORACLE),
        bound=_rate(_C_ksj, sp.sqrt(tau_C * tau_max)),
        constant=UnknownConstant(_C_ksj, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    )
)

# --- Delay-adaptive SGD -----------------------------------------------------------------------
_add(
    Statement(
        id="delay-adaptive",
        title="Delay-adaptive asynchronous SGD (KSJ 2022 Thm 8 / Cor 9; Mishchenko et al. 2022)",
        citation=_KSJ + ", Theorem 8 and Corollary 9; K. Mishchenko, F. Bach, M. Even, B. Woodworth, Asynchronous SGD "
        "Beats Minibatch SGD Under Arbitrary Delays, NeurIPS 2022, arXiv:2206.07638",
        status=Status.RATE_ONLY,
        provenance=(
            "KSJ rate and step caps 1/(4 beta), 1/(4 beta tau_t) CONFIRMED (full text); Mishchenko et al. CONFIRMED "
            "(abstract); constants UNCONFIRMED; converted from squared"
        ),
        convention=Convention.NORM,
        source_convention=Convention.SQUARED,
        kind=Kind.UPPER,
        guarantee="(1/(T+1)) sum_t E||grad f(x_t)||^2 <= eps^2",
        delay_quantity=("tau_C, the maximum concurrency (KSJ Definition 1: max_t of the number of active workers; = n "
                        "when all n workers are busy); Cor. 9: tau_avg in its place for constant concurrency"),
        assumptions=(_SMOOTH, _ORACLE),
        bound=_rate(_C_da, tau_C),
        step_size=1 / (beta * sp.Max(4 * sp.Max(1, tau_C), 4 * sigma**2 / eps**2, 16 * sigma / eps)),
        step_size_note=(
            "base eta = 1/(4 beta max(1, tau_C)) (choice made here, DERIVED: KSJ's cap 1/(4 beta) alone lets "
            "eta_t = 1/(4 beta) act at every delay d_t <= tau_C, and delayed GD on f = beta x^2/2 with constant "
            "delay tau diverges once 1/4 >= 2 sin(pi/(2(2 tau + 1))), i.e. from tau = 6 (theory.stability_threshold); "
            "1/(4 tau) is below that limit for every tau and equals KSJ's own cap 1/(4 beta d_t) at d_t = tau_C), "
            "with Theorem D's noise caps eps^2/(4 beta sigma^2), eps/(16 beta sigma) (choice made here); "
            "eta_t = eta when d_t <= tau_C, else "
            "min{eta, 1/(4 beta d_t)} (KSJ rule) or eta * tau_C/d_t (Mishchenko et al.'s public code: lr*n/max(n, delay))"
        ),
        constant=UnknownConstant(_C_da, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    )
)

# --- Quantile delays: Attia-Gaash-Koren -------------------------------------------------------
_add(
    Statement(
        id="quantile",
        title="Asynchronous mini-batching, quantile delays (Attia-Gaash-Koren)",
        citation=(
            "A. Attia, O. Gaash, T. Koren, Faster Stochastic Optimization with Arbitrary Delays via Asynchronous "
            "Mini-Batching, ICML 2025, arXiv:2408.07503"
        ),
        status=Status.RATE_ONLY,
        provenance="rate CONFIRMED (abstract); metric and beta F scaling UNCONFIRMED; inversion DERIVED",
        convention=Convention.NORM,
        source_convention=Convention.SQUARED,
        kind=Kind.UPPER,
        guarantee="E||grad f||^2 <= eps^2 (metric UNCONFIRMED)",
        delay_quantity="tau_q, the q-quantile of the delays, for any q in (0, 1]",
        assumptions=(_SMOOTH, _ORACLE),
        bound=_C_quant * beta * F * (sigma**2 / (q * eps**4) + (1 + tau_q) / (q * eps**2)),
        constant=UnknownConstant(_C_quant, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
        notes="q = 1 recovers the max-delay rate; tau_avg >= (1-q) tau_q, so q = 1/2 gives an average-delay rate",
    )
)

# --- Lower bound ------------------------------------------------------------------------------
_add(
    Statement(
        id="lower-bound",
        title="Lower bound for stochastic first-order methods (Arjevani et al.; Carmon et al.)",
        citation=(
            "Y. Arjevani, Y. Carmon, J. C. Duchi, D. J. Foster, N. Srebro, B. Woodworth, Lower bounds for non-convex "
            "stochastic optimization, Math. Prog. 2023; Y. Carmon, J. C. Duchi, O. Hinder, A. Sidford, Lower bounds "
            "for finding stationary points I, Math. Prog. 184, 2020"
        ),
        status=Status.SECONDARY,
        provenance="abstracts CONFIRMED; the combined form Theta(beta F/eps^2 + beta F sigma^2/eps^4) SECONDARY",
        convention=Convention.NORM,
        source_convention=Convention.NORM,
        kind=Kind.LOWER,
        guarantee="some instance needs this many oracle calls (worst case; high dimension, eps small)",
        delay_quantity="none (holds with zero delay, hence for every delay sequence)",
        assumptions=(_SMOOTH, _ORACLE),
        bound=_c_lower * beta * F * (sigma**2 / eps**4 + 1 / eps**2),
        constant=UnknownConstant(_c_lower, 1.0, Status.UNCONFIRMED, "placeholder default 1; the true constant is small and unknown"),
    )
)


def get(result_id: str) -> Statement:
    """The statement with this id; ValueError listing the ids otherwise."""
    try:
        return RESULTS[result_id]
    except KeyError:
        raise ValueError(f"result id must be one of {sorted(RESULTS)}; got {result_id!r}") from None


def ids() -> list[str]:
    return list(RESULTS)

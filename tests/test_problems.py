"""Tests for verify/models/problems.py: exact gradients, exact (or safely bounded) constants, noise models.

Statistical checks use fixed seeds (deterministic) and are sized so that, were the seed random, the
false-alarm probability of each check would be explicit and tiny (stated next to each check).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.models.problems import PROBLEMS, Chain, LogSum, make, parse_spec
from verify.models.noise import NOISES, StudentTNoise, make_noise

SPECS = [
    "quadratic",
    "quadratic:spectrum=geometric,mu=0.001",
    "quadratic:spectrum=linear,mu=0.1,L=4,rotate=true,seed=3",
    "quadratic:spectrum=constant,L=2.5,scale=-2",
    "logsum",
    "logsum:width=0.5,scale=2",
    "logsum:width=3",
    "chain",
    "chain:L=1,lam=1",
    "chain:L=3,lam=0.5",
    "chain:L=0.2,lam=4",
]
EXACT_BETA_SPECS = [s for s in SPECS if not s.startswith("chain")]
CHAIN_SPECS = [s for s in SPECS if s.startswith("chain")]
NOISE_SPECS = ["gaussian", "bounded", "rademacher", "student_t:df=3", "student_t:df=10", "student_t:df=2.5"]


def length_scale(p) -> float:
    """A natural length scale of the problem (where its curvature varies)."""
    if isinstance(p, Chain):
        return p.lam
    if isinstance(p, LogSum):
        return p.width
    return 1.0


@st.composite
def problem_and_points(draw, specs=SPECS, max_dim=6, max_lanes=4, radius=4.0):
    spec = draw(st.sampled_from(specs))
    dim = draw(st.integers(1, max_dim))
    lanes = draw(st.integers(1, max_lanes))
    p = make(spec, dim)
    r = radius * length_scale(p)
    X = draw(
        hnp.arrays(np.float64, (lanes, dim), elements=st.floats(-r, r, allow_nan=False, allow_subnormal=False))
    )
    return p, X


def fd_grad(p, x: np.ndarray) -> np.ndarray:
    """Central finite differences of f at a single point x (one batched f call)."""
    h = 1e-6 * (np.abs(x) + length_scale(p))
    E = np.diag(h)
    return (p.f(x + E) - p.f(x - E)) / (2 * h)


# ----------------------------------------------------------------------------------------------
# gradients, Hessians, shapes
# ----------------------------------------------------------------------------------------------


@given(problem_and_points())
def test_grad_matches_central_differences(case):
    p, X = case
    for x in X:
        g = p.grad(x)
        fd = fd_grad(p, x)
        # truncation O(h^2 f''') + rounding O(eps |f| / h): both far below 1e-6 at these scales
        err = np.max(np.abs(g - fd))
        assert err <= 1e-6 * (1.0 + np.max(np.abs(g))), (p.spec, x, g, fd)


@given(problem_and_points())
def test_hessian_matches_gradient_differences(case):
    p, X = case
    x = X[0]
    H = p.hessian(x)
    assert H.shape == (p.dim, p.dim)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12 * (1 + np.abs(H).max()))
    h = 1e-6 * (np.abs(x) + length_scale(p))
    E = np.diag(h)
    Hfd = (p.grad(x + E) - p.grad(x - E)) / (2 * h)[:, None]  # row j = d grad / dx_j
    assert np.max(np.abs(H - Hfd)) <= 1e-5 * (1.0 + np.abs(H).max()), (p.spec, x)


@given(problem_and_points(max_lanes=5))
def test_batched_and_single_agree(case):
    p, X = case
    F = p.f(X)
    G = p.grad(X)
    N = p.grad_norm(X)
    assert F.shape == X.shape[:1] and G.shape == X.shape and N.shape == X.shape[:1]
    for i, x in enumerate(X):
        np.testing.assert_allclose(p.f(x), F[i], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(p.grad(x), G[i], rtol=1e-13, atol=1e-300)
        assert np.ndim(p.f(x)) == 0 and p.grad(x).shape == (p.dim,)
    np.testing.assert_allclose(N, np.linalg.norm(G, axis=-1), rtol=1e-14, atol=0)
    # arbitrary leading axes
    X3 = np.stack([X, 0.5 * X])
    np.testing.assert_allclose(p.grad(X3)[0], G, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(p.f(X3)[1], p.f(0.5 * X), rtol=1e-13, atol=1e-14)
    # out= is filled and returned; out may alias the input
    out = np.full_like(X, np.nan)
    assert p.grad(X, out=out) is out
    np.testing.assert_array_equal(out, G)
    Xc = X.copy()
    assert p.grad(Xc, out=Xc) is Xc
    np.testing.assert_array_equal(Xc, G)
    # the hessian is batched too
    np.testing.assert_allclose(p.hessian(X)[0], p.hessian(X[0]), rtol=1e-13, atol=1e-300)


# ----------------------------------------------------------------------------------------------
# smoothness: beta is a valid bound, and (for beta_exact problems) not an overestimate
# ----------------------------------------------------------------------------------------------


def lipschitz_ratio(p, x, y) -> float:
    return float(np.linalg.norm(p.grad(x) - p.grad(y)) / np.linalg.norm(x - y))


def assert_lipschitz(p, x, y):
    d = np.linalg.norm(x - y)
    lhs = np.linalg.norm(p.grad(x) - p.grad(y))
    # rounding slack: a few ulps of the gradient terms (matters only for d ~ 1e-14)
    slack = 1e-13 * (1.0 + p.beta * (np.linalg.norm(x) + np.linalg.norm(y)))
    assert lhs <= p.beta * d * (1 + 1e-9) + slack, (p.spec, x, y, lhs / d, p.beta)


@given(problem_and_points(), st.data())
def test_gradient_is_beta_lipschitz_on_random_pairs(case, data):
    p, X = case
    r = 4.0 * length_scale(p)
    for x in X:
        y = data.draw(hnp.arrays(np.float64, (p.dim,), elements=st.floats(-r, r, allow_nan=False)))
        assume(np.any(x != y))
        assert_lipschitz(p, x, y)
        # and along the direction of extreme curvature at x
        w, V = np.linalg.eigh(p.hessian(x))
        v = V[:, np.argmax(np.abs(w))]
        for t in (1e-6, 1e-3, 0.3):
            assert_lipschitz(p, x, x + t * length_scale(p) * v)


@given(problem_and_points())
def test_hessian_norm_never_exceeds_beta(case):
    p, X = case
    norms = np.linalg.norm(p.hessian(X), ord=2, axis=(-2, -1))
    assert np.all(norms <= p.beta * (1 + 1e-12))


@pytest.mark.parametrize("spec", [s for s in EXACT_BETA_SPECS if s.startswith("quadratic")])
@given(dim=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_quadratic_beta_is_attained(spec, dim, seed):
    p = make(spec, dim)
    assert p.beta_exact and p.beta == pytest.approx(float(np.max(p.lam)), rel=0)
    H = p.hessian(np.zeros(dim))
    w, V = np.linalg.eigh(H)
    assert w.max() == pytest.approx(p.beta, rel=1e-12)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(dim)
    y = x + rng.uniform(0.01, 2.0) * V[:, -1]
    assert lipschitz_ratio(p, x, y) >= 0.99 * p.beta
    assert lipschitz_ratio(p, x, y) <= p.beta * (1 + 1e-9)


@pytest.mark.parametrize("spec", [s for s in EXACT_BETA_SPECS if s.startswith("logsum")])
@given(dim=st.integers(1, 6), j=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_logsum_beta_is_approached_near_origin(spec, dim, j, seed):
    p = make(spec, dim)
    j = j % dim
    a = p.width
    assert p.beta_exact and p.beta == 2.0 / a**2
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1e-3, 1e-3, dim) * a
    y = x.copy()
    y[j] += rng.uniform(1e-4, 1e-2) * a
    # the curvature 2(a^2 - x^2)/(a^2 + x^2)^2 is >= 0.999 beta on this segment
    assert 0.99 * p.beta <= lipschitz_ratio(p, x, y) <= p.beta * (1 + 1e-9)
    assert p.hessian(np.zeros(dim))[j, j] == p.beta  # the supremum is attained at 0


# numerical near-maximiser of ||Hess f_T||_2 (Nelder-Mead search, T = 6): about 134.02
CHAIN_WITNESS = np.array([0.78144, 0.78153, 0.78117, 0.78204, 0.76042, 39.32628])


@pytest.mark.parametrize("spec", CHAIN_SPECS)
def test_chain_beta_is_a_valid_bound_and_within_15_percent(spec):
    p = make(spec, 6)
    assert not p.beta_exact
    x = CHAIN_WITNESS * p.lam
    H = p.hessian(x)
    w, V = np.linalg.eigh(H)
    hn = np.max(np.abs(w))
    assert 0.875 * p.beta <= hn <= p.beta  # 134.02/152 = 0.8817
    v = V[:, np.argmax(np.abs(w))]
    for t in (1e-5, 1e-3):
        y = x + t * p.lam * v
        r = lipschitz_ratio(p, x, y)
        assert 0.87 * p.beta <= r <= p.beta
    # many random pairs scattered around the witness
    rng = np.random.default_rng(7)
    X = x + 0.05 * p.lam * rng.standard_normal((2000, 6))
    Y = X + 0.01 * p.lam * rng.standard_normal((2000, 6))
    ratios = np.linalg.norm(p.grad(X) - p.grad(Y), axis=1) / np.linalg.norm(X - Y, axis=1)
    assert ratios.max() <= p.beta
    assert ratios.max() >= 0.8 * p.beta


def test_chain_152_holds_unscaled_on_many_random_pairs():
    rng = np.random.default_rng(11)
    for T in (1, 2, 3, 8):
        p = Chain(T)
        assert p.beta == 152.0 and p.spec == "chain:L=152.0,lam=1.0"
        X = rng.uniform(-3, 3, (20000, T))
        Y = X + rng.standard_normal((20000, T)) * rng.choice([1e-4, 1e-2, 1.0], (20000, 1))
        ratios = np.linalg.norm(p.grad(X) - p.grad(Y), axis=1) / np.linalg.norm(X - Y, axis=1)
        assert ratios.max() <= 152.0
        hn = np.linalg.norm(p.hessian(X[:2000]), ord=2, axis=(-2, -1))
        assert hn.max() <= 152.0


# ----------------------------------------------------------------------------------------------
# f_inf and F
# ----------------------------------------------------------------------------------------------


@given(problem_and_points(radius=50.0), st.sampled_from([1.0, 1e3, 1e30, 1e100]))
def test_f_is_at_least_f_inf(case, mult):
    p, X = case
    vals = p.f(X * mult)
    assert np.all(vals >= p.f_inf - 1e-13 * (1.0 + abs(p.f_inf)))


@pytest.mark.parametrize("spec", [s for s in SPECS if not s.startswith("quadratic")])
def test_f_at_extreme_inputs_is_finite_and_above_f_inf(spec):
    p = make(spec, 5)
    X = np.array(
        [[1e308, -1e308, 1e-320, 0.0, 0.5], [-1e300, 1e154, 2e154, -0.5, np.nextafter(0.5, 1)]]
    )
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        vals = p.f(X)
        G = p.grad(X)
        H = p.hessian(X)
    assert np.all(np.isfinite(vals)) and np.all(np.isfinite(G)) and np.all(np.isfinite(H))
    assert np.all(vals >= p.f_inf - 1e-13 * (1.0 + abs(p.f_inf)))


@pytest.mark.parametrize("spec", EXACT_BETA_SPECS)
@given(dim=st.integers(1, 6))
def test_exact_f_inf_is_attained_at_zero(spec, dim):
    p = make(spec, dim)
    assert p.f_inf_exact and p.f_inf == 0.0 and p.F_exact
    assert p.f(np.zeros(dim)) == 0.0
    assert np.all(p.grad(np.zeros(dim)) == 0.0)


@pytest.mark.parametrize("spec", CHAIN_SPECS)
@pytest.mark.parametrize("dim", [1, 2, 5, 10])
def test_chain_f_inf_is_exact_and_approached(spec, dim):
    p = make(spec, dim)
    c = p.L * p.lam**2 / 152.0
    phimax = math.sqrt(2 * math.pi * math.e)
    assert p.f_inf_exact and p.F_exact
    assert p.f_inf == pytest.approx(-c * phimax * (1 + (dim - 1) * math.e), rel=1e-15)
    # approached along x = n lam (1, ..., 1): the gap is ~ |f_inf| / n^2 -> 0
    gaps = [float(p.f(np.full(dim, n * p.lam))) - p.f_inf for n in (1.0, 2.0, 3.0, 3e5)]
    assert all(g >= -1e-13 * abs(p.f_inf) for g in gaps)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[-1] <= 1e-9 * abs(p.f_inf)
    # F at the default x1 = 0, and the paper's bound F <= 12 T (scaled)
    assert np.all(p.x1 == 0.0)
    assert p.f(p.x1) == pytest.approx(-c * math.sqrt(math.pi * math.e / 2), rel=1e-14)
    assert p.F == pytest.approx(c * phimax * (0.5 + (dim - 1) * math.e), rel=1e-13)
    assert p.F <= c * 12 * dim == pytest.approx(p.F_paper_bound, rel=1e-15)


def test_F_at_defaults():
    assert make("logsum", 10).F == pytest.approx(10 * math.log(10), rel=1e-14)
    assert LogSum(10).x1.tolist() == [3.0] * 10
    assert make("logsum:scale=2,width=0.5", 4).F == pytest.approx(4 * math.log(1 + 36 / 0.25), rel=1e-14)
    q = make("quadratic", 10)
    assert q.F == pytest.approx(0.5 * np.sum(np.linspace(0.01, 1, 10)), rel=1e-14)
    q = make("quadratic:spectrum=geometric,mu=0.001,scale=3,rotate=true", 7)
    assert q.F == pytest.approx(0.5 * q.x1 @ q.A @ q.x1, rel=1e-12)
    assert make("chain", 10).F == pytest.approx(math.sqrt(2 * math.pi * math.e) * (0.5 + 9 * math.e), rel=1e-13)


def test_spectrum_families_and_explicit_spectrum():
    q = make("quadratic:spectrum=geometric,mu=0.001,L=2", 4)
    np.testing.assert_allclose(q.lam, [0.001, 0.001 * 2000 ** (1 / 3), 0.001 * 2000 ** (2 / 3), 2.0], rtol=1e-14)
    assert q.lam[0] == 0.001 and q.lam[-1] == 2.0 and q.beta == 2.0
    q = make("quadratic:spectrum=linear,mu=0.5,L=2", 4)
    np.testing.assert_allclose(q.lam, [0.5, 1.0, 1.5, 2.0], rtol=1e-15)
    assert make("quadratic:spectrum=linear,mu=0.5,L=2", 1).lam.tolist() == [2.0]
    q = make("quadratic:spectrum=1;0;0.25", 3)
    assert q.lam.tolist() == [1.0, 0.0, 0.25] and q.beta == 1.0
    q2 = make("quadratic", 3, spectrum=np.array([1.0, 0.0, 0.25]))
    assert q2.describe() == q.describe() == make(q.spec, 3).describe()
    assert make("quadratic:spectrum=2", 1).beta == 2.0
    x = np.array([1.0, 2.0, 3.0])
    assert q.f(x) == pytest.approx(0.5 * (1 + 0 + 0.25 * 9))
    np.testing.assert_array_equal(q.grad(x), [1.0, 0.0, 0.75])
    # rotation is orthogonal, deterministic in the seed, and changes the basis
    r1 = make("quadratic:rotate=true,seed=5", 4)
    r2 = make("quadratic:rotate=true,seed=5", 4)
    r3 = make("quadratic:rotate=true,seed=6", 4)
    np.testing.assert_allclose(r1.Q @ r1.Q.T, np.eye(4), atol=1e-14)
    np.testing.assert_array_equal(r1.A, r2.A)
    assert not np.allclose(r1.A, r3.A)
    np.testing.assert_allclose(np.linalg.eigvalsh(r1.A), np.sort(r1.lam), atol=1e-14)


# ----------------------------------------------------------------------------------------------
# Chain-specific facts
# ----------------------------------------------------------------------------------------------


def _psi_ref(t):
    return math.exp(1 - 1 / (2 * t - 1) ** 2) if t > 0.5 else 0.0


def _phi_ref(t):
    return math.sqrt(math.e) * math.sqrt(math.pi / 2) * (1 + math.erf(t / math.sqrt(2)))


def _f_T_ref(x):
    """f_T from its definition in Carmon et al. (a plain loop, independent of the module)."""
    v = -_psi_ref(1.0) * _phi_ref(x[0])
    for i in range(1, len(x)):
        v += _psi_ref(-x[i - 1]) * _phi_ref(-x[i]) - _psi_ref(x[i - 1]) * _phi_ref(x[i])
    return v


@given(problem_and_points(specs=CHAIN_SPECS, max_dim=7, max_lanes=3))
def test_chain_matches_definition(case):
    p, X = case
    c = p.L * p.lam**2 / 152.0
    for x in X:
        ref = c * _f_T_ref(x / p.lam)
        assert float(p.f(x)) == pytest.approx(ref, rel=1e-12, abs=1e-12 * c)


@given(problem_and_points(specs=CHAIN_SPECS, max_dim=8, max_lanes=4, radius=6.0), st.data())
def test_chain_large_gradient_until_last_coordinate_found(case, data):
    p, X = case
    T = p.dim
    lam = p.lam
    # force |x_T| < lam (margin 1e-6 so that the strict inequality is visible in float64)
    xT = data.draw(
        hnp.arrays(np.float64, (X.shape[0],), elements=st.floats(-(1 - 1e-6), 1 - 1e-6, allow_subnormal=False))
    )
    X = X.copy()
    X[:, T - 1] = xT * lam
    g = p.grad(X)
    assert np.all(p.grad_norm(X) > p.grad_floor)
    # the stronger statement: some coordinate has d f < -grad_floor
    assert np.all(np.min(g, axis=1) < -p.grad_floor)
    assert p.grad_floor == pytest.approx(p.L * p.lam / 152.0, rel=1e-15)
    # and the chain is coordinatewise non-increasing everywhere
    assert np.all(p.grad(X * 3.0) <= 0.0)


def test_chain_grad_floor_statement_is_not_vacuous():
    """Once every |x_i| >= 1 the gradient can be small (e.g. at x = 50 * ones)."""
    p = Chain(5)
    assert p.grad_norm(np.full(5, 50.0)) < 1e-3
    assert p.grad_norm(np.zeros(5)) > 1.0


@given(
    hnp.arrays(
        np.float64,
        (3, 5),
        elements=st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([0.5, np.nextafter(0.5, 1), np.nextafter(0.5, 0), 0.51, -0.5, 1.0, -1.0, 38.6, 40.0]),
        ),
    ),
    st.sampled_from(CHAIN_SPECS + ["chain:lam=1e-6", "chain:lam=1e6"]),
)
def test_chain_is_numerically_safe_for_any_finite_input(X, spec):
    p = make(spec, 5)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        vals = p.f(X)
        G = p.grad(X)
        H = p.hessian(X)
        out = np.empty_like(X)
        p.grad(X, out=out)
    assert np.all(np.isfinite(vals)) and np.all(np.isfinite(G)) and np.all(np.isfinite(H))
    np.testing.assert_array_equal(out, G)
    assert np.all(G <= 0.0)


# ----------------------------------------------------------------------------------------------
# describe / spec / immutability / speed
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS)
def test_describe_is_json_and_round_trips(spec):
    p = make(spec, 4)
    d = p.describe()
    json.dumps(d, allow_nan=False)
    for key in ("name", "dim", "parameters", "beta", "beta_exact", "F", "F_exact", "f_inf"):
        assert key in d
    assert d["beta"] == p.beta and d["F"] == p.F and d["F_exact"] == p.f_inf_exact
    assert d["beta_exact"] is (not spec.startswith("chain"))
    assert make(d["spec"], 4).describe() == d
    assert d["name"] in PROBLEMS and set(PROBLEMS[d["name"]]["defaults"]) <= set(PROBLEMS[d["name"]]["parameters"])


def test_defaults_listed_in_registry_match_constructors():
    assert make("quadratic", 3).describe()["parameters"]["mu"] == PROBLEMS["quadratic"]["defaults"]["mu"]
    assert make("chain", 3).params == PROBLEMS["chain"]["defaults"]
    assert make("logsum", 3).params == PROBLEMS["logsum"]["defaults"]
    assert make_noise("student_t").df == NOISES["student_t"]["defaults"]["df"]


def test_custom_x1_and_immutability():
    p = make("logsum", 3, x1=[1.0, 0.0, -1.0])
    assert p.F == pytest.approx(2 * math.log(2))
    assert p.describe()["x1"] == [1.0, 0.0, -1.0] and p.describe()["x1_custom"] is True
    with pytest.raises(AttributeError):
        p.beta = 3.0
    with pytest.raises(ValueError):
        p.x1[0] = 5.0  # read-only
    with pytest.raises(ValueError, match="x1"):
        make("logsum", 3, x1=[1.0, 2.0])
    with pytest.raises(ValueError, match="X"):
        p.grad(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="out"):
        p.grad(np.zeros((2, 3)), out=np.zeros((3, 3)))


# ----------------------------------------------------------------------------------------------
# bad parameters
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: make("quadratic", 0), r"dim must be a positive integer; got 0"),
        (lambda: make("quadratic", 2.5), r"dim must be a positive integer; got 2\.5"),
        (lambda: make("logsum", True), r"dim must be a positive integer; got True"),
        (lambda: make("chain", "3"), r"dim must be a positive integer; got '3'"),
        (lambda: make("quadratic:mu=2", 3), r"mu must be a finite real in \(0, 1\]; got 2"),
        (lambda: make("quadratic:mu=0", 3), r"mu must be a finite real in \(0, 1\]; got 0"),
        (lambda: make("quadratic:mu=0.5,L=0.25", 3), r"mu must be a finite real in \(0, 0\.25\]; got 0\.5"),
        (lambda: make("quadratic:L=0", 3), r"L must be a finite real in \(0, inf\); got 0"),
        (lambda: make("quadratic:L=0.001", 3), r"mu must be a finite real in \(0, 0\.001\]; got the default 0\.01"),
        (lambda: make("quadratic:L=nan", 3), r"L must be a finite real in \(0, inf\); got nan"),
        (lambda: make("quadratic:spectrum=cubic", 3), r"spectrum must be one of .*; got 'cubic'"),
        (lambda: make("quadratic:spectrum=1;2", 3), r"spectrum must have length dim=3; got length 2"),
        (lambda: make("quadratic:spectrum=1;-2;3", 3), r"spectrum entries must be .*\[0, inf\); got -2\.0 at index 1"),
        (lambda: make("quadratic:spectrum=0;0", 2), r"spectrum must have a positive maximum"),
        (lambda: make("quadratic:spectrum=1;2,mu=0.1", 2), r"mu and L must not be given"),
        (lambda: make("quadratic:seed=-1,rotate=true", 2), r"seed must be an integer >= 0; got -1"),
        (lambda: make("quadratic:rotate=maybe", 2), r"rotate must be a boolean"),
        (lambda: make("quadratic:scale=inf", 2), r"scale must be a finite real"),
        (lambda: make("logsum:width=0", 3), r"width must be a finite real in \(0, inf\); got 0"),
        (lambda: make("logsum:width=-1", 3), r"width must be a finite real in \(0, inf\); got -1"),
        (lambda: make("chain:lam=0", 3), r"lam must be a finite real in \(0, inf\); got 0"),
        (lambda: make("chain:L=-1", 3), r"L must be a finite real in \(0, inf\); got -1"),
        (lambda: make("chain", 3, L=float("inf")), r"L must be a finite real in \(0, inf\); got inf"),
        (lambda: make("chain:mu=1", 3), r"parameter 'mu' is not accepted by problem 'chain'"),
        (lambda: make("rosenbrock", 3), r"problem name must be one of .*; got 'rosenbrock'"),
        (lambda: make("logsum:scale", 3), r"key=value"),
        (lambda: make("logsum:scale=1,scale=2", 3), r"'scale' given twice"),
        (lambda: make("", 3), r"spec must be a non-empty string"),
        (lambda: make_noise("student_t:df=2"), r"df must be a finite real in \(2, inf\); got 2"),
        (lambda: make_noise("student_t:df=1.5"), r"df must be a finite real in \(2, inf\); got 1\.5"),
        (lambda: make_noise("student_t:df=inf"), r"df must be a finite real in \(2, inf\); got inf"),
        (lambda: make_noise("gaussian:df=3"), r"parameter 'df' is not accepted by noise 'gaussian'"),
        (lambda: make_noise("cauchy"), r"noise name must be one of .*; got 'cauchy'"),
        (lambda: make_noise("gaussian").sample(np.random.default_rng(0), -1, 3), r"n must be an integer >= 0; got -1"),
        (lambda: make_noise("bounded").sample(np.random.default_rng(0), 2, 0), r"dim must be a positive integer; got 0"),
        (lambda: make_noise("gaussian").sample(np.random.RandomState(0), 2, 2), r"rng must be a numpy.random.Generator"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_parse_spec():
    assert parse_spec("Quadratic: spectrum=geometric , mu=1e-3,rotate=true,seed=4") == (
        "quadratic",
        {"spectrum": "geometric", "mu": 0.001, "rotate": True, "seed": 4},
    )
    assert parse_spec("logsum") == ("logsum", {})


# ----------------------------------------------------------------------------------------------
# noise models
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", NOISE_SPECS)
@given(n=st.integers(0, 12), dim=st.integers(1, 7), seed=st.integers(0, 2**63), split=st.integers(0, 12))
def test_noise_one_block_equals_row_by_row(spec, n, dim, seed, split):
    """(n, dim) at once == n successive (1, dim) draws == any split, and the generators end in the
    same state.  Holds for every model here (numpy fills element by element in C order)."""
    noise = make_noise(spec)
    assert noise.streaming
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    A = noise.sample(r1, n, dim)
    B = np.concatenate([noise.sample(r2, 1, dim) for _ in range(n)] + [np.empty((0, dim))])
    k = min(split, n)
    C = np.concatenate([noise.sample(r3, k, dim), noise.sample(r3, n - k, dim)])
    assert A.shape == (n, dim) and A.dtype == np.float64
    np.testing.assert_array_equal(A, B)
    np.testing.assert_array_equal(A, C)
    assert r1.integers(2**62) == r2.integers(2**62) == r3.integers(2**62)
    # deterministic in the generator state; out= gives the same numbers
    out = np.full((n, dim), np.nan)
    assert noise.sample(np.random.default_rng(seed), n, dim, out=out) is out
    np.testing.assert_array_equal(out, A)


@pytest.mark.parametrize("spec", NOISE_SPECS)
@pytest.mark.parametrize("dim", [1, 5])
def test_noise_mean_zero(spec, dim):
    """Per coordinate, sqrt(N dim) * mean is ~N(0,1) (CLT; every model has variance 1/dim per
    entry).  Bound |z| <= 5.5 for each of the dim coordinates: false-alarm rate <= dim * 3.8e-8."""
    N = 100_000
    X = make_noise(spec).sample(np.random.default_rng(12345 + dim), N, dim)
    z = X.mean(axis=0) * math.sqrt(N * dim)
    assert np.all(np.abs(z) <= 5.5), z


def _var_of_sq_norm(spec: str, dim: int) -> float:
    """Exact Var(||row||^2) for the unbounded models."""
    if spec == "gaussian":
        return 2.0 / dim  # chi^2_dim / dim
    df = make_noise(spec).df
    assert df > 4
    # ||row||^2 = (df-2)/(df dim) sum t_j^2, E t^4 = 3 df^2 / ((df-2)(df-4))
    return (3.0 * (df - 2) / (df - 4) - 1.0) / dim


@pytest.mark.parametrize("spec", ["gaussian", "student_t:df=10", "student_t:df=30"])
@pytest.mark.parametrize("dim", [1, 3, 10])
def test_noise_unit_variance(spec, dim):
    """mean of ||row||^2 over N = 1e5 rows is within 5 standard errors of 1 (two-sided normal
    false-alarm rate 5.7e-7; the CLT applies: ||row||^2 has a finite 3rd moment for these
    models, Student-t needs df > 6)."""
    N = 100_000
    X = make_noise(spec).sample(np.random.default_rng(777 + dim), N, dim)
    m = np.einsum("ij,ij->i", X, X).mean()
    se = math.sqrt(_var_of_sq_norm(spec, dim) / N)
    assert abs(m - 1.0) <= 5 * se, (m, se)


@pytest.mark.parametrize("spec", ["bounded", "rademacher"])
@given(dim=st.integers(1, 12), seed=st.integers(0, 2**63))
@example(dim=1, seed=0)  # the dim == 1 branch below runs at least once
def test_bounded_models_have_unit_norm_rows(spec, dim, seed):
    noise = make_noise(spec)
    assert noise.bounded and noise.bound == 1.0
    X = noise.sample(np.random.default_rng(seed), 200, dim)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=0, atol=1e-14)
    if spec == "rademacher":
        assert set(np.unique(np.abs(X))) <= {1.0 / math.sqrt(dim)}
    if dim == 1:
        assert set(np.unique(X)) <= {-1.0, 1.0}


def test_bounded_noise_is_uniform_on_sphere_enough():
    """Coordinates of a uniform point on S^{d-1}: E x_j^2 = 1/d, and the signs are balanced.
    4 coordinates x 1e5 rows: 5-sigma bounds (normal false-alarm rate <= 4 * 5.7e-7)."""
    N, d = 100_000, 4
    X = make_noise("bounded").sample(np.random.default_rng(99), N, d)
    sq = (X**2).mean(axis=0)
    # Var(x_j^2) for uniform on S^{d-1}: E x^4 - 1/d^2 = 3/(d(d+2)) - 1/d^2
    se = math.sqrt((3 / (d * (d + 2)) - 1 / d**2) / N)
    assert np.all(np.abs(sq - 1 / d) <= 5 * se)


def test_noise_models_match_their_definitions_exactly():
    """The scaling constants (hence the exact unit variance) are those of the definitions."""
    dim, n = 3, 50
    for seed in range(3):
        g = make_noise("gaussian").sample(np.random.default_rng(seed), n, dim)
        ref = np.random.default_rng(seed).standard_normal((n, dim)) / math.sqrt(dim)
        np.testing.assert_allclose(g, ref, rtol=5e-16, atol=0)  # x * (1/sqrt(d)) vs x / sqrt(d)
        for df in (2.5, 3.0, 10.0):
            t = StudentTNoise(df).sample(np.random.default_rng(seed), n, dim)
            ref = np.random.default_rng(seed).standard_t(df, (n, dim)) * math.sqrt((df - 2) / df) / math.sqrt(dim)
            np.testing.assert_allclose(t, ref, rtol=1e-15, atol=0)
        b = make_noise("bounded").sample(np.random.default_rng(seed), n, dim)
        z = np.random.default_rng(seed).standard_normal((n, dim))
        np.testing.assert_allclose(b, z / np.linalg.norm(z, axis=1, keepdims=True), rtol=1e-15, atol=1e-16)
        r = make_noise("rademacher").sample(np.random.default_rng(seed), n, dim)
        u = np.random.default_rng(seed).random((n, dim))
        np.testing.assert_array_equal(r, np.where(u < 0.5, -1.0, 1.0) / math.sqrt(dim))


@pytest.mark.parametrize("spec", NOISE_SPECS)
def test_noise_describe(spec):
    noise = make_noise(spec)
    d = noise.describe()
    json.dumps(d, allow_nan=False)
    assert d["name"] in NOISES and d["variance"] == 1.0 and d["variance_exact"] is True
    assert make_noise(d["spec"]).describe() == d

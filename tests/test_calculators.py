"""Numeric calculators: hand-computed values, properties (Hypothesis), vectorisation, bad input."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify.search import strategies as vst

# ------------------------------------------------------------------------------------------
# strategies: parameters in safe ranges (no overflow of eps^-4 etc.)
pos = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)
small_eps = st.floats(1e-3, 10.0)
sigmas = st.floats(0.0, 100.0)
taus = st.floats(0.0, 1e4)
UPPER = [r for r in theory.ids() if theory.get(r).kind.value == "upper"]
ITER = [r for r in theory.ids() if theory.get(r).kind.value != "count"]


def params_for(rid, beta, F, sigma, eps, tau_a, tau_m, q=0.5, tau_q=3.0, tau_C=4.0):
    p = dict(beta=beta, F=F, sigma=sigma, eps=eps, tau_avg=tau_a, tau_max=tau_m, q=q, tau_q=tau_q, tau_C=tau_C)
    return {k: p[k] for k in theory.get(rid).parameters}


# ------------------------------------------------------------------------------------------
# hand-computed values (by hand, in the comments; not by the code under test)
def test_hand_values_theorem_d():
    # beta F/eps^2 = 2*3/0.25 = 24; sigma = 0: T = 2048*24 + 8960*1*24 = 49152 + 215040
    assert theory.iterations("picky-explicit", beta=2.0, F=3.0, sigma=0.0, eps=0.5, tau_avg=1.0) == pytest.approx(264192, rel=1e-12)
    # sigma = 1: + 128 * beta F sigma^2/eps^4 = 128 * 6 * 16 = 12288
    assert theory.iterations("picky-explicit", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_avg=1.0) == pytest.approx(276480, rel=1e-12)
    # D': max(512*24 + 12288, 8960*24) = max(24576, 215040)
    assert theory.iterations("picky-explicit-sharp", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_avg=1.0) == pytest.approx(215040, rel=1e-12)
    # eta = 1/(beta max(9, 4 sigma^2/eps^2, 16 sigma/eps)) = 1/(2 max(9, 16, 32)) = 1/64
    assert theory.step_size("picky-explicit", beta=2.0, sigma=1.0, eps=0.5) == pytest.approx(1 / 64, rel=1e-14)
    assert theory.step_size("picky-explicit", beta=2.0, sigma=0.0, eps=0.5) == pytest.approx(1 / 18, rel=1e-14)
    assert theory.threshold("picky-explicit", beta=2.0, eps=0.5) == pytest.approx(0.125, rel=1e-14)


def test_hand_values_rates():
    # picky, C = 1: beta F (sigma^2/eps^4 + (1+tau)/eps^2) = 6 (16 + 2*4) = 144
    assert theory.iterations("picky", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_avg=1.0) == pytest.approx(144)
    assert theory.iterations("picky", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_avg=1.0, C=10) == pytest.approx(1440)
    # sgd: 4 * 24 + 32 * 6 * 16 = 96 + 3072
    assert theory.iterations("sgd", beta=2.0, F=3.0, sigma=1.0, eps=0.5) == pytest.approx(3168)
    # delayed sgd, tau_max = 9: 6 (16 + 10 * 4) = 336
    assert theory.iterations("delayed-sgd", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_max=9.0) == pytest.approx(336)
    # quantile q = 1/2, tau_q = 3: 6 (16/0.5 + 4*4/0.5) = 6 * 64 = 384
    assert theory.iterations("quantile", beta=2.0, F=3.0, sigma=1.0, eps=0.5, q=0.5, tau_q=3.0) == pytest.approx(384)
    # ksj: 6 (16 + (1 + sqrt(4*9)) * 4) = 6 * 44
    assert theory.iterations("ksj-constant", beta=2.0, F=3.0, sigma=1.0, eps=0.5, tau_C=4.0, tau_max=9.0) == pytest.approx(264)


def test_restarts_exact():
    for num, den in [(1, 2), (1, 4), (1, 8), (1, 1024), (3, 10), (1, 3), (1, 100), (999, 1000), (1, 10**9)]:
        d = Fraction(num, den)
        k = 0
        while Fraction(1, 2**k) > d:
            k += 1
        assert theory.restarts(num / den) == k, (num, den)
    assert list(theory.restarts(np.array([0.5, 0.25, 0.3, 0.125, 1e-6]))) == [1, 2, 2, 3, 20]


def test_stability_threshold_against_characteristic_roots():
    # x_{t+1} = x_t - a x_{t-tau}: characteristic polynomial z^{tau+1} - z^tau + a (independent check with np.roots)
    for tau in range(0, 25):
        a_star = theory.stability_threshold(tau)
        for a, stable in ((a_star * (1 - 1e-6), True), (a_star * (1 + 1e-6), False)):
            coeffs = np.zeros(tau + 2)
            coeffs[0], coeffs[1], coeffs[-1] = 1.0, -1.0, a
            if tau == 0:
                coeffs = np.array([1.0, -1.0 + a])
            rho = np.abs(np.roots(coeffs)).max()
            assert (rho < 1) == stable, (tau, a, rho)
    # paper.md §8.2: eta = 1/(9 beta) is stable up to tau = 13 and unstable from tau = 14
    assert theory.max_stable_delay(1 / 9, 1.0) == 13
    assert theory.max_stable_delay(2.5, 1.0) is None


@settings(max_examples=20)
@given(d=vst.causal_delays(T=3000, max_delay=59))
def test_first_horizon_brute_force(d):
    kw = dict(beta=1.0, F=0.01, sigma=0.0, eps=1.0)
    T = d.size
    for res in ("picky-explicit", "picky-explicit-sharp"):
        got = theory.first_horizon(d, result=res, **kw)
        want = None
        for t in range(1, T + 1):
            if theory.condition_holds(res, T=float(t), sum_delays=float(d[:t].sum()), **kw):
                want = t
                break
        assert got == want


def test_first_horizon_hand_values():
    """Theorem D' by hand, in integers: beta = 1, F = 1/2, eps = 1/2, sigma = 0 -> T >= 512 beta F/eps^2 =
    1024 and S_T = sum d_t <= eps^2 T^2/(8960 beta F), i.e. 17920 S_T <= T^2. Theorem D: T >= 2048 beta
    F/eps^2 + 8960 beta F (S_T/T)/eps^2, i.e. T^2 >= 4096 T + 17920 S_T. Constant delay 5: S_T = 5T - 15."""
    kw = dict(beta=1.0, F=0.5, sigma=0.0, eps=0.5)
    d = np.minimum(np.arange(100_000), 5)
    S = np.cumsum(d)
    sharp = next(t for t in range(1, d.size + 1) if t >= 1024 and 17920 * int(S[t - 1]) <= t * t)
    plain = next(t for t in range(1, d.size + 1) if t * t >= 4096 * t + 17920 * int(S[t - 1]))
    # closed forms: T^2 - 89600 T + 268800 >= 0 -> T >= 89596.99..; T^2 - 93696 T + 268800 >= 0 -> T >= 93693.13..
    assert (sharp, plain) == (89597, 93694)
    assert theory.first_horizon(d, result="picky-explicit-sharp", **kw) == sharp
    assert theory.first_horizon(d, result="picky-explicit", **kw) == plain
    # no delays: the first term alone
    assert theory.first_horizon(np.zeros(2000, dtype=np.int64), result="picky-explicit-sharp", **kw) == 1024


def test_first_horizon_never_met_and_bad_delays():
    kw = dict(beta=1.0, F=0.01, sigma=0.0, eps=1.0)
    # d_t = t - 1: sum grows like T^2/2 > eps^2 T^2/(8960 beta F): never met
    assert theory.first_horizon(np.arange(5000), **kw) is None
    with pytest.raises(theory.DelaySequenceError, match=r"\[3\]"):
        theory.first_horizon([0, 1, 1, 4], **kw)


# ------------------------------------------------------------------------------------------
# properties
@given(rid=st.sampled_from(ITER), beta=pos, F=pos, sigma=sigmas, eps=small_eps, ta=taus, extra=taus, f=st.floats(1.01, 10))
def test_monotone(rid, beta, F, sigma, eps, ta, extra, f):
    tm = ta + extra
    base = theory.iterations(rid, **params_for(rid, beta, F, sigma, eps, ta, tm))
    assert base > 0
    # decreasing in eps
    assert theory.iterations(rid, **params_for(rid, beta, F, sigma, eps * f, ta, tm)) < base
    # nondecreasing in sigma and in the delays
    assert theory.iterations(rid, **params_for(rid, beta, F, sigma * f + 0.1, eps, ta, tm)) >= base
    assert theory.iterations(rid, **params_for(rid, beta, F, sigma, eps, ta * f + 1, tm * f + 1, tau_q=3.0 * f, tau_C=4.0 * f)) >= base


@given(beta=pos, F=pos, sigma=sigmas, eps=small_eps, ta=taus, extra=taus, C=st.floats(0.01, 100))
def test_picky_never_worse_than_delayed_sgd_under_equal_constants(beta, F, sigma, eps, ta, extra, C):
    tm = ta + extra
    p = theory.iterations("picky", beta=beta, F=F, sigma=sigma, eps=eps, tau_avg=ta, C=C)
    d = theory.iterations("delayed-sgd", beta=beta, F=F, sigma=sigma, eps=eps, tau_max=tm, C=C)
    assert p <= d * (1 + 1e-12)
    # and the crossover with equal constants is tau_max = tau_avg
    x = theory.crossover_tau_max(beta=beta, F=F, sigma=sigma, eps=eps, tau_avg=ta, C_picky=C, C_baseline=C)
    assert x == pytest.approx(ta, rel=1e-9, abs=1e-9 * (1 + sigma**2 / eps**2))


def test_crossover_ratio_hand_value():
    # picky-explicit (sigma = 0) vs delayed-sgd with C = 1, beta F/eps^2 = 1:
    # 2048 + 8960 tau_a = 1 + tau_max  ->  tau_max = 2047 + 8960 * 2 = 19967, ratio 9983.5
    kw = dict(beta=1.0, F=0.01, sigma=0.0, eps=0.1, tau_avg=2.0)
    assert theory.crossover_tau_max(picky="picky-explicit", **kw) == pytest.approx(19967)
    assert theory.crossover_ratio(picky="picky-explicit", **kw) == pytest.approx(9983.5)
    with pytest.raises(ValueError, match="tau_avg > 0"):
        theory.crossover_ratio(**dict(kw, tau_avg=0.0))


@given(beta=pos, F=pos, sigma=sigmas, eps=small_eps, ta=taus, Cp=st.floats(0.1, 1e4))
def test_crossover_equalises_bounds(beta, F, sigma, eps, ta, Cp):
    x = theory.crossover_tau_max(beta=beta, F=F, sigma=sigma, eps=eps, tau_avg=ta, C_picky=Cp)
    p = theory.iterations("picky", beta=beta, F=F, sigma=sigma, eps=eps, tau_avg=ta, C=Cp)
    d = theory.iterations("delayed-sgd", beta=beta, F=F, sigma=sigma, eps=eps, tau_max=x)
    if x > 0:
        assert d == pytest.approx(p, rel=1e-9)
    else:
        assert p <= d * (1 + 1e-12)


@given(rid=st.sampled_from(ITER), beta=pos, F=pos, sigma=sigmas, eps=small_eps, ta=taus, extra=taus)
def test_inverse_is_an_inverse(rid, beta, F, sigma, eps, ta, extra):
    p = params_for(rid, beta, F, sigma, eps, ta, ta + extra)
    T = theory.iterations(rid, **p)
    q = {k: v for k, v in p.items() if k != "eps"}
    e = theory.accuracy(rid, T=T, **q)
    assert e == pytest.approx(eps, rel=1e-7)
    assert theory.iterations(rid, **dict(q, eps=e)) == pytest.approx(T, rel=1e-7)


@given(rid=st.sampled_from(ITER), beta=pos, F=pos, sigma=sigmas, eps=small_eps, ta=taus)
def test_squared_convention_is_substitution(rid, beta, F, sigma, eps, ta):
    p = params_for(rid, beta, F, sigma, eps, ta, ta)
    a = theory.iterations(rid, **p)
    b = theory.iterations(rid, convention="squared", **dict(p, eps=eps**2))
    assert b == pytest.approx(a, rel=1e-12)
    q = {k: v for k, v in p.items() if k != "eps"}
    assert theory.accuracy(rid, T=a, convention="squared", **q) == pytest.approx(eps**2, rel=1e-7)


@given(rid=st.sampled_from(ITER), n=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_vectorised_equals_scalar(rid, n, seed):
    rng = np.random.default_rng(seed)
    arrs = dict(
        beta=rng.uniform(0.1, 10, n), F=rng.uniform(0.1, 10, n), sigma=rng.uniform(0, 5, n),
        eps=rng.uniform(0.01, 1, n), tau_avg=rng.uniform(0, 100, n),
    )
    arrs["tau_max"] = arrs["tau_avg"] + rng.uniform(0, 100, n)
    p = params_for(rid, **{"beta": arrs["beta"], "F": arrs["F"], "sigma": arrs["sigma"], "eps": arrs["eps"], "tau_a": arrs["tau_avg"], "tau_m": arrs["tau_max"]})
    vec = theory.iterations(rid, **p)
    assert vec.shape == (n,)
    for i in range(n):
        pi = {k: (float(v[i]) if isinstance(v, np.ndarray) else v) for k, v in p.items()}
        assert vec[i] == pytest.approx(theory.iterations(rid, **pi), rel=1e-12)
    # broadcasting a scalar with an array
    out = theory.iterations("picky-explicit", beta=arrs["beta"], F=1.0, sigma=0.0, eps=0.1, tau_avg=1.0)
    assert out.shape == (n,)


# ------------------------------------------------------------------------------------------
# bad input
BAD = {
    "beta": [0.0, -1.0, math.nan, math.inf],
    "F": [0.0, -2.0, math.nan, math.inf],
    "sigma": [-0.1, math.nan, math.inf],
    "eps": [0.0, -1e-3, math.nan, math.inf],
    "tau_avg": [-1.0, math.nan, math.inf],
}


@given(name=st.sampled_from(sorted(BAD)), data=st.data())
def test_bad_input_names_parameter_value_and_range(name, data):
    bad = data.draw(st.sampled_from(BAD[name]))
    p = dict(beta=1.0, F=1.0, sigma=0.5, eps=0.1, tau_avg=2.0)
    p[name] = bad
    with pytest.raises(ValueError) as ei:
        theory.iterations("picky-explicit", **p)
    msg = str(ei.value)
    assert name in msg and repr(bad) in msg and ("inf)" in msg or "]" in msg)
    # the same inside an array, with its index
    p[name] = np.array([1.0, 1.0, bad])
    with pytest.raises(ValueError, match=rf"{name}.*index 2"):
        theory.iterations("picky-explicit", **p)


def test_other_bad_input():
    with pytest.raises(ValueError, match="convention"):
        theory.iterations("picky", beta=1.0, F=1.0, sigma=0.0, eps=0.1, tau_avg=1.0, convention="sq")
    with pytest.raises(ValueError, match="result id"):
        theory.iterations("nope", beta=1.0)
    with pytest.raises(ValueError, match="needs parameter tau_avg"):
        theory.iterations("picky", beta=1.0, F=1.0, sigma=0.0, eps=0.1)
    with pytest.raises(ValueError, match="unknown parameter 'tau'"):
        theory.iterations("picky", beta=1.0, F=1.0, sigma=0.0, eps=0.1, tau_avg=1.0, tau=3)
    with pytest.raises(ValueError, match="delta"):
        theory.restarts(1.0)
    with pytest.raises(ValueError, match="'beta'|beta must"):
        theory.iterations("picky", beta="1", F=1.0, sigma=0.0, eps=0.1, tau_avg=1.0)
    with pytest.raises(ValueError, match="tau_avg must be <= tau_max"):
        theory.compare(beta=1.0, F=1.0, eps=0.1, tau_avg=5.0, tau_max=2.0)
    with pytest.raises(ValueError, match="q and tau_q"):
        theory.compare(beta=1.0, F=1.0, eps=0.1, q=0.5)
    with pytest.raises(ValueError, match="tau must be a nonnegative integer"):
        theory.stability_threshold(-1)
    with pytest.raises(ValueError, match="counting bound"):
        theory.iterations("counting-lemma", breakpoints=1, sum_delays=1)


def test_compare_rows():
    rows = theory.compare(beta=2.0, F=3.0, eps=0.5, sigma=1.0, tau_avg=1.0, tau_max=9.0, delta=0.01)
    by = {r["id"]: r for r in rows}
    assert by["picky"]["iterations"] == pytest.approx(144)
    assert by["picky"]["restarts"] == 7 and by["picky"]["iterations_with_restarts"] == pytest.approx(7 * 144)
    assert by["sgd"]["restarts"] is None
    assert not by["quantile"]["applicable"] and by["quantile"]["missing"] == ["q", "tau_q"]
    assert by["delay-adaptive"]["delay_parameters"]["tau_C"].startswith("tau_avg")
    assert by["lower-bound"]["kind"] == "lower"
    # no result's bound is below the lower bound with equal constants (upper results)
    assert sum(r["kind"] == "upper" and r["applicable"] for r in rows) >= 5
    for r in rows:
        if r["kind"] == "upper" and r["applicable"]:
            assert r["iterations"] >= by["lower-bound"]["iterations"] * (1 - 1e-12)


def test_values_beyond_float64_warn_with_the_exact_value():
    """Issue 21: the calculators returned inf and 0 silently where the exact value lies beyond float64's
    range. Now the float (inf; 0.0) comes with a theory.RangeWarning holding the exact value. Hand values
    at beta = F = sigma = 1e308, eps = 1e-308: SGD's 32 beta F sigma^2/eps^4 = 3.2e2465; Theorem D's step
    eps^2/(4 beta sigma^2) = 2.5e-1541 and threshold eps/(2 beta) = 5e-617. Ordinary values do not warn."""
    import warnings

    big = dict(beta=1e308, F=1e308, sigma=1e308, eps=1e-308)
    with pytest.warns(theory.RangeWarning, match=r"iterations of 'sgd' = 3\.2e\+2465 overflows float64") as rec:
        assert theory.iterations("sgd", **big) == math.inf
    assert rec[0].message.exact == "3.2e+2465" and rec[0].message.returned == math.inf
    with pytest.warns(theory.RangeWarning, match=r"step_size of 'picky-explicit' = 2\.5e-1541 underflows"):
        assert theory.step_size("picky-explicit", beta=1e308, sigma=1e308, eps=1e-308) == 0.0
    with pytest.warns(theory.RangeWarning, match=r"threshold of 'picky-explicit' = 5\.0e-617 underflows"):
        assert theory.threshold("picky-explicit", beta=1e308, eps=1e-308) == 0.0
    # arrays: the first element out of range is named; 32/eps^4 at eps = 1e-90 is 3.2e361
    with pytest.warns(theory.RangeWarning, match=r"= 3\.2e\+361 overflows float64.* at index 1"):
        out = theory.iterations("sgd", beta=1.0, F=1.0, sigma=1.0, eps=np.array([0.5, 1e-90]))
    assert out[0] == 528.0 and out[1] == math.inf  # 4*4 + 32*16 = 528
    # accuracy that underflows: sigma = 0, eps = sqrt(4 beta F/T) = sqrt(4e-600/1e308) = 2e-454
    with pytest.warns(theory.RangeWarning, match=r"accuracy of 'sgd' = 2\.0e-454 underflows"):
        assert theory.accuracy("sgd", T=1e308, beta=1e-300, F=1e-300, sigma=0.0) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theory.iterations("sgd", beta=2.0, F=3.0, sigma=1.0, eps=0.5) == 4 * 6 / 0.25 + 32 * 6 / 0.0625
        assert theory.threshold("picky-explicit", beta=2.0, eps=1e-300) == 2.5e-301  # small but normal

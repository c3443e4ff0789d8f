"""The counting lemma (theory `counting-lemma`), exactly, on all small cases and on random ones.

N(B, d) = #{t : exists p in B with t - d_t <= p < t} satisfies N^2 + |B| N <= 2 |B| sum_t d_t; the
bursty pattern d_t = (t-1) mod (m+1) with one breakpoint per period attains it exactly.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory
from verify.search import strategies as vst


def straddlers(d: np.ndarray, bps: np.ndarray) -> int:
    """Direct count (independent of the package): steps t (1-indexed) whose window [t-d_t, t) holds a breakpoint."""
    t = np.arange(1, len(d) + 1)
    lo = t - d
    cnt = 0
    for ti, li in zip(t, lo):
        if np.any((bps >= li) & (bps < ti)):
            cnt += 1
    return cnt


def exact_bound(b: int, s: int) -> float:
    return theory.evaluate("counting-lemma", breakpoints=b, sum_delays=s)


def _all_sequences(T):
    return itertools.product(*[range(t) for t in range(1, T + 1)])


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5])
def test_exhaustive_small(T):
    worst = 0.0
    for d in _all_sequences(T):
        d = np.array(d)
        s = int(d.sum())
        for mask in range(1, 2**T):
            bps = np.array([i + 1 for i in range(T) if mask >> i & 1])
            n = straddlers(d, bps)
            b = len(bps)
            assert n * n + b * n <= 2 * b * s  # exact, in integers
            assert n <= exact_bound(b, s) + 1e-9
            assert n <= theory.evaluate("counting-lemma", "sqrt_form", breakpoints=b, sum_delays=s) + 1e-9
            if s:
                worst = max(worst, n * n / (2 * b * s))
    if T > 1:
        assert worst == pytest.approx((T - 1) / T)  # theorem-d-review.md §3


@pytest.mark.slow
def test_exhaustive_T7():
    for d in _all_sequences(7):
        d = np.array(d)
        s = int(d.sum())
        for mask in range(1, 2**7):
            bps = np.array([i + 1 for i in range(7) if mask >> i & 1])
            n = straddlers(d, bps)
            assert n * n + len(bps) * n <= 2 * len(bps) * s


@pytest.mark.parametrize("m,K", [(1, 5), (2, 4), (5, 6), (20, 3), (100, 2)])
def test_bursty_attains_exact_form(m, K):
    T = K * (m + 1)
    d = np.arange(T) % (m + 1)  # d_t = (t-1) mod (m+1), t = 1..T
    bps = np.arange(K) * (m + 1) + 1  # the shared stale step of each period
    n = straddlers(d, bps)
    s = int(d.sum())
    assert n == K * m and s == K * m * (m + 1) // 2
    assert exact_bound(K, s) == pytest.approx(n, rel=1e-12)
    ratio = n / theory.evaluate("counting-lemma", "sqrt_form", breakpoints=K, sum_delays=s)
    assert ratio == pytest.approx(np.sqrt(m / (m + 1)), rel=1e-12)


@given(
    d=vst.causal_delays(max_T=80, max_delay=50),
    data=st.data(),
)
def test_random_sequences(d, data):
    T = len(d)
    bps = np.array(sorted(data.draw(st.sets(st.integers(1, T), min_size=1, max_size=T))))
    n = straddlers(d, bps)
    b, s = len(bps), int(d.sum())
    assert n * n + b * n <= 2 * b * s
    assert n <= exact_bound(b, s) + 1e-9

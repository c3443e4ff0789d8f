"""theory.timing: the time statements against hand computations on a small fleet.

Fleet tau = (1, 1, 2, 10) seconds (given unsorted below to test the sort):
  H_1 = 1, H_2 = 2/(1+1) = 1, H_3 = 3/(1+1+1/2) = 6/5, H_4 = 4/(1+1+1/2+1/10) = 4/2.6 = 20/13.
With beta = F = eps = 1 (a = beta F/eps^2 = 1) and sigma = 2 (b = beta F sigma^2/eps^4 = 4):
  H_m (1 + 4/m) = 5, 3, (6/5)(7/3) = 14/5, (20/13)(2) = 40/13  ->  m* = 3, T_homog = 2.8;
  ASGD (m = n = 4): 40/13;  minibatch: tau_4 (1 + 4/4) = 20.
t(S) = 2 min_m H_m (1 + S/m) at S = 4: 2 min(5, 3, 14/5, 40/13) = 5.6.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import theory
from theory import timing

FLEET = [10, 1, 2, 1]
P = dict(beta=1.0, F=1.0, sigma=2.0, eps=1.0)


def test_harmonic_means_by_hand():
    assert theory.harmonic_means(FLEET) == pytest.approx([1.0, 1.0, 1.2, 20 / 13], rel=1e-15)


def test_t_homog_and_optimal_m_by_hand():
    assert theory.time("time-homog", worker_times=FLEET, **P) == pytest.approx(2.8, rel=1e-14)
    assert theory.optimal_workers("time-homog", worker_times=FLEET, **P) == 3
    # sigma = 1: H_m (1 + 1/m) = 2, 1.5, 1.6, 25/13 -> m* = 2; sigma = 0: m* = 1 (ties at H_1 = H_2 = 1 go to the smaller m)
    assert theory.time("time-homog", worker_times=FLEET, **dict(P, sigma=1.0)) == pytest.approx(1.5)
    assert theory.optimal_workers("time-homog", worker_times=FLEET, **dict(P, sigma=1.0)) == 2
    assert theory.optimal_workers("time-homog", worker_times=FLEET, **dict(P, sigma=0.0)) == 1
    # a fixed m
    assert theory.time("time-homog", worker_times=FLEET, workers=4, **P) == pytest.approx(40 / 13)


def test_asgd_minibatch_rennala_ringmaster_by_hand():
    assert theory.time("time-asgd", worker_times=FLEET, **P) == pytest.approx(40 / 13)
    assert theory.time("time-minibatch", worker_times=FLEET, **P) == pytest.approx(20.0)
    assert theory.time("time-rennala", worker_times=FLEET, **P) == pytest.approx(2.8)
    assert theory.time("time-ringmaster", worker_times=FLEET, **P) == pytest.approx(2.8)
    assert theory.time("time-asgd", worker_times=FLEET, C=3.0, **P) == pytest.approx(120 / 13)


def test_batch_time_and_ringmaster_time_by_hand():
    assert theory.batch_time(4, worker_times=FLEET) == pytest.approx(5.6)
    # S = 1: 2 min(1*2, 1*1.5, 1.2*(4/3), (20/13)(5/4)) = 2 * 1.5 = 3
    assert theory.batch_time(1, worker_times=FLEET) == pytest.approx(3.0)
    # T(K) <= ceil(K/R) t(R): K = 10, R = 4 -> 3 * 5.6
    assert theory.ringmaster_time(10, R=4, worker_times=FLEET) == pytest.approx(16.8)
    assert theory.ringmaster_time(8, R=4, worker_times=FLEET) == pytest.approx(11.2)


def test_batch_time_bounds_the_fixed_model_collection():
    """An independent simulation of the fixed model (every worker restarts at once): the time at
    which the fleet has delivered S gradients never exceeds t(S)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        times = rng.uniform(0.1, 5.0, n)
        S = int(rng.integers(1, 30))
        # completions of worker i at k * tau_i; the S-th smallest completion time
        k = np.arange(1, S + 1)
        done = np.sort((k[None, :] * times[:, None]).ravel())[S - 1]
        assert done <= theory.batch_time(S, worker_times=times) * (1 + 1e-12)


def test_picky_time_by_hand():
    # m = 1: K = ceil(max(512 + 128*4, 0)) = 1024 steps, time H_1 (K + 1)/1 = 1025
    # m = 2: K = max(1024, 8960*1) = 8960, time 1 * 8962/2 = 4481; m = 3, 4 larger
    assert theory.time("time-picky", worker_times=FLEET, **P) == pytest.approx(1025.0)
    assert theory.optimal_workers("time-picky", worker_times=FLEET, **P) == 1
    assert theory.time("time-picky", worker_times=FLEET, workers=2, **P) == pytest.approx(4481.0)
    assert theory.time_ratio(worker_times=FLEET, **P) == pytest.approx(1025.0 / 2.8)
    # at sigma = 100 the noise term dominates: m = 4, K = ceil(512 + 128e4) = 1280512, time (20/13)(K + 4)/4
    big = dict(P, sigma=100.0)
    # per m: H_m (ceil(max(512 + 1.28e6, 8960 (m-1))) + m)/m: m = 4 is the smallest
    want = min(h * (math.ceil(max(512 + 128e4, 8960 * (mm - 1))) + mm) / mm
               for mm, h in zip(range(1, 5), [1.0, 1.0, 1.2, 20 / 13]))
    assert want == pytest.approx((20 / 13) * (1280512 + 4) / 4)
    assert theory.time("time-picky", worker_times=FLEET, **big) == pytest.approx(want)


def test_picky_time_delay_fact_on_simulated_schedules():
    """The derivation's step 1: with m workers always busy, sum_{t<=T} d_t <= (m-1) T for every T
    (an independent event loop, fixed times with ties)."""
    import heapq

    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(1, 6))
        times = rng.integers(1, 4, n).astype(float)
        heap = [(times[i], i, 0) for i in range(n)]
        heapq.heapify(heap)
        total = 0
        for t in range(1, 200):
            now, i, issued = heapq.heappop(heap)
            total += (t - 1) - issued  # steps applied while it was in flight
            assert total <= (n - 1) * t
            heapq.heappush(heap, (now + times[i], i, t))


def test_broadcast_and_squared_convention():
    out = theory.time("time-homog", worker_times=FLEET, beta=1.0, F=1.0, sigma=np.array([0.0, 1.0, 2.0]), eps=1.0)
    assert out == pytest.approx([1.0, 1.5, 2.8])
    m = theory.optimal_workers("time-homog", worker_times=FLEET, beta=1.0, F=1.0, sigma=np.array([0.0, 1.0, 2.0]), eps=1.0)
    assert list(m) == [1, 2, 3]
    # squared: eps = 0.25 for ||grad f||^2 is eps = 0.5 in the norm convention
    a = theory.time("time-homog", worker_times=FLEET, beta=1.0, F=1.0, sigma=1.0, eps=0.25, convention="squared")
    b = theory.time("time-homog", worker_times=FLEET, beta=1.0, F=1.0, sigma=1.0, eps=0.5)
    assert a == b
    # norm eps = 0.5: a = 4, b = 16: H_m (4 + 16/m) = 20, 12, 1.2*(4 + 16/3) = 11.2, (20/13)(8) = 12.31 -> 11.2
    assert b == pytest.approx(11.2)


def test_parameters_labels_and_choices():
    r = timing.rennala_parameters(beta=1.0, sigma=2.0, eps=0.5)
    assert r["S"] == 16.0 and r["gamma"] == pytest.approx(0.5)  # min(1, 0.25*16/(2*4))
    assert timing.rennala_parameters(beta=2.0, sigma=0.0, eps=0.5)["gamma"] == pytest.approx(0.5)  # sigma = 0: 1/beta
    g = timing.ringmaster_parameters(beta=1.0, sigma=2.0, eps=0.5)
    assert g["R"] == 16.0 and g["gamma"] == pytest.approx(1 / 64) and g["status"] == "unconfirmed"  # min(1/32, 0.25/16)
    for st in theory.TIME_RESULTS.values():
        assert st.status.value in ("secondary", "derived")
        if st.status.value == "secondary":
            assert "SAME-AUTHOR RESTATEMENT" in st.provenance
        if st.id not in ("batch-time", "time-picky"):  # Theta/O forms: an explicit C, placeholder 1
            assert st.constant is not None and st.constant.default == 1.0 and st.constant.status.value == "unconfirmed"
    assert theory.get_time("time-picky").status.value == "derived"
    assert theory.get_time("time-picky").constant is None  # explicit, derived constants
    assert theory.get_time("batch-time").bound.has(sp.Integer(2))


def test_bad_input_one_line_errors():
    with pytest.raises(ValueError, match=r"worker_times\[1\] = -1"):
        theory.time("time-homog", worker_times=[1, -1], **P)
    with pytest.raises(ValueError, match="worker_times must be a nonempty"):
        theory.time("time-homog", worker_times=[], **P)
    with pytest.raises(ValueError, match="time result must be one of"):
        theory.time("nope", worker_times=[1], **P)
    with pytest.raises(ValueError, match="eps must be"):
        theory.time("time-homog", worker_times=[1], **dict(P, eps=0.0))
    with pytest.raises(ValueError, match="R must be an integer >= 1"):
        theory.ringmaster_time(10, R=0.5, worker_times=[1])
    with pytest.raises(ValueError, match="workers must be an integer in"):
        theory.time("time-homog", worker_times=[1, 2], workers=3, **P)
    with pytest.raises(ValueError, match="needs parameter sigma"):
        theory.time("time-homog", worker_times=[1, 2], beta=1.0, F=1.0, eps=1.0)


def test_async_arrival_bounds_by_hand():
    """Fleet 1,1,2,10: H_4 = 4/2.6 = 20/13. Arrivals at t = 1 (w0, w1), 2 (w0, w1, w2), 3 (w0, w1),
    4 (w0, w1, w2): the 10th arrives at 4, inside [10 H_4/4, H_4 (10 + 4)/4] = [50/13, 70/13]."""
    lo, hi = theory.async_arrival_bounds(10, worker_times=FLEET)
    assert lo == pytest.approx(50 / 13) and hi == pytest.approx(70 / 13)
    assert lo <= 4.0 <= hi
    with pytest.raises(ValueError, match="K must be"):
        theory.async_arrival_bounds(0, worker_times=FLEET)

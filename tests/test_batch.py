"""Batch methods (Rennala SGD, minibatch SGD): a hand-worked Rennala run, the literal reference loop ==
the compiled lane bit for bit (property), Rennala's round durations <= t(S) on fixed models (property)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify.algorithms.batch import BatchSchedule, Minibatch, Rennala, reference_batch_run, resolve_batch
from verify.engine import events
from verify.engine.batch import run_batch_lane
from verify.models import compute, problems
from verify.models.noise import make_noise


def _rennala(times: str, S: int, K: int, seed: int = 0) -> BatchSchedule:
    cm = compute.make(times)
    return BatchSchedule.from_events(events.simulate(cm, K, seed=seed, policy="rennala", B=S), "rennala", S)


def test_rennala_by_hand():
    """Fixed times (1, 2, 3), S = 2, quadratic diag(0.01, 1) from x_1 = (1, 1), gamma = 1/2, sigma = 0.
    Round 1 (start 0): w0 at 1 (task 0; restarts: task 3, done at 2), then at 2 w0 (task 3) and w1 (task 1)
    tie: index order, w0 first -> kept {0, 3}, step 1 at time 2; w1, w2 discarded. Round 2 (start 2, tasks
    4, 5, 6): w0 at 3 (task 4; restart task 7 done at 4), at 4 w0 (task 7) before w1 (task 5) -> {4, 7},
    step 2 at time 4. Round 3 alike: step 3 at time 6.
    Iterates: the average of two equal gradients is the gradient, so x_{k+1} = x_k - (1/2) (0.01 x, y):
    x_2 = (0.995, 0.5), x_3 = (0.990025, 0.25), x_4 = (0.985074875, 0.125); ||grad f(x_k)|| =
    sqrt((0.01 x)^2 + y^2) = 1.00005.., 0.50010.., 0.25019.. -> with eps = 0.3 the first hit is x_3, made by
    step 2, at 4 seconds."""
    sched = _rennala("fixed:times=1;2;3", 2, 3)
    assert sched.tasks.tolist() == [[0, 3], [4, 7], [8, 11]]
    assert sched.time.tolist() == [2.0, 4.0, 6.0]
    prob = problems.make("quadratic", 2)
    assert prob.x1.tolist() == [1.0, 1.0] and prob.grad(prob.x1).tolist() == [0.01, 1.0]
    alg = Rennala.resolve(beta=prob.beta, F=prob.F, eps=0.3, sigma=0.0, n=3, gamma=0.5, S=2)
    for run in (reference_batch_run, run_batch_lane):
        r = run(prob, sched, alg, seed=0, trace_every=1)
        x4 = (0.985074875, 0.125)
        assert r.first_hit == 3 and r.steps_run == 3
        assert r.trace_grad_norm.tolist() == pytest.approx(
            [math.hypot(0.01, 1.0), math.hypot(0.00995, 0.5), math.hypot(0.00990025, 0.25)], rel=1e-14)
        assert r.final_f == pytest.approx(0.5 * (0.01 * x4[0] ** 2 + x4[1] ** 2), rel=1e-14)
        assert r.delays.wall_clock.tolist() == [2.0, 4.0, 6.0]
        from verify.runtime.simulation import seconds_to_hit
        assert seconds_to_hit(r) == 4.0


def test_rennala_noise_is_the_kept_tasks_rows():
    """sigma > 0: step 1 moves by gamma (grad f(x_1) + sigma (z_0 + z_3)/2), z_j = task j's row; the
    discarded tasks 1, 2 play no part."""
    sched = _rennala("fixed:times=1;2;3", 2, 1)
    prob = problems.make("quadratic", 2)
    noise = make_noise("gaussian")
    alg = Rennala.resolve(beta=prob.beta, F=prob.F, eps=1e-9, sigma=0.7, n=3, gamma=0.5, S=2)
    z = noise.task_rows(5, [0, 3], 2)
    x2 = prob.x1 - 0.5 * (prob.grad(prob.x1) + 0.7 * (z[0] + z[1]) / 2)
    want = 0.5 * (0.01 * x2[0] ** 2 + x2[1] ** 2)
    for run in (reference_batch_run, run_batch_lane):
        assert run(prob, sched, alg, seed=5, noise=noise).final_f == pytest.approx(want, rel=1e-13)


def test_minibatch_schedule_and_defaults():
    """All n workers per round: tasks are the round's n starts, a round lasts the slowest worker's time;
    m = 2 fastest of (1, 1, 2, 10): rounds of 1 second. gamma = Rennala's rule at S = m (a labelled choice)."""
    cm = compute.make("fixed:times=1;1;2;10")
    s = BatchSchedule.from_events(events.simulate(cm, 3, policy="minibatch"), "minibatch", 4)
    assert s.tasks.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] and s.time.tolist() == [10.0, 20.0, 30.0]
    s2 = BatchSchedule.from_events(events.simulate(cm, 2, policy="minibatch", m=2), "minibatch", 2)
    assert s2.time.tolist() == [1.0, 2.0]
    a = Minibatch.resolve(beta=2.0, F=1.0, eps=0.5, sigma=1.0, n=4)
    assert a.m == 4 and a.gamma == pytest.approx(1 / (2 * max(1, 2 * 1.0 / (0.25 * 4))))  # = 1/4
    assert Minibatch.resolve(beta=2.0, F=1.0, eps=0.5, sigma=1.0, n=4, m=3).gamma == pytest.approx(0.1875)
    with pytest.raises(ValueError, match="parameter 'm' of algorithm 'minibatch' must be an integer in \\[1, 4\\]"):
        Minibatch.resolve(beta=2.0, F=1.0, eps=0.5, sigma=1.0, n=4, m=5)


def test_rennala_defaults_from_theory():
    """S = max{1, ceil(sigma^2/eps^2)}, gamma = min{1/beta, eps^2 S/(2 beta sigma^2)}: sigma 1, eps 0.5 ->
    S = 4, gamma = min{1/2, 0.25*4/(2*2*1)} = 1/4; sigma = 0 -> S = 1, gamma = 1/beta."""
    a = resolve_batch("rennala", beta=2.0, F=1.0, eps=0.5, sigma=1.0, n=3)
    assert (a.S, a.gamma) == (4, pytest.approx(0.25))
    b = resolve_batch("rennala", beta=2.0, F=1.0, eps=0.5, sigma=0.0, n=3)
    assert (b.S, b.gamma) == (1, pytest.approx(0.5))
    with pytest.raises(ValueError, match="do not apply to algorithm 'rennala'"):
        resolve_batch("rennala", beta=2.0, F=1.0, eps=0.5, sigma=0.0, n=3, rho=1.0)


def _bits(a):
    a = np.asarray(a, dtype=np.float64)
    return a.view(np.int64).tolist()


_FIELDS = ("steps_run", "first_hit", "min_grad_norm_step", "diverged", "diverged_step")
_FLOATS = ("min_grad_norm", "final_grad_norm", "final_f")


@settings(max_examples=25, deadline=None)
@given(times=st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 7.0]), min_size=1, max_size=5),
       random=st.booleans(), S=st.integers(1, 7), K=st.integers(1, 40), seed=st.integers(0, 2**40),
       sigma=st.floats(0.01, 3.0), policy=st.sampled_from(["rennala", "minibatch"]), dim=st.integers(1, 6),
       te=st.sampled_from([None, 1, 3]))
def test_reference_equals_compiled_bit_for_bit(times, random, S, K, seed, sigma, policy, dim, te):
    spec = ("random:times=" if random else "fixed:times=") + ";".join(map(str, times))
    cm = compute.make(spec)
    prob = problems.make("logsum", dim)
    if policy == "rennala":
        alg = Rennala.resolve(beta=prob.beta, F=prob.F, eps=0.05, sigma=sigma, n=cm.n, S=S)
        raw = events.simulate(cm, K, seed=seed % 1000, policy="rennala", B=S)
    else:
        alg = Minibatch.resolve(beta=prob.beta, F=prob.F, eps=0.05, sigma=sigma, n=cm.n, m=min(S, cm.n))
        raw = events.simulate(cm, K, seed=seed % 1000, policy="minibatch", m=alg.m)
    sched = BatchSchedule.from_events(raw, policy, alg.batch)
    assert sched.steps == K
    a = reference_batch_run(prob, sched, alg, seed=seed, trace_every=te)
    b = run_batch_lane(prob, sched, alg, seed=seed, trace_every=te)
    assert a.engine == "reference" and b.engine == "numba"
    for f in _FIELDS:
        assert getattr(a, f) == getattr(b, f), f
    for f in _FLOATS:
        assert _bits([getattr(a, f)]) == _bits([getattr(b, f)]), f
    if te:
        assert a.trace_steps.tolist() == b.trace_steps.tolist()
        assert _bits(a.trace_grad_norm) == _bits(b.trace_grad_norm) and _bits(a.trace_f) == _bits(b.trace_f)


@settings(max_examples=60, deadline=None)
@given(times=st.lists(st.floats(0.05, 20.0), min_size=1, max_size=8), S=st.integers(1, 30), K=st.integers(1, 15))
def test_rennala_round_durations_within_batch_time(times, S, K):
    """On a fixed model every round collects S gradients within t(S) = 2 min_m H_m (1 + S/m) seconds
    (theory.timing.batch_time), whatever the start time."""
    spec = "fixed:times=" + ";".join(repr(t) for t in times)
    sched = _rennala(spec, S, K)
    durations = np.diff(np.concatenate([[0.0], sched.time]))
    bound = theory.batch_time(S, worker_times=times)
    assert durations.min() > 0
    assert durations.max() <= bound, (durations.max(), bound)


def test_divergence_flagged_alike():
    """A step far too large: both loops stop at the same step with the same reason (||x_k - x_1|| > radius)."""
    sched = _rennala("fixed:times=1;2;3", 2, 200)
    prob = problems.make("quadratic", 2)
    alg = Rennala.resolve(beta=prob.beta, F=prob.F, eps=1e-9, sigma=0.5, n=3, gamma=50.0, S=2)
    a = reference_batch_run(prob, sched, alg, seed=2)
    b = run_batch_lane(prob, sched, alg, seed=2)
    assert a.diverged and b.diverged and a.diverged_step == b.diverged_step and a.divergence_reason == b.divergence_reason
    # x_{k+1} = (1 - 50) x_k along the top eigenvector: |x_k| = 49^(k-1), past 1e12 (1 + sqrt 2) from k = 9 on
    assert a.diverged_step == 9 and a.steps_run == 8


def test_a_round_waiting_for_an_infinite_computation_ends_the_schedule():
    """A minibatch round whose slowest computation never finishes (time inf: a log-Cauchy draw that
    overflows) and every round after it are not server steps: the schedule stops before it."""
    from types import SimpleNamespace

    from verify.algorithms.batch import BatchSchedule

    raw = SimpleNamespace(time=np.array([1.0, 2.0, np.inf, np.inf]), task=np.array([0, 3, 6, 9]))
    s = BatchSchedule.from_events(raw, "minibatch", 3)
    assert s.time.tolist() == [1.0, 2.0] and s.tasks.tolist() == [[0, 1, 2], [3, 4, 5]]
    raw = SimpleNamespace(time=np.array([1.0, 1.5, 2.0, np.inf, 3.0, 4.0]), task=np.arange(6))
    s = BatchSchedule.from_events(raw, "rennala", 2)  # rounds end at the 2nd, 4th, 6th kept arrival
    assert s.time.tolist() == [1.5] and s.tasks.tolist() == [[0, 1]]

"""The event simulation: hand-worked schedules (with ties) and compiled == literal reference, bit for bit."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.engine import events
from verify.engine import events_reference as ref
from verify.models import compute, delays


def _arrays(s):
    return (s.time.tolist(), s.worker.tolist(), s.task.tolist(), s.read.tolist(), s.delays.tolist())


def test_asgd_schedule_by_hand_with_ties():
    """Fixed times (1, 1, 2), T = 8. At t = 1 workers 0 and 1 finish together (index order: 0 first);
    at t = 2 workers 0, 1, 2 finish together. Worked by hand:
    step  time  worker  task  read  delay
      1    1      0      0     1     0     w0 restarts at x_2 (task 3, done at 2)
      2    1      1      1     1     1     w1 restarts at x_3 (task 4, done at 2)
      3    2      0      3     2     1     w0 -> x_4 (task 5, 3)
      4    2      1      4     3     1     w1 -> x_5 (task 6, 3)
      5    2      2      2     1     4     w2 -> x_6 (task 7, 4)
      6    3      0      5     4     2     w0 -> x_7 (task 8, 4)
      7    3      1      6     5     2     w1 -> x_8 (task 9, 4)
      8    4      0      8     7     1
    """
    cm = compute.make("fixed:times=1;1;2")
    want = ([1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0], [0, 1, 0, 1, 2, 0, 1, 0], [0, 1, 3, 4, 2, 5, 6, 8],
            [1, 1, 2, 3, 1, 4, 5, 7], [0, 1, 1, 1, 4, 2, 2, 1])
    z = cm.draws(None, 3 + 8 - 1)
    assert _arrays(ref.asynchronous(cm, 8, z)) == want
    s = events.simulate(cm, 8)
    assert _arrays(s) == want and s.starts == 10 and s.dropped_task.size == 0
    seq = events.delay_sequence(s, "fixed", cm.params, None)
    assert seq.delays.tolist() == want[4] and seq.wall_clock.tolist() == want[0] and seq.tasks.tolist() == want[2]


def test_ringmaster_by_hand():
    """Same fleet, R = 2, T = 5. Without stops: at time 2 worker 2's gradient (read x_1, k = 5) has
    delay 4 >= 2 and is ignored. With stops: worker 2 is cancelled at time 1 (after step 2, k = 3,
    3 - 1 >= 2) and restarted at x_3 (done at 3), cancelled again at time 2 (after step 4, 5 - 3 >= 2)."""
    cm = compute.make("fixed:times=1;1;2")
    a = events.simulate(cm, 5, policy="ringmaster", R=2)
    assert _arrays(a)[:4] == ([1.0, 1.0, 2.0, 2.0, 3.0], [0, 1, 0, 1, 0], [0, 1, 3, 4, 5], [1, 1, 2, 3, 4])
    assert (a.dropped_task.tolist(), a.dropped_worker.tolist(), a.dropped_time.tolist(), a.starts) == ([2], [2], [2.0], 8)
    b = events.simulate(cm, 5, policy="ringmaster-stops", R=2)
    assert _arrays(b)[:4] == ([1.0, 1.0, 2.0, 2.0, 3.0], [0, 1, 0, 1, 0], [0, 1, 3, 4, 6], [1, 1, 2, 3, 4])
    assert (b.dropped_task.tolist(), b.dropped_worker.tolist(), b.dropped_time.tolist(), b.starts) == ([2, 5], [2, 2], [1.0, 2.0], 9)
    assert b.delays.max() <= 1 and a.delays.max() <= 1


def test_minibatch_by_hand():
    cm = compute.make("fixed:times=1;1;2;10")
    s = events.simulate(cm, 3, policy="minibatch")
    assert (s.time.tolist(), s.worker.tolist(), s.task.tolist(), s.delays.tolist()) == ([10.0, 20.0, 30.0], [3, 3, 3], [0, 4, 8], [0, 0, 0])
    s = events.simulate(cm, 3, policy="minibatch", m=3)
    assert (s.time.tolist(), s.worker.tolist(), s.task.tolist(), s.starts) == ([2.0, 4.0, 6.0], [2, 2, 2], [0, 3, 6], 9)


def test_workers_delay_model_equals_the_compiled_async_schedule():
    for spec, T, seed in (("workers:n=5,dist=pareto,alpha=1.7,spread=20", 3000, 4), ("workers:n=3,dist=constant", 50, 0)):
        d = delays.make(spec, T, seed=seed)
        name, p = delays.parse_spec(spec)
        cm = compute.scaled_workers(p["n"], p["dist"], float(p.get("spread", 1.0)), float(p.get("alpha", 2.5)))
        s = events.simulate(cm, T, seed=seed)
        assert np.array_equal(d.delays, s.delays) and np.array_equal(d.wall_clock, s.time)


_SPECS = st.one_of(
    st.lists(st.integers(1, 4), min_size=1, max_size=8).map(lambda t: "fixed:times=" + ";".join(map(str, t))),
    st.tuples(st.integers(1, 8), st.sampled_from(["exponential", "pareto", "lognormal", "logcauchy"])).map(
        lambda a: f"random:n={a[0]},law=sqrt,eta={a[1]}"),
    st.tuples(st.integers(1, 6), st.sampled_from([0.25, 0.5, 1.0]), st.sampled_from([1.0, 3.0, 7.5])).map(
        lambda a: f"universal:n={a[0]},law=linear,period={a[2]},duty={a[1]},factor=4"),
    st.tuples(st.integers(1, 5), st.floats(0.0, 3.0), st.floats(0.5, 4.0)).map(
        lambda a: f"universal:n={a[0]},law=const,outage_worker={a[0] - 1},outage_start={a[1]},outage_end={a[1] + a[2]}"),
)


@settings(max_examples=150, deadline=None)
@given(spec=_SPECS, T=st.integers(1, 60), policy=st.sampled_from(["async", "ringmaster", "ringmaster-stops", "minibatch"]),
       R=st.integers(1, 5), seed=st.integers(0, 2**32), m=st.integers(1, 8))
def test_compiled_equals_reference(spec, T, policy, R, seed, m):
    cm = compute.make(spec)
    m = min(m, cm.n) if policy == "minibatch" else None
    z = cm.draws(np.random.default_rng(seed), (cm.n + 1) * (T + 1) * 3)  # enough for every policy here
    if policy == "async":
        want = ref.asynchronous(cm, T, z)
    elif policy == "minibatch":
        want = ref.minibatch(cm, T, z, m)
    else:
        want = ref.ringmaster(cm, T, z, R, stops=policy == "ringmaster-stops")
    got = events.run_policy(cm, T, z, policy, R, m)
    assert got is not None and got.equal(want)
    if policy.startswith("ringmaster"):
        assert got.delays.max() <= R - 1
    # and simulate() (drawing more when needed) gives what the reference gives on its own draws
    s = events.simulate(cm, T, seed=seed, policy=policy, R=R if policy.startswith("ringmaster") else None, m=m)
    assert s.time.size == T and np.all(np.diff(s.time) >= 0)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 40), seed=st.integers(0, 1000))
def test_trace_model_compiled_equals_reference(tmp_path_factory, T, seed):
    rng = np.random.default_rng(seed)
    steps = [{"worker": f"w{int(w)}", "compute_s": float(c)} for w, c in zip(rng.integers(0, 3, 12), rng.uniform(0.1, 2, 12))]
    d = tmp_path_factory.mktemp("trace")
    (d / "async.json").write_text(json.dumps({"steps_detail": steps}))
    cm = compute.make(f'trace:path="{d}"')
    z = np.ones(cm.n + T)
    for policy, R in (("async", 1), ("ringmaster-stops", 2)):
        want = ref.asynchronous(cm, T, z) if policy == "async" else ref.ringmaster(cm, T, np.ones(10 * (cm.n + T)), R, True)
        got = events.run_policy(cm, T, z if policy == "async" else np.ones(10 * (cm.n + T)), policy, R)
        assert got.equal(want)


def test_simulate_draws_more_when_cancellations_need_them():
    cm = compute.make("random:n=6,law=linear,eta=exponential")
    s = events.simulate(cm, 200, seed=3, policy="ringmaster-stops", R=1)  # R = 1: every other computation is cancelled
    assert s.starts > cm.n + 2 * 200  # more than the first batch of draws
    z = cm.draws(np.random.default_rng(3), s.starts)
    assert ref.ringmaster(cm, 200, z, 1, True).equal(s)


def test_cancellations_beyond_the_buffer_on_models_without_draws():
    """A universal model reads no draw, yet its starts (hence its cancelled rows) are bounded by the
    draws' length, and the buffers are that long: ringmaster-stops on an outage cancels far more than
    n + 2T computations (the first buffer); the compiled schedule still equals the reference (it used
    to write past the buffer: a heap corruption)."""
    cm = compute.make("universal:n=16,law=sqrt,outage_worker=0,outage_start=2,outage_end=20")
    T = 2000
    got = events.simulate(cm, T, policy="ringmaster-stops", R=4)
    assert got.dropped_task.size > cm.n + 2 * T
    want = ref.ringmaster(cm, T, np.ones(got.starts), 4, True)
    assert got.equal(want)


@pytest.mark.parametrize("kw,words", [
    (dict(policy="nope"), "policy must be one of"),
    (dict(policy="ringmaster"), "needs the delay threshold R"),
    (dict(policy="ringmaster", R=0), "R must be a positive integer"),
    (dict(policy="async", R=3), "R (the delay threshold) only applies"),
    (dict(policy="minibatch", m=5), "m must be an integer in [1, 4]"),
    (dict(policy="rennala"), "needs the batch B"),
    (dict(policy="rennala", B=0), "B must be a positive integer"),
    (dict(policy="async", B=2), "B (gradients per round) only applies"),
])
def test_bad_arguments(kw, words):
    with pytest.raises(ValueError) as exc:
        events.simulate(compute.make("fixed:times=1;1;2;10"), 5, **kw)
    assert words in str(exc.value)


def test_rennala_by_hand():
    """Fleet (1, 1, 2), B = 3 gradients per round. Round 1 (start 0): w0 and w1 at 1 (tasks 0, 1; they
    restart as tasks 3, 4), then at 2: w0 (task 3) is the third -> the round ends at 2; w1 (task 4) and
    w2 (task 2), also done at 2 but after the third in index order, are cancelled. Round 2 starts at 2
    (tasks 5, 6, 7): same pattern, ends at 4."""
    cm = compute.make("fixed:times=1;1;2")
    s = events.simulate(cm, 2, policy="rennala", B=3)
    assert (s.time.tolist(), s.worker.tolist(), s.task.tolist(), s.read.tolist()) == (
        [1.0, 1.0, 2.0, 3.0, 3.0, 4.0], [0, 1, 0, 0, 1, 0], [0, 1, 3, 5, 6, 8], [1, 1, 1, 2, 2, 2])
    assert (s.dropped_task.tolist(), s.dropped_worker.tolist(), s.dropped_time.tolist()) == ([4, 2, 9, 7], [1, 2, 1, 2],
                                                                                             [2.0, 2.0, 4.0, 4.0])
    assert ref.rennala(cm, 2, cm.draws(None, 40), 3).equal(s)


@settings(max_examples=120, deadline=None)
@given(times=st.lists(st.integers(1, 12), min_size=1, max_size=7), S=st.integers(1, 20), rounds=st.integers(1, 6),
       jitter=st.booleans())
def test_rennala_rounds_within_t_S_and_compiled_equals_reference(times, S, rounds, jitter):
    """The literal loop holds B = S + 1 gradients (while sum B_i <= S); on fixed models every round lasts
    at most t(S) = 2 min_m H_m (1 + S/m) (theory.batch_time). Compiled == reference on fixed and random."""
    import theory

    t = [x / 4 for x in times]
    spec = "fixed:times=" + ";".join(map(str, t)) if not jitter else "random:times=" + ";".join(map(str, t))
    cm = compute.make(spec)
    z = cm.draws(np.random.default_rng(S), (cm.n + S + 1) * rounds)
    want = ref.rennala(cm, rounds, z, S + 1)
    got = events.run_policy(cm, rounds, z, "rennala", S + 1)
    assert got is not None and got.equal(want)
    if not jitter:
        ends = np.concatenate([[0.0], got.time[S::S + 1]])
        assert ends.size == rounds + 1
        assert np.all(np.diff(ends) <= theory.batch_time(S, worker_times=t) * (1 + 1e-12))


def test_concurrency_function_by_hand():
    """verify.models.delays.concurrency, c_t = #{u >= t : u - d_u <= t}, on sequences worked out by hand."""
    assert delays.concurrency([0, 0, 0]) == (1, 1.0)  # plain SGD: one worker
    # d = 0,1,1,1: s_u = 1,1,2,3; in flight at t = 1..4: {1,2}, {2,3}, {3,4}, {4} -> 2,2,2,1
    assert delays.concurrency([0, 1, 1, 1]) == (2, 7 / 4)
    # a straggler: d = 0,0,0,0,4 (s_5 = 1): the straggler's gradient is in flight at every step -> 2,2,2,2,1
    assert delays.concurrency([0, 0, 0, 0, 4]) == (2, 9 / 5)
    for bad in ([1], [], [0, 2]):
        with pytest.raises(ValueError):
            delays.concurrency(bad)


def test_delay_adaptive_tau_c_default_is_the_worker_count():
    """KSJ 2022 Definition 1: n always-busy workers have concurrency n. The delay-adaptive default tau_C on
    the event simulation of 4 workers is 4 (the old default ceil(tau_avg) = ceil(2.978) was 3)."""
    from verify import algorithms

    seq = delays.make("workers:n=4", 500, seed=1)
    assert seq.stats().tau_avg < 3  # so ceil(tau_avg) would be 3: the test tells the two defaults apart
    da = algorithms.resolve("delay-adaptive", beta=1.0, F=1.0, eps=0.1, sigma=0.0, delays=seq)
    assert da.tau_C == 4 and da.eta == 1 / 16  # 1/(4 beta tau_C), sigma = 0
    assert algorithms.resolve("delay-adaptive", beta=1.0, F=1.0, eps=0.1, sigma=0.0, delays=seq, tau_C=2.5).tau_C == 2.5


def test_concurrency_by_hand():
    """constant:tau=2, T = 5: d = 0,1,2,2,2, read s_u = 1,1,1,2,3; in flight at t: #{u : s_u <= t <= u}
    = 3,3,3,2,1 (the last two undercount: their later arrivals are beyond T). The asynchronous schedule
    of 3 workers (hand-worked above) has 3 in flight at every step but the last ones."""
    assert delays.make("constant:tau=2", 5).concurrency() == (3, 2.4)
    s = events.simulate(compute.make("fixed:times=1;1;2"), 8)
    c = events.delay_sequence(s, "fixed", {}, None).concurrency()
    assert c[0] == 3
    # read = 1,1,2,3,1,4,5,7: in flight at t = 1..8 (u >= t with read_u <= t): 3,3,3,3,3,2,2,1 (from t = 6 on,
    # worker 2's computation read x_6 and arrives after step 8)
    assert c[1] == pytest.approx(20 / 8)

"""The batched engine reproduces the literal reference implementation, lane by lane.

Property-tested on randomly generated configurations (problem, algorithm, noise, delays shared or
per lane, tracing, early stopping): every field of the run record agrees (integers exactly, floats
to 1e-12 relative; in practice bit-for-bit)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import algorithms as A
from verify import delays as D
from verify import engine as E
from verify import problems as P

FLOAT_FIELDS = ("min_grad_norm", "min_f", "final_grad_norm", "final_f", "max_accepted_distance", "max_accepted_grad_gap")
INT_FIELDS = ("algorithm", "seed", "T", "steps_run", "first_hit", "min_grad_norm_step", "accepted", "rejected", "diverged", "diverged_step", "divergence_reason", "adaptive")


def close(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)


def assert_same_run(ref, eng):
    for f in INT_FIELDS:
        assert getattr(ref, f) == getattr(eng, f), f
    for f in FLOAT_FIELDS:
        assert close(getattr(ref, f), getattr(eng, f)), (f, getattr(ref, f), getattr(eng, f))
    assert np.array_equal(ref.rejected_steps, eng.rejected_steps)
    assert ref.config == eng.config and ref.problem == eng.problem and ref.noise == eng.noise
    assert ref.delay_stats == eng.delay_stats
    assert np.array_equal(ref.delays.delays, eng.delays.delays)
    if ref.trace_every:
        assert np.array_equal(ref.trace_steps, eng.trace_steps)
        assert np.allclose(ref.trace_grad_norm, eng.trace_grad_norm, rtol=1e-12, atol=0)
        assert np.allclose(ref.trace_f, eng.trace_f, rtol=1e-12, atol=0)
    assert eng.engine == "numpy" and ref.engine == "reference"


PROBLEMS = ["quadratic", "quadratic:spectrum=geometric,mu=0.01,rotate=true", "logsum", "logsum:width=0.5", "chain"]
NOISES = ["gaussian", "bounded", "rademacher", "student_t:df=3"]


@st.composite
def delay_seqs(draw, T):
    kind = draw(st.sampled_from(["random", "named"]))
    if kind == "random":
        raw = draw(st.lists(st.integers(0, 40), min_size=T, max_size=T))
        return D.from_trace(np.minimum(np.array(raw), np.arange(T)))
    spec = draw(st.sampled_from(["none", "constant:tau=3", "bursty:m=7", "straggler", "pareto", "bimodal:p=0.2,D=30", "workers:n=4"]))
    return D.make(spec, T, seed=draw(st.integers(0, 100)))


@st.composite
def configurations(draw):
    T = draw(st.integers(1, 250))
    dim = draw(st.integers(1, 6))
    prob = P.make(draw(st.sampled_from(PROBLEMS)), dim)
    noise = P.make_noise(draw(st.sampled_from(NOISES)))
    L = draw(st.integers(1, 4))
    per_lane = draw(st.booleans())
    seqs = [draw(delay_seqs(T)) for _ in range(L if per_lane else 1)]
    cfgs = []
    for lane in range(L):
        alg = draw(st.sampled_from(A.ALGORITHMS))
        sigma = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0]))
        eps = draw(st.sampled_from([0.01, 0.1, 0.5, 2.0]))
        kw = {}
        if draw(st.booleans()):
            kw["eta"] = draw(st.floats(1e-3, 2.0 / prob.beta))
        if alg == "picky" and draw(st.booleans()):
            kw["rho"] = draw(st.floats(1e-3, 10.0))
        if alg == "delay-adaptive":
            kw["rule"] = draw(st.sampled_from(["ksj", "mishchenko"]))
        cfgs.append(A.resolve(alg, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, delays=seqs[lane if per_lane else 0], **kw))
    seeds = draw(st.lists(st.integers(0, 2**31), min_size=L, max_size=L))
    trace_every = draw(st.sampled_from([None, 1, 7]))
    stop = draw(st.booleans())
    return prob, noise, seqs if per_lane else seqs[0], cfgs, seeds, T, trace_every, stop


def check_engine_equals_reference(c):
    prob, noise, seqs, cfgs, seeds, T, trace_every, stop = c
    eng = E.run_batch(prob, seqs, cfgs, seeds, T=T, noise=noise, trace_every=trace_every, stop_at_hit=stop)
    for lane, (cfg, seed) in enumerate(zip(cfgs, seeds)):
        seq = seqs[lane] if isinstance(seqs, list) else seqs
        ref = A.reference_run(prob, seq, cfg, seed=seed, T=T, noise=noise, trace_every=trace_every, stop_at_hit=stop)
        assert_same_run(ref, eng[lane])


@settings(max_examples=40)
@given(configurations())
def test_engine_equals_reference(c):
    check_engine_equals_reference(c)


def test_engine_equals_reference_divergent_run():
    # delayed GD on the quadratic beyond its stability threshold: both stop and flag at the same step
    prob = P.make("quadratic", 3)
    seq = D.make("constant:tau=20", 3000)
    cfg = A.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=1e-3, sigma=0.0, eta=1 / 9)
    ref = A.reference_run(prob, seq, cfg, seed=0)
    (eng,) = E.run_batch(prob, seq, cfg, [0])
    assert ref.diverged and ref.diverged_step is not None
    assert_same_run(ref, eng)


def test_slot_plan_memory_is_live_iterates():
    T = 10_000
    # single straggler: only x_1 is live for long -> one slot
    _, _, n = E.slot_plan(D.make("straggler", T).delays)
    assert n == 1
    # constant delay tau: tau + 1 iterates are live at once at most
    _, _, n = E.slot_plan(D.make("constant:tau=5", T).delays)
    assert n <= 6
    # no delays: nothing stored
    _, _, n = E.slot_plan(np.zeros(T, dtype=np.int64))
    assert n == 0


@given(st.lists(st.integers(0, 30), min_size=1, max_size=300))
def test_slot_plan_never_overwrites_a_live_iterate(raw):
    d = np.minimum(np.array(raw), np.arange(len(raw)))
    store, read, n = E.slot_plan(d)
    owner = {}
    for i in range(len(d)):
        if store[i] >= 0:
            owner[int(store[i])] = i
        if d[i] > 0:
            assert read[i] >= 0 and owner[int(read[i])] == i - d[i]
        else:
            assert read[i] == -1


# The engine switches strategy with the size of the batch (bookkeeping blocks, measuring blocks,
# lane groups in two threads, a noise thread, the copy-free "direct" mode). Small property-test
# configurations only reach the small-size paths, so the size thresholds are shrunk here to send
# the same random configurations through every path.
ENGINE_MODES = {
    "ring-buffer": {"_MAX_SEQUENCE_GROUPS": 0},
    "ring-buffer-in-threads": {"_MAX_SEQUENCE_GROUPS": 0, "_GROUP_ELEMS": 4, "_PARALLEL_ELEMS": 4, "_MEASURE_ELEMS": 1},
    "measure-every-step": {"_MEASURE_ELEMS": 1},
    "lane-groups-in-threads": {"_GROUP_ELEMS": 4, "_PARALLEL_ELEMS": 4, "_MEASURE_ELEMS": 1},
    "noise-thread": {"_THREAD_MIN": 1},
    "short-bookkeeping": {"_BOOK_STEPS": 3, "_NOISE_MAX": 5},
    "small-chunks": {"_SQUARES_ELEMS": 2, "_SQUARES_ELEMS_MT": 2, "_MEASURE_ELEMS": 1, "_GROUP_ELEMS": 4, "_PARALLEL_ELEMS": 4},
}


@pytest.mark.parametrize("mode", sorted(ENGINE_MODES))
def test_engine_paths_equal_reference(mode, monkeypatch):
    for name, value in ENGINE_MODES[mode].items():
        assert hasattr(E, name), name
        monkeypatch.setattr(E, name, value)

    settings(max_examples=15)(given(configurations())(check_engine_equals_reference))()


def test_engine_large_dimension_equals_reference():
    # the real large-d path (direct mode, lane groups in two threads), no shrunk thresholds
    prob = P.make("quadratic:spectrum=geometric,mu=0.1", 2048)
    seq = D.make("pareto:alpha=1.5,scale=3", 120, seed=3)
    cfgs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=0.5, sigma=s, delays=seq) for a in ("picky", "delayed-sgd") for s in (0.0, 1.0)]
    cfgs = cfgs * 16  # 64 lanes x 2048 = 131072 elements
    seeds = list(range(len(cfgs)))
    eng = E.run_batch(prob, seq, cfgs, seeds, noise=P.make_noise("gaussian"), trace_every=10)
    for lane in (0, 1, 2, 3, 37, 63):
        ref = A.reference_run(prob, seq, cfgs[lane], seed=seeds[lane], trace_every=10)
        assert_same_run(ref, eng[lane])


def test_mixed_sequences_keep_memory_to_live_iterates():
    # picky lanes on a single straggler mixed with sgd lanes (which see d_t = 0): a ring sized by the
    # largest delay would hold T iterates per lane (here 1e5 x 8 lanes x 200 x 8 B = 1.3 GB)
    import tracemalloc

    prob = P.make("quadratic", 200)
    seq = D.make("straggler", 100_000)
    cfgs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=0.01, sigma=0.0, delays=seq) for a in ("picky", "sgd")] * 4
    tracemalloc.start()
    try:
        runs = E.run_batch(prob, seq, cfgs, list(range(8)), stop_at_hit=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6, peak
    ref = A.reference_run(prob, seq, cfgs[0], seed=0, stop_at_hit=True)
    assert_same_run(ref, runs[0])

"""The compiled engine reproduces the literal reference implementation, lane by lane, bit for bit.

Property-tested on randomly generated configurations: every algorithm (and both delay-adaptive
rules), every problem and noise model, a sequence shared by all lanes or one per lane, traces,
early stopping, measured f, divergence, large dimension, one thread or several. Every field of the
run record is compared exactly (floats with ==): both paths call the same compiled functions in the
same order, so anything short of equality is a bug.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P
from verify.models.noise import make_noise
from verify.search import strategies as vst
from verify.engine import kernel as K

FLOAT_FIELDS = ("min_grad_norm", "final_grad_norm", "final_f", "max_accepted_distance", "max_accepted_grad_gap",
                "min_rejected_distance")
EXACT_FIELDS = ("algorithm", "seed", "T", "steps_run", "first_hit", "min_grad_norm_step", "accepted", "rejected",
                "diverged", "diverged_step", "divergence_reason", "adaptive", "config", "problem", "noise",
                "delay_stats", "trace_every")


def same_float(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_run(ref, eng):
    for f in EXACT_FIELDS:
        assert getattr(ref, f) == getattr(eng, f), f
    for f in FLOAT_FIELDS + ("min_f",):
        assert same_float(getattr(ref, f), getattr(eng, f)), (f, getattr(ref, f), getattr(eng, f))
    assert np.array_equal(ref.rejected_steps, eng.rejected_steps)
    assert np.array_equal(ref.delays.delays, eng.delays.delays)
    for f in ("trace_steps", "trace_grad_norm", "trace_f"):
        a, b = getattr(ref, f), getattr(eng, f)
        assert (a is None and b is None) or np.array_equal(a, b), f
    assert eng.engine == "numba" and ref.engine == "reference"


PROBLEMS = ["quadratic", "quadratic:spectrum=geometric,mu=0.01,rotate=true", "logsum", "logsum:width=0.5", "chain",
            "chain:lam=0.5"]
NOISES = ["gaussian", "bounded", "rademacher", "student_t:df=3"]
NAMED = ["none", "constant:tau=3", "bursty:m=7", "straggler", "ksj-straggler", "pareto", "bimodal:p=0.2,D=30",
         "workers:n=4", "geometric:mean=3"]


@st.composite
def delay_seqs(draw, T):
    if draw(st.booleans()):
        return D.from_trace(draw(vst.causal_delays(T, max_delay=40)))
    return D.make(draw(st.sampled_from(NAMED)), T, seed=draw(st.integers(0, 100)))


@st.composite
def configurations(draw, max_T=250, max_dim=6):
    T = draw(st.integers(1, max_T))
    dim = draw(st.integers(1, max_dim))
    prob = P.make(draw(st.sampled_from(PROBLEMS)), dim)
    noise = make_noise(draw(st.sampled_from(NOISES)))
    L = draw(st.integers(1, 4))
    per_lane = draw(st.booleans())
    seqs = [draw(delay_seqs(T)) for _ in range(L if per_lane else 1)]
    algs = []
    for lane in range(L):
        name = draw(st.sampled_from(list(A.ALGORITHMS)))
        sigma = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0]))
        eps = draw(st.sampled_from([0.01, 0.1, 0.5, 2.0]))
        kw = {}
        if draw(st.booleans()):
            kw["eta"] = draw(st.floats(1e-3, 2.5 / prob.beta))  # up to unstable steps: divergence happens
        if name == "picky" and draw(st.booleans()):
            kw["rho"] = draw(st.floats(1e-3, 10.0))
        if name == "delay-adaptive":
            kw["rule"] = draw(st.sampled_from(["ksj", "mishchenko"]))
            if draw(st.booleans()):
                kw["tau_C"] = draw(st.sampled_from([0.0, 1.0, 2.5, 10.0]))
        if name == "stale-drop" and draw(st.booleans()):
            kw["R"] = draw(st.integers(1, 20))
        algs.append(A.resolve(name, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma,
                              delays=seqs[lane if per_lane else 0], **kw))
    seeds = draw(st.lists(st.integers(0, 2**31), min_size=L, max_size=L))
    opts = dict(trace_every=draw(st.sampled_from([None, 1, 7])), stop_at_hit=draw(st.booleans()),
                measure_f=draw(st.booleans()))
    return prob, noise, seqs if per_lane else seqs[0], algs, seeds, T, opts


def check_engine_equals_reference(c, threads=None):
    prob, noise, seqs, algs, seeds, T, opts = c
    eng = E.run_batch(prob, seqs, algs, seeds, T=T, noise=noise, threads=threads, **opts)
    assert len(eng) == len(seeds)
    for lane, (alg, seed) in enumerate(zip(algs, seeds)):
        seq = seqs[lane] if isinstance(seqs, list) else seqs
        ref = A.reference_run(prob, seq, alg, seed=seed, T=T, noise=noise, **opts)
        assert_same_run(ref, eng[lane])


@settings(max_examples=60)
@given(configurations())
def test_engine_equals_reference(c):
    check_engine_equals_reference(c)


@settings(max_examples=15)
@given(configurations(), st.sampled_from([1, 2, 3]))
def test_engine_equals_reference_with_any_thread_count(c, threads):
    check_engine_equals_reference(c, threads=threads)


def test_engine_equals_reference_divergent_run():
    # delayed GD on the quadratic beyond its stability threshold: both stop and flag at the same step
    prob = P.make("quadratic", 3)
    seq = D.make("constant:tau=20", 3000)
    alg = A.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=1e-3, sigma=0.0, eta=1 / 9)
    ref = A.reference_run(prob, seq, alg, seed=0)
    (eng,) = E.run_batch(prob, seq, alg, [0])
    assert ref.diverged and ref.diverged_step is not None and ref.divergence_reason.startswith("||x_t - x_1||")
    assert_same_run(ref, eng)


def test_engine_equals_reference_non_finite_divergence():
    # a step so large that the iterate overflows before it leaves a huge guard radius
    prob = P.make("quadratic:spectrum=constant", 2)
    seq = D.make("constant:tau=3", 400)
    alg = A.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=1e-3, sigma=0.0, eta=1e150)
    guard = A.DivergenceGuard(radius=1e308)
    ref = A.reference_run(prob, seq, alg, seed=0, guard=guard)
    (eng,) = E.run_batch(prob, seq, alg, [0], guard=guard)
    assert ref.divergence_reason == "non-finite iterate"
    assert_same_run(ref, eng)


def test_engine_large_dimension_equals_reference():
    prob = P.make("quadratic:spectrum=geometric,mu=0.1", 2048)
    seqs = [D.make("pareto:alpha=1.5,scale=3", 120, seed=s) for s in range(4)]
    algs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=0.5, sigma=s, delays=q) for q in seqs
            for a in ("picky", "delayed-sgd") for s in (0.0, 1.0)]
    lane_seqs = [q for q in seqs for _ in range(4)]
    seeds = list(range(len(algs)))
    eng = E.run_batch(prob, lane_seqs, algs, seeds, noise=make_noise("gaussian"), trace_every=10)
    for lane in (0, 1, 2, 3, 9, 15):
        ref = A.reference_run(prob, lane_seqs[lane], algs[lane], seed=seeds[lane], trace_every=10)
        assert_same_run(ref, eng[lane])


# ------------------------------------------------------------------------------------------
# the slot plan: memory is the live iterates, and no live iterate is overwritten
# ------------------------------------------------------------------------------------------
def test_slots_are_the_live_iterates():
    T = 10_000
    assert E.live_slots(D.make("straggler", T)) == 1  # only x_1 is live for long
    assert E.live_slots(D.make("constant:tau=5", T)) == 5  # x_{t-5..t-1} wait for their reader
    assert E.live_slots(np.zeros(T, dtype=np.int64)) == 0  # nothing stored
    assert E.live_slots(D.make("bursty:m=20", T)) == 1  # every step of a period reads its first iterate
    seq = D.make("pareto:alpha=1.5,scale=3", T, seed=0)
    assert E.live_slots(seq) < int(seq.delays.max()) + 1


def _live_count(d: np.ndarray) -> int:
    """Brute force: the largest number of iterates j that exist (j <= i) and are read at some step > i."""
    T = d.size
    last = np.full(T, -1)
    for i in range(T):
        if d[i] > 0:
            last[i - d[i]] = max(last[i - d[i]], i)
    return max((sum(1 for j in range(i + 1) if last[j] > i) for i in range(T)), default=0)


@given(vst.causal_delays(max_T=200, max_delay=30))
def test_slot_plan_never_overwrites_a_live_iterate(d):
    plan = np.empty(d.size, np.int32)
    n = K.plan_slots(d, d.size, plan)
    owner = {}
    for i in range(d.size):
        if d[i] > 0:  # step i reads iterate i - d[i] ...
            assert plan[i - d[i]] >= 0 and owner[int(plan[i - d[i]])] == i - d[i]  # still there when read
        if plan[i] >= 0:
            owner[int(plan[i])] = i  # ... then stores iterate i into its slot
    assert n == _live_count(d)
    assert n <= int(d.max())


def test_record_says_how_many_slots_the_lane_used():
    prob = P.make("quadratic", 200)
    seq = D.make("straggler", 100_000)
    algs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=0.01, sigma=0.0, delays=seq) for a in ("picky", "sgd")] * 4
    runs = E.run_batch(prob, seq, algs, list(range(8)))
    assert [r.extra["slots"] for r in runs] == [1, 0] * 4  # a ring by the largest delay would hold 1e5 iterates


# ------------------------------------------------------------------------------------------
# inputs, cancellation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, needle", [
    (dict(seeds=[0.9]), r"seeds\[\d+\] must be an integer in \[0, "),
    (dict(seeds=3), "seeds must be a sequence"),
    (dict(seeds=[]), "seeds must not be empty"),
    (dict(seeds=[-1]), r"seeds\[\d+\] must be an integer in \[0, "),
    (dict(trace_every=0), "trace_every must be a positive integer"),
    (dict(T=0), r"T must be an integer in \[1, 2147483646\]"),
    (dict(T=501), "exceeds"),
    (dict(delays="two"), "lengths"),
])
def test_bad_batch_input(kw, needle):
    prob = P.make("logsum", 2)
    seq = D.make("constant:tau=2", 500)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0)
    args = dict(seeds=[0, 1], delays=seq)
    args.update(kw)
    if args["delays"] == "two":
        args["delays"] = [seq, D.make("constant:tau=2", 300)]
    with pytest.raises(ValueError, match=needle):
        E.run_batch(prob, args.pop("delays"), alg, args.pop("seeds"), **args)


def test_kernel_stops_on_the_cancel_flag():
    prob = P.make("logsum", 3)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0)
    T = 3 * K.PROGRESS_EVERY
    delays = np.zeros(T, np.int64)
    pcode, pvec = prob.kernel
    ncode, nvec = make_noise("gaussian").kernel(3)
    progress, cancel = np.zeros(1, np.int64), np.ones(1, np.uint8)
    out = K.run_lane(alg.code, alg.vector, True, pcode, pvec, ncode, nvec, np.random.default_rng(0), alg.sigma, np.zeros(0, np.int64),
                     0, np.array(prob.x1), delays, T, alg.eps, 1e300, False, False, 0, np.empty(3),
                     np.zeros(0, np.uint8), np.empty(0), np.empty(0), progress, cancel, 0)
    assert out[0] == K.STATUS_CANCELLED and out[1] == 0

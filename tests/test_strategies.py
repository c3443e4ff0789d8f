"""The public strategies (verify.search.strategies): every strategy yields only valid objects, budgets and
maxima hold exactly, arguments are checked, and shrinking goes where the docstrings say."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import find as _find
from hypothesis import strategies as st

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify.models import problems as P
from verify.models.noise import NOISES, Noise, make_noise
from verify.search import strategies as vst
from verify.models.programs import MAX_T, PATTERNS, Program, Segment


def find(strategy, condition):
    """The minimal example (no explain phase: it costs seconds and explains nothing here)."""
    return _find(strategy, condition, settings=settings(phases=[Phase.generate, Phase.shrink]))


# ------------------------------------------------------------------------------------------
# causal_delays
# ------------------------------------------------------------------------------------------


@given(vst.causal_delays(max_T=120, max_delay=15, tau_avg_budget=2.5))
def test_causal_delays_respect_causality_max_and_tau_avg_budget(d):
    assert d.dtype == np.int64 and 1 <= d.size <= 120
    assert np.array_equal(theory.validate_delays(d), d)
    assert d.max() <= 15
    assert d.sum() <= 2.5 * d.size and d.mean() <= 2.5
    assert Fraction(int(d.sum()), d.size) <= Fraction(2.5)  # exactly, not only in floating point


@given(vst.causal_delays(T=50, sum_budget=7))
def test_causal_delays_fixed_T_and_sum_budget(d):
    assert d.size == 50 and d.sum() <= 7
    theory.validate_delays(d)


@given(vst.causal_delays(min_T=3, max_T=9, tau_avg_budget=0.1, sum_budget=100.7))
def test_both_budgets_and_the_T_range(d):
    assert 3 <= d.size <= 9 and d.sum() <= min(100.7, 0.1 * d.size)


@given(st.data(), st.floats(0.0, 50.0), st.integers(1, 300))
def test_any_tau_avg_budget_holds_exactly(data, budget, T):
    d = data.draw(vst.causal_delays(T, tau_avg_budget=budget))
    assert Fraction(int(d.sum())) <= Fraction(budget) * T
    theory.validate_delays(d)


@settings(max_examples=20)
@given(vst.causal_delays(T=100_000, max_delay=5000, tau_avg_budget=0.5))
def test_long_sequences_are_sparse_and_valid(d):
    assert d.size == 100_000
    theory.validate_delays(d)
    assert d.max() <= 5000 and d.sum() <= 0.5 * d.size


@settings(max_examples=20)
@given(vst.causal_delays(T=50, sparse=True, max_delay=10))
def test_sparse_can_be_asked_for(d):
    assert d.max() <= 10
    theory.validate_delays(d)


@settings(max_examples=10)
@given(vst.causal_delays(T=3000, max_delay=59))
def test_dense_up_to_4000_bytes(d):
    assert d.size == 3000 and d.max() <= 59  # one byte per entry: still dense by default
    theory.validate_delays(d)


@settings(max_examples=5, suppress_health_check=[HealthCheck.large_base_example])
@given(vst.causal_delays(T=2500, sparse=False, max_delay=1000))
def test_dense_can_be_asked_for(d):
    assert d.size == 2500 and d.max() <= 1000
    theory.validate_delays(d)


def test_dense_draws_cover_the_range():
    seen = []

    @settings(max_examples=30)
    @given(vst.causal_delays(T=300, max_delay=200))
    def draw(d):
        seen.append(d)

    draw()
    d = np.concatenate(seen)
    assert d.max() == 200 and np.count_nonzero(d) > d.size // 2


@settings(max_examples=10)
@given(st.one_of(vst.causal_delays(T=30, sum_budget=0), vst.causal_delays(T=30, max_delay=0),
                 vst.causal_delays(T=30, tau_avg_budget=0.0)))
def test_zero_budget_and_zero_max_give_zeros(d):
    assert d.size == 30 and not d.any()


def test_causal_delays_shrink_toward_zeros():
    d = find(vst.causal_delays(max_T=50), lambda d: d.sum() >= 3)
    assert d.sum() == 3 and d.size <= 4 and np.count_nonzero(d) <= 2  # [0, 1, 2] or [0, 0, 0, 3]
    d = find(vst.causal_delays(T=40, max_delay=10), lambda d: d.max() >= 5)
    assert d.max() == 5 and np.count_nonzero(d) == 1


@pytest.mark.parametrize("kw, needle", [
    ({"T": 0}, r"T must be an integer in \[1"), ({"min_T": 5, "max_T": 2}, "max_T must be >= min_T = 5"),
    ({"max_delay": -1}, "max_delay"), ({"tau_avg_budget": -0.5}, "tau_avg_budget"),
    ({"sum_budget": float("inf")}, "sum_budget"), ({"T": True}, "T must be"), ({"sparse": 1}, "sparse"),
])
def test_causal_delays_check_their_arguments(kw, needle):
    with pytest.raises(ValueError, match=needle):
        vst.causal_delays(**kw)  # at construction, not at the first draw
    with pytest.raises(vst.StrategyArgumentError):
        vst.causal_delays(**kw)


# ------------------------------------------------------------------------------------------
# delay sequences and families
# ------------------------------------------------------------------------------------------


def _valid_sequence(seq):
    assert isinstance(seq, D.DelaySequence)
    assert np.array_equal(theory.validate_delays(seq.delays), seq.delays)
    assert 0 <= seq.clipped <= len(seq)


def test_every_model_has_parameter_strategies():
    assert set(vst._MODEL_PARAMS) == set(D.MODELS) - {"replay"}


@settings(max_examples=15)
@pytest.mark.parametrize("model", sorted(set(D.MODELS) - {"replay"}))
@given(data=st.data())
def test_model_sequences_of_every_model(model, data):
    seq = data.draw(vst.model_sequences([model], max_T=150))
    _valid_sequence(seq)
    assert seq.model == model and 1 <= len(seq) <= 150
    for k, v in seq.params.items():  # the parameters are in range: make accepts them again
        D.MODELS[model].params[k].coerce("test", k, v) if v is not None else None
    again = D.make({"model": model, "params": seq.params}, len(seq), seed=seq.seed)
    assert again == seq  # replayable from (model, params, seed)


@settings(max_examples=40)
@given(vst.delay_sequences(max_T=150))
def test_delay_sequences_are_valid(seq):
    _valid_sequence(seq)
    assert seq.model in D.MODELS and 1 <= len(seq) <= 150


@given(vst.delay_sequences(T=30, raw=False, models=["constant", "bursty"]))
def test_delay_sequences_restricted(seq):
    assert seq.model in ("constant", "bursty") and len(seq) == 30


def test_delay_sequences_shrink_to_zeros():
    seq = find(vst.delay_sequences(max_T=50), lambda s: True)
    assert len(seq) == 1 and not seq.delays.any()


@settings(max_examples=30)
@given(vst.heavy_tailed(max_T=400, min_alpha=1.2, max_alpha=2.0))
def test_heavy_tailed(seq):
    _valid_sequence(seq)
    assert seq.model in ("pareto", "lognormal") and seq.seed is not None
    if seq.model == "pareto":
        assert 1.2 <= seq.params["alpha"] <= 2.0 and 1.0 <= seq.params["scale"] <= 10.0
        raw = np.floor(seq.params["scale"] * np.random.default_rng(seq.seed).pareto(seq.params["alpha"], len(seq)))
        assert np.array_equal(seq.delays, np.minimum(raw, np.arange(len(seq))))


@given(vst.bursty(max_T=400, min_m=2, max_m=9))
def test_bursty(seq):
    _valid_sequence(seq)
    m = seq.params["m"]
    assert 2 <= m <= 9 and np.array_equal(seq.delays, np.arange(len(seq)) % (m + 1))


@given(vst.stragglers(max_T=300))
def test_stragglers(seq):
    _valid_sequence(seq)
    d = seq.delays
    if seq.model == "straggler":
        P_ = seq.params["position"]
        assert d[P_ - 1] == P_ - 1 and np.count_nonzero(d) == (P_ > 1)
    else:
        assert seq.model == "ksj-straggler" and d[-1] == len(d) - 1 and set(d[1:-1].tolist()) <= {1}


@given(vst.two_point(max_T=300, min_p=0.05, max_p=0.5, max_D=80))
def test_two_point(seq):
    _valid_sequence(seq)
    Dv, p = seq.params["D"], seq.params["p"]
    assert 0.05 <= p <= 0.5 and 0 <= Dv <= 80
    d, i = seq.delays, np.arange(len(seq))
    assert np.all((d == 0) | (d == np.minimum(Dv, i)))


@pytest.mark.parametrize("make, needle", [
    (lambda: vst.heavy_tailed(min_alpha=0), "min_alpha"), (lambda: vst.heavy_tailed(min_alpha=2, max_alpha=1), "max_alpha"),
    (lambda: vst.bursty(max_m=-1), "max_m"), (lambda: vst.two_point(max_p=1.5), "max_p"),
    (lambda: vst.two_point(max_D=-1), "max_D"), (lambda: vst.stragglers(min_T=0), "min_T"),
    (lambda: vst.model_sequences(["replay"]), "models must be"), (lambda: vst.model_sequences([]), "models must be"),
    (lambda: vst.delay_sequences(raw="yes"), "raw"),
])
def test_family_arguments_are_checked(make, needle):
    with pytest.raises(ValueError, match=needle):
        make()


# ------------------------------------------------------------------------------------------
# segments and programs
# ------------------------------------------------------------------------------------------


@given(vst.segments(min_length=3, max_length=700, max_delay=90))
def test_segments_are_valid(seg):
    assert isinstance(seg, Segment) and 3 <= seg.length <= 700
    assert Segment(seg.pattern, seg.length, dict(seg.params)) == seg  # every parameter in range
    for k in ("tau", "m", "D"):
        assert seg.params.get(k, 0) <= 90


@settings(max_examples=40)
@given(vst.programs(min_segments=2, max_segments=5, min_T=1000, max_T=5000))
def test_programs_are_valid(prog):
    assert isinstance(prog, Program) and 2 <= len(prog.segments) <= 5 and 1000 <= prog.T <= 5000
    seq = prog.expand()
    _valid_sequence(seq)
    assert len(seq) == prog.T
    assert Program.from_json(prog.to_json()) == prog


@settings(max_examples=20)
@given(vst.programs(min_T=100_000, max_T=100_000, max_segments=3))
def test_programs_at_T_1e5(prog):
    assert prog.T == 100_000
    _valid_sequence(prog.expand())


@given(vst.programs(max_T=2000, patterns=["ramp", "two-point"]))
def test_programs_restricted_to_patterns(prog):
    assert {s.pattern for s in prog.segments} <= {"ramp", "two-point"}


def test_programs_shrink_to_few_short_zero_segments():
    # two segments needed: both shrink to zeros, the total is padded up to min_T in the last one
    prog = find(vst.programs(min_T=500), lambda p: len(p.segments) >= 2)
    assert prog == Program([Segment("zeros", 1), Segment("zeros", 499)])
    # a large delay needed: one short segment, the parameter exactly at the boundary
    prog = find(vst.programs(max_T=10_000), lambda p: max([0] + [v for s in p.segments for k, v in s.params.items()
                                                                 if k in ("tau", "m", "D")]) >= 100)
    assert len(prog.segments) == 1 and prog.segments[0].length == 1 and 100 in prog.segments[0].params.values()


def test_programs_reach_every_pattern_and_large_delays():
    seen: set[str] = set()
    largest = [0]

    @settings(max_examples=60)
    @given(vst.programs(max_T=100_000))
    def draw(prog):
        seen.update(s.pattern for s in prog.segments)
        largest[0] = max([largest[0]] + [v for s in prog.segments for k, v in s.params.items() if k in ("tau", "m", "D")])

    draw()
    assert seen == set(PATTERNS) and largest[0] >= 10_000


@pytest.mark.parametrize("kw, needle", [
    ({"min_segments": 0}, "min_segments"), ({"min_segments": 3, "max_segments": 2}, "max_segments"),
    ({"min_T": 10, "max_T": 5}, "max_T"), ({"max_T": MAX_T + 1}, "max_T"), ({"min_segments": 4, "max_T": 3}, "min_segments"),
    ({"patterns": ["spiral"]}, "patterns"), ({"max_delay": -1}, "max_delay"),
])
def test_program_arguments_are_checked(kw, needle):
    with pytest.raises(ValueError, match=needle):
        vst.programs(**kw)


# ------------------------------------------------------------------------------------------
# problems, noises, algorithm parameters
# ------------------------------------------------------------------------------------------


def test_every_problem_and_noise_is_covered():
    assert set(vst._PROBLEM_PARAMS) == set(P.PROBLEMS)
    assert set(vst._NOISE_PARAMS) <= set(NOISES)


@settings(max_examples=15)
@pytest.mark.parametrize("name", sorted(P.PROBLEMS))
@given(data=st.data())
def test_problems_of_every_registered_problem(name, data):
    prob = data.draw(vst.problems(names=[name], dims=[1, 3, 5]))
    assert isinstance(prob, P.Problem) and prob.name == name and prob.dim in (1, 3, 5)
    assert math.isfinite(prob.beta) and prob.beta > 0 and math.isfinite(prob.F) and prob.F > 0
    g = prob.grad(np.asarray(prob.x1, dtype=float)[None, :])
    assert np.all(np.isfinite(g))


@given(vst.problems(dims=st.integers(2, 3), parameters=False))
def test_problems_with_default_parameters(prob):
    assert prob.dim in (2, 3) and prob.spec.split(":")[0] in P.PROBLEMS


@settings(max_examples=20)
@given(vst.noises())
@example(make_noise("student_t:df=5"))  # the student_t branch runs at least once
def test_noises(noise):
    assert isinstance(noise, Noise) and noise.name in NOISES
    info = noise.describe()
    assert info["variance"] == 1.0 and info["mean"] == 0.0
    if noise.name == "student_t":
        assert 2.0 < noise.df <= 30.0
    assert np.all(np.isfinite(noise.sample(np.random.default_rng(0), 4, 3)))


@settings(max_examples=30)
@pytest.mark.parametrize("name", sorted(A.ALGORITHMS))
@given(data=st.data(), beta=st.floats(0.1, 200.0))
def test_step_parameters_and_overrides_are_accepted_by_resolve(name, data, beta):
    full = data.draw(vst.step_parameters(name, beta))
    assert set(full) == set(A.ALGORITHMS[name].params)
    for kw in (full, data.draw(vst.algorithm_overrides(name, beta))):
        assert set(kw) <= set(A.ALGORITHMS[name].params)
        alg = A.resolve(name, beta=beta, F=1.0, eps=0.1, sigma=0.5, delays=np.zeros(10, np.int64), **kw)
        assert all(alg.source[k] == "user" and getattr(alg, k) == v for k, v in kw.items())
        if "eta" in kw:
            assert 0 < kw["eta"] <= 2.5 / beta
        if "R" in kw:
            assert isinstance(kw["R"], int) and kw["R"] >= 1
        if "rho" in kw:
            assert kw["rho"] > 0
        if "tau_C" in kw:
            assert kw["tau_C"] >= 0


def test_overrides_shrink_to_empty_and_arguments_are_checked():
    assert find(vst.algorithm_overrides("picky", 1.0), lambda kw: True) == {}
    assert set(find(vst.step_parameters(A.DelayAdaptive, 1.0), lambda kw: True)) == {"eta", "tau_C", "rule"}
    with pytest.raises(ValueError, match="algorithm must be one of"):
        vst.step_parameters("adam", 1.0)
    with pytest.raises(ValueError, match="beta"):
        vst.algorithm_overrides("picky", 0.0)
    with pytest.raises(ValueError, match="dims"):
        vst.problems(dims=[])
    with pytest.raises(ValueError, match="names"):
        vst.noises(names=["laplace"])


# ------------------------------------------------------------------------------------------
# the module itself
# ------------------------------------------------------------------------------------------


def test_every_public_strategy_is_documented():
    doc = vst.__doc__
    for name in vst.__all__:
        obj = getattr(vst, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__.strip()) > 40, name
            if name not in ("StrategyArgumentError",):
                assert f":func:`{name}`" in doc, name

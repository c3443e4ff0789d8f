"""Sequence programs (verify.programs) and the public strategies (verify.strategies): every pattern
against a loop written here, JSON round trips, validation, and strategies that yield valid inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify import delays as D
from verify import strategies as vst
from verify.programs import PATTERNS, Program, Segment, load, save


def by_hand(pattern: str, n: int, p: dict) -> list:
    out = []
    for k in range(n):
        if pattern == "zeros":
            out.append(0)
        elif pattern == "constant":
            out.append(p["tau"])
        elif pattern == "bursty":
            out.append(k % (p["m"] + 1))
        elif pattern == "straggler":
            out.append(p["D"] if k == n - 1 else 0)
        elif pattern == "two-point":
            q = max(1, round(1 / p["p"]))
            out.append(p["D"] if (k + 1) % q == 0 else 0)
        elif pattern == "ramp":
            out.append(k % (p["D"] + 1))
    return out


@pytest.mark.parametrize("pattern, params", [("zeros", {}), ("constant", {"tau": 3}), ("bursty", {"m": 4}),
                                             ("straggler", {"D": 7}), ("two-point", {"p": 0.25, "D": 5}),
                                             ("ramp", {"D": 3})])
def test_patterns_match_their_definitions(pattern, params):
    n = 23
    prog = Program((Segment("zeros", 10, {}), Segment(pattern, n, params)))
    seq = prog.expand()
    want = [0] * 10 + by_hand(pattern, n, params)
    want = [min(x, t) for t, x in enumerate(want)]  # causal clipping, 0-based index t = t_step - 1
    assert seq.delays.tolist() == want
    theory.validate_delays(seq.delays)
    assert len(seq) == prog.T == 33


def test_pareto_pattern_is_the_delay_models_formula_and_clipping_is_counted():
    prog = Program((Segment("pareto", 5000, {"alpha": 1.5, "scale": 3.0, "seed": 4}),))
    seq = prog.expand()
    ref = D.make("pareto:alpha=1.5,scale=3", 5000, seed=4)
    assert np.array_equal(seq.delays, ref.delays) and seq.clipped == ref.clipped > 0
    s = Program((Segment("constant", 10, {"tau": 5}),)).expand()
    assert s.clipped == 5 and s.delays.tolist() == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]


def test_json_and_file_round_trip(tmp_path):
    prog = Program((Segment("ramp", 100, {"D": 9}), Segment("two-point", 50, {"p": 0.1, "D": 30}),
                    Segment("pareto", 20, {"alpha": 2.0, "scale": 1.0, "seed": 1})))
    assert Program.from_json(json.loads(json.dumps(prog.to_json()))) == prog
    save(prog, tmp_path / "p.json")
    assert load(tmp_path / "p.json") == prog
    assert np.array_equal(load(tmp_path / "p.json").expand().delays, prog.expand().delays)
    assert prog.describe() == "ramp(D=9) x 100 | two-point(p=0.1,D=30) x 50 | pareto(alpha=2,scale=1,seed=1) x 20"
    assert prog.T == 170


@pytest.mark.parametrize("make, needle", [
    (lambda: Segment("spiral", 3, {}), "pattern must be one of"),
    (lambda: Segment("constant", 0, {"tau": 1}), "length of segment 'constant'"),
    (lambda: Segment("constant", 5, {"tau": -1}), "parameter 'tau' of segment 'constant' must be an integer in \\[0"),
    (lambda: Segment("two-point", 5, {"p": 0.0, "D": 3}), "parameter 'p' of segment 'two-point'"),
    (lambda: Segment("ramp", 5, {"tau": 1}), "takes parameters"),
    (lambda: Program(()), "at least one Segment"),
    (lambda: Program.from_json({"segments": [{"pattern": "zeros"}]}), "'pattern' and 'length'"),
])
def test_bad_programs_name_the_parameter(make, needle):
    with pytest.raises(ValueError, match=needle):
        make()


def test_expansion_is_fast_at_a_million_steps():
    import time

    prog = Program((Segment("ramp", 500_000, {"D": 100}), Segment("pareto", 500_000, {"alpha": 1.5, "scale": 3.0, "seed": 0})))
    t0 = time.perf_counter()
    seq = prog.expand()
    assert len(seq) == 1_000_000
    assert time.perf_counter() - t0 < 5.0  # generous: a regression guard, not a benchmark


@given(vst.causal_delays(max_T=120, max_delay=15, tau_avg_budget=2.5))
def test_causal_delays_respect_causality_max_and_budget(d):
    theory.validate_delays(d)
    assert d.max(initial=0) <= 15 and d.sum() <= 2.5 * d.size


@given(vst.causal_delays(T=50, sum_budget=7))
def test_causal_delays_sum_budget(d):
    assert d.size == 50 and d.sum() <= 7


@settings(max_examples=30)
@given(st.one_of(vst.delay_sequences(max_T=300), vst.heavy_tailed(max_T=300), vst.bursty(max_T=300),
                 vst.stragglers(max_T=300), vst.two_point(max_T=300)))
def test_sequence_strategies_yield_valid_sequences(seq):
    assert isinstance(seq, D.DelaySequence)
    theory.validate_delays(seq.delays)


@settings(max_examples=30)
@given(vst.programs(max_T=5000))
def test_programs_strategy(prog):
    assert 1 <= len(prog.segments) <= 4 and prog.T <= 5000
    assert all(s.pattern in PATTERNS for s in prog.segments)
    seq = prog.expand()
    theory.validate_delays(seq.delays)
    assert Program.from_json(prog.to_json()) == prog


@settings(max_examples=20)
@given(vst.problems(), vst.noises(), st.data())
def test_problem_noise_and_override_strategies(prob, noise, data):
    from verify import algorithms as A

    assert prob.dim >= 1 and prob.beta > 0 and noise.describe()["variance"] == 1.0
    for name in A.ALGORITHMS:
        kw = data.draw(vst.algorithm_overrides(name, prob.beta))
        alg = A.resolve(name, beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0, delays=np.zeros(10, np.int64), **kw)
        assert all(alg.source[k] == "user" for k in kw)

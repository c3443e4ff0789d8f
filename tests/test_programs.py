"""Sequence programs (verify.models.programs): every pattern against a per-step loop written here, causal
clipping and its count, JSON and file round trips, validation messages, describe(), speed."""
from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify.models import delays as D
from verify.models import programs as PG
from verify.search import strategies as vst
from verify.models.programs import MAX_T, PATTERNS, Program, Segment, load, save


def raw_by_hand(pattern: str, n: int, p: dict) -> list[int | float]:
    """The module table, one local step j = 1..n at a time."""
    out: list[int | float] = []
    draws = np.random.default_rng(p["seed"]).pareto(p["alpha"], n) if pattern == "pareto" else None
    for j in range(1, n + 1):
        if pattern == "zeros":
            out.append(0)
        elif pattern == "constant":
            out.append(p["tau"])
        elif pattern == "bursty":
            out.append((j - 1) % (p["m"] + 1))
        elif pattern == "straggler":
            out.append(p["D"] if j == n else 0)
        elif pattern == "two-point":
            out.append(p["D"] if j % round(1 / p["p"]) == 0 else 0)
        elif pattern == "ramp":
            out.append((j - 1) % (p["D"] + 1))
        elif pattern == "pareto":
            out.append(float(np.floor(p["scale"] * draws[j - 1])))
        else:  # pragma: no cover
            raise AssertionError(pattern)
    return out


def expand_by_hand(prog: Program) -> tuple[list[int], int]:
    """(d_1..d_T, clipped): the raw delays, step by step, clipped to t - 1 (global, 1-indexed t)."""
    d, clipped, t = [], 0, 0
    for seg in prog.segments:
        for r in raw_by_hand(seg.pattern, seg.length, dict(seg.params)):
            t += 1
            if r > t - 1:
                clipped += 1
                r = t - 1
            d.append(int(r))
    return d, clipped


EXAMPLES = [("zeros", {}), ("constant", {"tau": 3}), ("bursty", {"m": 4}), ("straggler", {"D": 7}),
            ("straggler", {"D": 50}), ("two-point", {"p": 0.25, "D": 5}), ("two-point", {"p": 0.4, "D": 2}),
            ("ramp", {"D": 3}), ("pareto", {"alpha": 1.2, "scale": 3.0, "seed": 5})]


def test_every_pattern_has_an_example():
    assert {p for p, _ in EXAMPLES} == set(PATTERNS)


@pytest.mark.parametrize("offset", [0, 1, 10])
@pytest.mark.parametrize("pattern, params", EXAMPLES)
def test_patterns_match_the_per_step_loop(pattern, params, offset):
    segs = ([Segment("zeros", offset)] if offset else []) + [Segment(pattern, 23, params), Segment("constant", 4, {"tau": 2})]
    prog = Program(segs)
    seq = prog.expand()
    want, clipped = expand_by_hand(prog)
    assert seq.delays.tolist() == want and seq.clipped == clipped
    theory.validate_delays(seq.delays)
    assert len(seq) == prog.T == offset + 27
    assert seq.model == "program" and seq.seed is None


@settings(max_examples=40)
@given(vst.programs(max_T=300, max_delay=400))
def test_random_programs_match_the_per_step_loop(prog):
    seq = prog.expand()
    want, clipped = expand_by_hand(prog)
    assert seq.delays.tolist() == want and seq.clipped == clipped


def test_two_point_marks_steps_q_2q_3q():
    # q = round(1/p): p = 0.4 -> 1/p = 2.5 -> 2 (ties to even); p = 1/3 -> 3; p = 0.3 -> 3.33 -> 3
    for p, q in [(0.4, 2), (1 / 3, 3), (0.3, 3), (1.0, 1), (0.7, 1), (0.01, 100)]:
        d = Segment("two-point", 12, {"p": p, "D": 9}).raw()
        assert np.flatnonzero(d).tolist() == [j - 1 for j in range(q, 13, q)], p
    assert not Segment("two-point", 5, {"p": 1e-300, "D": 3}).raw().any()
    assert not Segment("two-point", 5, {"p": 5e-324, "D": 3}).raw().any()  # 1/p = inf


@pytest.mark.parametrize("spec, pattern, params", [
    ("bursty:m=6", "bursty", {"m": 6}), ("constant:tau=4", "constant", {"tau": 4}), ("none", "zeros", {}),
])
def test_one_segment_programs_are_the_delay_models(spec, pattern, params):
    ref = D.make(spec, 300)
    seq = Program([Segment(pattern, 300, params)]).expand()
    assert np.array_equal(seq.delays, ref.delays)


def test_pareto_pattern_is_the_delay_models_formula_and_clipping_is_counted():
    seq = Program([Segment("pareto", 5000, {"alpha": 1.5, "scale": 3.0, "seed": 4})]).expand()
    ref = D.make("pareto:alpha=1.5,scale=3", 5000, seed=4)
    assert np.array_equal(seq.delays, ref.delays) and seq.clipped == ref.clipped > 0
    s = Program([Segment("constant", 10, {"tau": 5})]).expand()
    assert s.clipped == 5 and s.delays.tolist() == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]
    # tiny alpha: draws overflow to inf and are clipped like any other
    s = Program([Segment("pareto", 50, {"alpha": 1e-3, "scale": 1.0, "seed": 0})]).expand()
    assert s.clipped == int(np.count_nonzero(s.delays == np.arange(50))) > 0


def test_huge_parameters_clip_like_small_ones():
    for pat, key in [("constant", "tau"), ("straggler", "D"), ("bursty", "m"), ("ramp", "D"), ("two-point", "D")]:
        big = Program([Segment("zeros", 3), Segment(pat, 7, {key: 10**30})]).expand()
        small = Program([Segment("zeros", 3), Segment(pat, 7, {key: 10**6})]).expand()
        assert big == Program.from_json(big.params).expand()
        assert np.array_equal(big.delays, small.delays) and big.clipped == small.clipped, pat


def test_json_and_file_round_trip(tmp_path):
    prog = Program((Segment("ramp", 100, {"D": 9}), Segment("two-point", 50, {"p": 0.1, "D": 30}),
                    Segment("pareto", 20, {"alpha": 2.0, "scale": 1.0, "seed": 1})))
    text = json.dumps(prog.to_json())
    assert Program.from_json(json.loads(text)) == prog and Program.from_json(text) == prog
    save(prog, tmp_path / "p.json")
    back = load(tmp_path / "p.json")
    assert back == prog and hash(back) == hash(prog)
    assert back.expand() == prog.expand()  # deterministic replay, params included
    seq = prog.expand()
    assert seq.params["describe"] == prog.describe()
    assert Program.from_json(seq.params) == prog
    D.save_trace(seq, tmp_path / "trace.json")  # a saved expanded trace replays as its program too
    assert load(tmp_path / "trace.json") == prog
    assert D.DelaySequence.from_json_dict(json.loads((tmp_path / "trace.json").read_text())) == seq


def test_defaults_are_filled_in_and_segments_are_immutable():
    seg = Segment("pareto", 3, {"alpha": 2})
    assert dict(seg.params) == {"alpha": 2.0, "scale": 3.0, "seed": 0} and isinstance(seg.params["alpha"], float)
    assert Segment("two-point", 4).to_json() == {"pattern": "two-point", "length": 4, "params": {"p": 0.1, "D": 100}}
    with pytest.raises(TypeError):
        seg.params["alpha"] = 3.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        seg.length = 4  # type: ignore[misc]
    assert Segment("constant", 5.0, {"tau": 2.0}) == Segment("constant", 5, {"tau": 2})  # integral floats accepted
    assert eval(repr(seg), {"Segment": Segment}) == seg
    prog = Program([seg, Segment("zeros", 2)])
    assert eval(repr(prog), {"Segment": Segment, "Program": Program}) == prog
    assert len({prog, Program([seg, Segment("zeros", 2)])}) == 1
    assert pickle.loads(pickle.dumps(prog)) == prog and copy.deepcopy(prog) == prog
    assert dataclasses.replace(seg, length=9) == Segment("pareto", 9, {"alpha": 2})


def test_describe_is_stable():
    prog = Program((Segment("constant", 500, {"tau": 3}), Segment("straggler", 9000, {"D": 9000})))
    assert prog.describe() == "constant(tau=3) x 500 | straggler(D=9000) x 9000"
    prog = Program((Segment("zeros", 10), Segment("two-point", 50, {"p": 1 / 3, "D": 30}),
                    Segment("pareto", 20, {"alpha": 2.0, "scale": 1.5, "seed": 1}), Segment("bursty", 7, {"m": 2}),
                    Segment("ramp", 8, {"D": 1})))
    assert prog.describe() == ("zeros() x 10 | two-point(p=0.333333,D=30) x 50 | pareto(alpha=2,scale=1.5,seed=1) x 20"
                               " | bursty(m=2) x 7 | ramp(D=1) x 8")
    # the parameter order is the pattern's, not the caller's
    assert Segment("two-point", 3, {"D": 1, "p": 0.5}).describe() == "two-point(p=0.5,D=1) x 3"


@pytest.mark.parametrize("make, needle", [
    (lambda: Segment("spiral", 3), r"segment pattern must be one of 'zeros', .*; got 'spiral'"),
    (lambda: Segment("constant", 0, {"tau": 1}),
     r"parameter 'length' of segment 'constant' must be an integer in \[1, 1e\+08\]; got 0"),
    (lambda: Segment("constant", True), r"parameter 'length' of segment 'constant'.*got True"),
    (lambda: Segment("zeros", MAX_T + 1), r"parameter 'length' of segment 'zeros'"),
    (lambda: Segment("constant", 5, {"tau": -1}),
     r"parameter 'tau' of segment 'constant' must be an integer in \[0, inf\); got -1"),
    (lambda: Segment("constant", 5, {"tau": 1.5}), r"parameter 'tau' of segment 'constant'.*got 1.5"),
    (lambda: Segment("two-point", 5, {"p": 0.0, "D": 3}),
     r"parameter 'p' of segment 'two-point' must be a finite real in \(0, 1\]; got 0.0"),
    (lambda: Segment("two-point", 5, {"p": 1.5}), r"parameter 'p' of segment 'two-point'.*got 1.5"),
    (lambda: Segment("pareto", 5, {"alpha": float("nan")}), r"parameter 'alpha' of segment 'pareto'.*got nan"),
    (lambda: Segment("pareto", 5, {"scale": "3"}), r"parameter 'scale' of segment 'pareto'.*got '3' of type str"),
    (lambda: Segment("pareto", 5, {"seed": -3}), r"parameter 'seed' of segment 'pareto' must be an integer in \[0"),
    (lambda: Segment("ramp", 5, {"tau": 1}), r"unknown parameter 'tau' \(= 1\) for segment 'ramp'; allowed parameters: 'D'"),
    (lambda: Segment("zeros", 5, {"tau": 1}), r"allowed parameters: none"),
    (lambda: Segment("zeros", 5, [1]), r"params of segment 'zeros' must be a dict"),
    (lambda: Program(()), "at least one Segment"),
    (lambda: Program([Segment("zeros", 1), "zeros"]), r"program segment 1 must be a Segment"),
    (lambda: Program([Segment("zeros", MAX_T), Segment("zeros", 1)]), r"total length T must be at most"),
    (lambda: Program.from_json({"segments": [{"pattern": "zeros"}]}), r"program segment 0 \(of 1\) must be an object"),
    (lambda: Program.from_json({"segments": [{"pattern": "zeros", "length": 1},
                                             {"pattern": "ramp", "length": 4, "params": {"D": -2}}]}),
     r"program segment 1 \(of 2\): parameter 'D' of segment 'ramp' must be an integer in \[0, inf\); got -2"),
    (lambda: Program.from_json({"segments": [], "extra": 1}), r"unknown key 'extra'"),
    (lambda: Program.from_json("[1, 2"), r"a program must be JSON"),
    (lambda: Program.from_json([1]), r"a program is a JSON object"),
])
def test_bad_programs_name_the_parameter(make, needle):
    with pytest.raises(ValueError, match=needle):
        make()


def test_load_reports_the_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read program"):
        load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text(json.dumps({"segments": [{"pattern": "constant", "length": 2, "params": {"tau": -1}}]}))
    with pytest.raises(ValueError, match=r"parameter 'tau'.*\[program file .*bad.json\]"):
        load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="needs a Program"):
        save({"segments": []}, tmp_path / "x.json")  # type: ignore[arg-type]


def test_expansion_is_fast_at_a_million_steps():
    prog = Program((Segment("ramp", 400_000, {"D": 100}), Segment("pareto", 400_000, {"alpha": 1.5, "scale": 3.0, "seed": 0}),
                    Segment("two-point", 200_000, {"p": 0.01, "D": 5000})))
    prog.expand()  # warm up
    t0 = time.perf_counter()
    seq = prog.expand()
    elapsed = time.perf_counter() - t0
    assert len(seq) == 1_000_000 and seq.delays.dtype == np.int64
    assert elapsed < 1.0, elapsed  # typically ~0.05 s


@given(st.sampled_from(sorted(PATTERNS)), st.integers(1, 60), st.data())
def test_raw_is_int64_of_the_segment_length(pattern, n, data):
    seg = data.draw(vst.segments(min_length=n, max_length=n, patterns=[pattern]))
    r = seg.raw()
    assert r.dtype == np.int64 and r.shape == (n,) and (r >= 0).all()
    assert PG.Segment(seg.pattern, seg.length, dict(seg.params)) == seg

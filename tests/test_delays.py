"""Tests for verify.models.delays: delay-sequence models, specs, statistics and traces."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from verify.search import strategies as vst

from theory.validation import DelaySequenceError, validate_delays
from verify.models.delays import (
    MODELS,
    DelaySequence,
    DelayStats,
    from_trace,
    load_trace,
    make,
    parse_spec,
    save_trace,
)

GENERATED = sorted(set(MODELS) - {"replay"})
RANDOM = [m for m in GENERATED if MODELS[m].random]
DETERMINISTIC = [m for m in GENERATED if not MODELS[m].random]


# ------------------------------------------------------------------------------------------
# Every model: validity, length, determinism
# ------------------------------------------------------------------------------------------


def test_registry_lists_the_models() -> None:
    expected = {
        "none", "constant", "bursty", "straggler", "ksj-straggler", "bimodal", "geometric",
        "poisson", "pareto", "lognormal", "workers", "compute", "replay",
    }
    assert set(MODELS) == expected
    assert set(RANDOM) == {"bimodal", "geometric", "poisson", "pareto", "lognormal", "workers", "compute"}
    for m in MODELS.values():
        assert m.description and isinstance(m.defaults, dict)
    assert MODELS["pareto"].defaults == {"alpha": 1.5, "scale": 3.0}


@given(model=st.sampled_from(GENERATED), T=st.integers(1, 400), seed=st.integers(0, 2**32))
def test_every_model_is_causal_with_length_T(model: str, T: int, seed: int) -> None:
    seq = make(model, T, seed=seed)
    d = validate_delays(seq.delays, length=T)
    assert len(seq) == T and seq.delays.dtype == np.int64
    assert np.all(d <= np.arange(T)) and np.all(d >= 0)
    assert not seq.delays.flags.writeable
    assert 0 <= seq.clipped <= T
    assert seq.model == model and not seq.adaptive
    if model in DETERMINISTIC:
        assert seq.clipped == 0 and seq.seed is None
    else:
        assert seq.seed == seed
    json.dumps(seq.params)  # plain types only


@pytest.mark.parametrize("model", RANDOM)
def test_random_models_are_reproducible_and_seed_dependent(model: str) -> None:
    a, b = make(model, 2000, seed=7), make(model, 2000, seed=7)
    assert a == b
    assert np.array_equal(a.delays, b.delays)
    assert not np.array_equal(a.delays, make(model, 2000, seed=8).delays)


@pytest.mark.parametrize("model", DETERMINISTIC)
def test_deterministic_models_ignore_the_seed(model: str) -> None:
    assert make(model, 300, seed=1) == make(model, 300, seed=2) == make(model, 300)


def test_random_models_do_not_touch_the_global_rng() -> None:
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for model in RANDOM:
        make(model, 100, seed=0)
    assert np.array_equal(np.random.get_state()[1], before)


# ------------------------------------------------------------------------------------------
# Defining statistics of the constructions
# ------------------------------------------------------------------------------------------


@given(T=st.integers(1, 5000))
def test_straggler_default_is_the_last_step(T: int) -> None:
    s = make("straggler", T).stats()
    assert s.tau_max == T - 1 and s.sum == T - 1
    assert s.tau_avg == (T - 1) / T
    assert s.n_nonzero == (1 if T > 1 else 0)


@given(data=st.data(), T=st.integers(1, 1000))
def test_straggler_at_position(data: st.DataObject, T: int) -> None:
    P = data.draw(st.integers(1, T))
    seq = make(f"straggler:position={P}", T)
    expected = np.zeros(T, dtype=np.int64)
    expected[P - 1] = P - 1
    assert np.array_equal(seq.delays, expected)
    assert seq.params == {"position": P}


@given(T=st.integers(2, 5000))
def test_ksj_straggler_stats(T: int) -> None:
    seq = make("ksj-straggler", T)
    s = seq.stats()
    assert seq.delays[0] == 0 and seq.delays[-1] == T - 1
    assert s.tau_max == T - 1
    assert s.sum == 2 * T - 3 and s.tau_avg == (2 * T - 3) / T
    assert np.all(seq.delays[1:-1] == 1)
    assert abs(make("ksj-straggler", 10**5).stats().tau_avg - 2) < 1e-4


@given(m=st.integers(0, 60), K=st.integers(1, 40))
def test_bursty_full_periods(m: int, K: int) -> None:
    seq = make(f"bursty:m={m}", K * (m + 1))
    s = seq.stats()
    assert s.sum == K * m * (m + 1) // 2
    assert s.tau_max == m
    assert s.tau_avg == m / 2
    # counting lemma, exact form, with one breakpoint per period at the shared stale index:
    # straddlers N = K m, |B| = K, and N^2 + |B| N = 2 |B| sum d holds with equality.
    t = np.arange(1, len(seq) + 1)
    stale = t - seq.delays
    B = np.arange(K) * (m + 1) + 1
    N = sum(int(np.any((stale[j] <= B) & (B < t[j]))) for j in range(len(seq)))
    assert N == K * m
    assert N**2 + K * N == 2 * K * s.sum


@given(tau=st.integers(0, 200), T=st.integers(1, 2000))
def test_constant(tau: int, T: int) -> None:
    seq = make(f"constant:tau={tau}", T)
    assert np.array_equal(seq.delays, np.minimum(np.arange(T), tau))
    k = min(tau, T - 1)  # steps 1..k+1 ramp 0..k, the rest equal tau
    assert seq.stats().sum == k * (k + 1) // 2 + max(0, T - tau - 1) * tau
    assert seq.stats().tau_max == min(tau, T - 1)


def test_none_is_all_zero() -> None:
    s = make("none", 1000).stats()
    assert (s.sum, s.tau_max, s.n_nonzero) == (0, 0, 0)


def test_bimodal_mean_in_binomial_band() -> None:
    T, p, D = 200_000, 0.3, 10
    seq = make(f"bimodal:p={p},D={D}", T, seed=3)
    s = seq.stats()
    band = 5 * math.sqrt(T * p * (1 - p))  # 5-sigma binomial band on #{d_t = D}
    assert abs(s.n_nonzero - p * T) <= band + D
    assert abs(s.sum - p * D * T) <= D * (band + D)
    assert s.tau_max == D
    assert set(np.unique(seq.delays[D:])) <= {0, D}


def test_bimodal_clipping_is_counted() -> None:
    seq = make("bimodal:p=1,D=50", 100, seed=0)
    assert np.array_equal(seq.delays, np.minimum(np.arange(100), 50))
    assert seq.clipped == 50  # steps t = 1..50 have t-1 < 50


@pytest.mark.parametrize(
    "spec, mean, sd",
    [("geometric:mean=4", 4.0, math.sqrt(4 * 5)), ("poisson:lam=6", 6.0, math.sqrt(6))],
)
def test_iid_means(spec: str, mean: float, sd: float) -> None:
    T = 100_000
    s = make(spec, T, seed=11).stats()
    assert abs(s.tau_avg - mean) < 5 * sd / math.sqrt(T) + 0.01


def test_geometric_mean_zero_is_all_zero() -> None:
    assert make("geometric:mean=0", 500, seed=1).stats().sum == 0


def test_pareto_matches_the_reference_sanity_run() -> None:
    # paper.md Appendix A: floor(3 * default_rng(0).pareto(1.5, T)), clipped; tau_avg 5.4, tau_max 7,379
    s = make("pareto:alpha=1.5,scale=3", 200_000, seed=0)
    raw = np.floor(3 * np.random.default_rng(0).pareto(1.5, 200_000))
    assert np.array_equal(s.delays, np.minimum(raw, np.arange(200_000)))
    assert s.stats().tau_max == 7379 and round(s.stats().tau_avg, 1) == 5.4
    assert s.clipped == int(np.count_nonzero(raw > np.arange(200_000)))
    assert make("pareto", 1000, seed=0) == make("pareto:alpha=1.5,scale=3", 1000, seed=0)


def test_lognormal_recipe() -> None:
    s = make("lognormal:mu=0.5,s=0.8", 5000, seed=4)
    raw = np.floor(np.random.default_rng(4).lognormal(0.5, 0.8, 5000))
    assert np.array_equal(s.delays, np.minimum(raw, np.arange(5000)))


# ------------------------------------------------------------------------------------------
# Worker pool
# ------------------------------------------------------------------------------------------


@given(
    n=st.integers(1, 12),
    dist=st.sampled_from(["exponential", "pareto", "lognormal", "constant"]),
    spread=st.sampled_from([1.0, 2.0, 4.0, 50.0]),
    T=st.integers(1, 400),
    seed=st.integers(0, 2**32),
)
@example(n=1, dist="pareto", spread=4.0, T=50, seed=0)  # the n == 1 branch runs at least once
def test_workers_invariants(n: int, dist: str, spread: float, T: int, seed: int) -> None:
    seq = make(f"workers:n={n},dist={dist},spread={spread}", T, seed=seed)
    d = seq.delays
    assert np.all(d <= np.arange(T)) and seq.clipped == 0
    w = seq.wall_clock
    assert w is not None and w.shape == (T,) and np.all(np.diff(w) >= 0) and w[0] > 0
    # every step is missed by the n-1 other gradients in flight: sum d_t <= (n-1) T
    assert seq.stats().sum <= (n - 1) * T
    if n == 1:
        assert seq.stats().sum == 0


@pytest.mark.parametrize("dist", ["exponential", "pareto", "lognormal", "constant"])
def test_workers_homogeneous_tau_avg_is_n_minus_1(dist: str) -> None:
    n, T = 8, 40_000
    s = make(f"workers:n={n},dist={dist}", T, seed=5).stats()
    assert abs(s.tau_avg - (n - 1)) < 0.05


@given(n=st.integers(1, 10), T=st.integers(1, 300))
def test_workers_constant_homogeneous_is_exact(n: int, T: int) -> None:
    # ties broken by worker index: steps 1..n get delays 0..n-1, then n-1 forever
    seq = make(f"workers:n={n},dist=constant", T)
    expected = np.minimum(np.arange(T), n - 1)
    assert np.array_equal(seq.delays, expected)
    assert np.array_equal(seq.wall_clock, np.arange(T) // n + 1.0)


def _reference_constant_pool(n: int, spread: float, T: int) -> np.ndarray:
    """Independent (sort-based, heap-free) simulation for deterministic compute times."""
    mu = np.logspace(0.0, math.log10(spread), n) if n > 1 else np.ones(1)
    events = []
    for i in range(n):
        time = 0.0
        for k in range(T):
            time = time + float(mu[i])
            events.append((time, i, k))
    events.sort()
    events = events[:T]
    last_step: dict[int, int] = {}
    delays = []
    for t, (_, i, _) in enumerate(events, start=1):
        read = last_step.get(i, 0) + 1
        delays.append(t - read)
        last_step[i] = t
    return np.array(delays)


@given(n=st.integers(1, 6), spread=st.sampled_from([1.0, 2.0, 3.0, 8.0, 10.0]), T=st.integers(1, 120))
def test_workers_heterogeneous_constant_matches_reference(n: int, spread: float, T: int) -> None:
    seq = make(f"workers:n={n},dist=constant,spread={spread}", T)
    assert np.array_equal(seq.delays, _reference_constant_pool(n, spread, T))


def test_workers_heterogeneous_are_faster_for_fast_workers() -> None:
    # with spread, slow workers' gradients are staler; tau_avg stays <= n-1
    s = make("workers:n=8,spread=100", 20_000, seed=2).stats()
    assert s.tau_avg <= 7 and s.tau_max > 7
    assert make("workers:n=8,spread=100", 20_000, seed=2).params == {"n": 8, "dist": "exponential", "spread": 100.0}


def test_workers_params_record_only_the_used_shape() -> None:
    assert make("workers:n=3,dist=pareto", 10, seed=0).params == {
        "n": 3, "dist": "pareto", "spread": 1.0, "alpha": 2.5
    }
    assert make("workers:n=3,dist=lognormal,s=0.5", 10, seed=0).params["s"] == 0.5
    with pytest.raises(ValueError, match="alpha"):
        make("workers:dist=exponential,alpha=3", 10, seed=0)


# ------------------------------------------------------------------------------------------
# DelaySequence / DelayStats
# ------------------------------------------------------------------------------------------


@given(
    d=vst.causal_delays(max_T=200, max_delay=50).map(lambda a: a.tolist()),
    data=st.data(),
)
def test_stats_and_prefix(d: list[int], data: st.DataObject) -> None:
    seq = from_trace(d, source="test")
    n = data.draw(st.integers(1, len(d)))
    s = seq.stats(upto=n)
    arr = np.array(d[:n])
    assert isinstance(s, DelayStats)
    assert s.T == n and s.sum == arr.sum() and s.tau_max == arr.max()
    assert s.tau_avg == arr.sum() / n
    assert s.n_nonzero == np.count_nonzero(arr)
    assert s.quantiles == {k: float(np.quantile(arr, q)) for k, q in [("q50", .5), ("q90", .9), ("q99", .99)]}
    assert s == seq.prefix(n).stats()
    assert np.array_equal(seq.prefix(n).delays, arr)
    json.dumps(s.as_dict())
    assert seq.params == {"source": "test"} and seq.model == "replay"


def test_prefix_keeps_wall_clock_and_bounds_clipped() -> None:
    seq = make("workers:n=4", 100, seed=1)
    p = seq.prefix(10)
    assert np.array_equal(p.wall_clock, seq.wall_clock[:10])
    b = make("bimodal:p=1,D=50", 100, seed=0)
    assert b.prefix(20).clipped == 20 and b.prefix(100).clipped == 50


def test_json_round_trip_including_wall_clock(tmp_path) -> None:
    for spec in ["workers:n=5,spread=3", "pareto", "straggler:position=7"]:
        seq = make(spec, 500, seed=9)
        back = DelaySequence.from_json_dict(json.loads(json.dumps(seq.to_json_dict())))
        assert back == seq
        save_trace(seq, tmp_path / "s.json")
        assert DelaySequence.from_json_dict(json.loads((tmp_path / "s.json").read_text())) == seq
        # and the recorded params regenerate the sequence
        assert make({"model": seq.model, "params": seq.params}, 500, seed=seq.seed) == seq


def test_sequence_constructor_validates() -> None:
    with pytest.raises(DelaySequenceError, match=r"\[2\]"):
        DelaySequence(np.array([0, 1, 3]), "x", {}, None)
    with pytest.raises(DelaySequenceError):
        DelaySequence(np.array([], dtype=int), "x", {}, None)
    with pytest.raises(ValueError, match=r"wall_clock\[1\]"):
        DelaySequence(np.array([0, 1]), "x", {}, None, wall_clock=np.array([2.0, 1.0]))
    with pytest.raises(ValueError, match="clipped"):
        DelaySequence(np.array([0, 1]), "x", {}, None, clipped=3)
    with pytest.raises(ValueError, match="upto"):
        make("none", 5).stats(upto=6)
    with pytest.raises(ValueError, match="JSON"):
        from_trace([0], obj=object())
    seq = make("none", 5)
    with pytest.raises(ValueError):
        seq.delays[0] = 1


# ------------------------------------------------------------------------------------------
# Traces: replay round trips and bad traces
# ------------------------------------------------------------------------------------------


def _write(path, d, fmt: str) -> None:
    if fmt == "npy":
        np.save(path, np.asarray(d))
    elif fmt == "json":
        path.write_text(json.dumps(list(d)))
    elif fmt == "json-object":
        path.write_text(json.dumps({"delays": list(d)}))
    elif fmt == "txt":
        path.write_text("\n".join(map(str, d)) + "\n")
    elif fmt == "csv":
        path.write_text(",".join(map(str, d)))


FORMATS = {"npy": ".npy", "json": ".json", "json-object": ".json", "txt": ".txt", "csv": ".csv"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_replay_round_trip(tmp_path, fmt: str) -> None:
    seq = make("pareto", 3000, seed=1)
    path = tmp_path / f"trace{FORMATS[fmt]}"
    _write(path, seq.delays.tolist(), fmt)
    loaded = load_trace(path)
    assert loaded.dtype == np.int64 and np.array_equal(loaded, seq.delays)
    rep = make(f"replay:path={path}", 3000)
    assert np.array_equal(rep.delays, seq.delays)
    assert rep.model == "replay" and rep.params == {"path": str(path)} and rep.clipped == 0
    with pytest.raises(DelaySequenceError, match="length 2999"):
        make(f"replay:path={path}", 2999)


def test_save_trace_then_load(tmp_path) -> None:
    seq = make("workers:n=3", 200, seed=0)
    save_trace(seq, tmp_path / "w.json")
    assert np.array_equal(load_trace(tmp_path / "w.json"), seq.delays)


BAD_VALUES = {
    "negative": (-1, "negative"),
    "non-integer": (2.5, "not an integer"),
    "nan": (math.nan, "not finite"),
    "acausal": (None, "exceeds"),  # placeholder: index + 1
}


@given(
    length=st.integers(3, 60),
    data=st.data(),
    kind=st.sampled_from(sorted(BAD_VALUES)),
    fmt=st.sampled_from(["npy", "json", "txt", "csv", "array"]),
)
def test_bad_traces_name_the_first_offending_step(tmp_path_factory, length, data, kind, fmt) -> None:
    d: list = [0] * length
    i = data.draw(st.integers(0, length - 1), label="first bad index")
    value, words = BAD_VALUES[kind]
    bad = (lambda j: j + 1) if kind == "acausal" else (lambda j: value)
    d[i] = bad(i)
    # a second, later offence of the same kind must not be reported (validate_delays checks the
    # kinds in the order: non-finite, non-integer, negative, acausal)
    j = data.draw(st.integers(i, length - 1), label="later bad index")
    d[j] = bad(j)
    if fmt == "array":
        with pytest.raises(DelaySequenceError, match=words) as exc:
            from_trace(d)
    else:
        path = tmp_path_factory.mktemp("bad") / f"t{FORMATS[fmt]}"
        _write(path, [float(x) if isinstance(x, float) else x for x in d], fmt)
        with pytest.raises(DelaySequenceError, match=words) as exc:
            load_trace(path)
        with pytest.raises(DelaySequenceError):
            make(f"replay:path={path}", length)
    assert f"[{i}] (step t={i + 1})" in str(exc.value)


def test_trace_edge_cases(tmp_path) -> None:
    p = tmp_path / "null.json"
    p.write_text("[0, 1, null, 2]")
    with pytest.raises(DelaySequenceError, match=r"\[2\]"):
        load_trace(p)
    p = tmp_path / "word.txt"
    p.write_text("0\n1\nseven\n")
    with pytest.raises(DelaySequenceError, match=r"\[2\]"):
        load_trace(p)
    p = tmp_path / "obj.json"
    p.write_text('{"x": [0]}')
    with pytest.raises(DelaySequenceError, match="delays"):
        load_trace(p)
    p = tmp_path / "two_d.npy"
    np.save(p, np.zeros((2, 2), dtype=int))
    with pytest.raises(DelaySequenceError, match="1-dimensional"):
        load_trace(p)
    with pytest.raises(ValueError, match="extension"):
        load_trace(tmp_path / "t.parquet")
    with pytest.raises(DelaySequenceError, match=r"\[1\]"):
        from_trace([0, 2, 1])  # replay never clips


# ------------------------------------------------------------------------------------------
# Specs
# ------------------------------------------------------------------------------------------


def test_parse_spec() -> None:
    assert parse_spec("pareto:alpha=1.5,scale=3") == ("pareto", {"alpha": 1.5, "scale": 3})
    assert parse_spec(" constant : tau = 5 ") == ("constant", {"tau": 5})
    assert parse_spec("none") == ("none", {})
    assert parse_spec("workers:n=4,dist=pareto,spread=1e2") == (
        "workers", {"n": 4, "dist": "pareto", "spread": 100.0}
    )
    assert isinstance(parse_spec("constant:tau=5")[1]["tau"], int)
    assert parse_spec({"model": "bursty", "m": 3}) == ("bursty", {"m": 3})
    assert parse_spec({"model": "bursty", "params": {"m": 3}}) == ("bursty", {"m": 3})
    assert make("constant:tau=5.0", 10) == make({"model": "constant", "tau": 5}, 10)


@pytest.mark.parametrize(
    "spec, T, seed, words",
    [
        ("nosuch", 10, None, ["nosuch", "known models", "pareto"]),
        ("pareto:beta=2", 10, 0, ["beta", "2", "alpha", "scale"]),
        ("constant:tau=-1", 10, None, ["tau", "-1", "[0, inf)"]),
        ("constant:tau=2.5", 10, None, ["tau", "2.5", "integer"]),
        ("constant:tau=abc", 10, None, ["tau", "abc"]),
        ("bursty:m=true", 10, None, ["'m'", "True", "bool"]),
        ("bimodal:p=1.5", 10, 0, ["'p'", "1.5", "[0, 1]"]),
        ("bimodal:D=-3", 10, 0, ["'D'", "-3"]),
        ("pareto:alpha=0", 10, 0, ["alpha", "0", "(0, inf)"]),
        ("pareto:scale=nan", 10, 0, ["scale", "nan"]),
        ("lognormal:s=-1", 10, 0, ["'s'", "-1"]),
        ("geometric:mean=-2", 10, 0, ["mean", "-2"]),
        ("poisson:lam=-0.5", 10, 0, ["lam", "-0.5"]),
        ("straggler:position=11", 10, None, ["position", "11", "T=10"]),
        ("straggler:position=0", 10, None, ["position", "0"]),
        ("workers:n=0", 10, 0, ["'n'", "0"]),
        ("workers:dist=weibull", 10, 0, ["dist", "weibull", "exponential"]),
        ("workers:spread=0.5", 10, 0, ["spread", "0.5"]),
        ("workers:dist=pareto,alpha=1", 10, 0, ["alpha", "1", "(1, inf)"]),
        ("workers:s=2", 10, 0, ["'s'", "lognormal"]),
        ("replay", 10, None, ["path"]),
        ("constant:tau", 10, None, ["tau", "key=value"]),
        ("constant:tau=1,tau=2", 10, None, ["tau", "twice"]),
        (":tau=1", 10, None, ["model name"]),
        ("none", 0, None, ["T", "0", "positive integer"]),
        ("none", 2.0, None, ["T", "2.0"]),
        ("none", True, None, ["T", "True"]),
        ("pareto", 10, -1, ["seed", "-1"]),
        ({"tau": 1}, 10, None, ["model"]),
    ],
)
def test_bad_specs_name_the_parameter(spec, T, seed, words) -> None:
    with pytest.raises(ValueError) as exc:
        make(spec, T, seed=seed)
    msg = str(exc.value)
    for w in words:
        assert w in msg, (w, msg)


def test_theory_accepts_a_delay_sequence():
    """Issue 21: theory.first_horizon(verify.models.delays.make(...)) failed with "delays must be 1-dimensional;
    got shape ()". Theory reads the object's .delays (theory.validation.DelaysLike; theory never imports
    verify). Hand values of tests/test_calculators.py::test_first_horizon_hand_values: constant delay 5
    (clipped to t-1), beta = 1, F = 1/2, eps = 1/2, sigma = 0: Theorem D' from T = 89597, D from 93694."""
    import theory

    seq = make("constant:tau=5", 100_000, seed=0)
    assert isinstance(seq, DelaySequence)
    kw = dict(beta=1.0, F=0.5, sigma=0.0, eps=0.5)
    assert theory.first_horizon(seq, result="picky-explicit-sharp", **kw) == 89597
    assert theory.first_horizon(seq, result="picky-explicit", **kw) == 93694
    # every theory function that takes delays goes through validate_delays
    assert theory.validate_delays(seq).tolist() == np.minimum(np.arange(100_000), 5).tolist()
    # something that is neither a sequence nor carries one: the message says what is accepted
    with pytest.raises(ValueError, match=r"1-d sequence of integers \(or an object with a \.delays array"):
        theory.first_horizon(object(), **kw)

"""Task-keyed noise (issues 14, 23): the noise of a gradient is seeded by the task that computed it, in
the simulators exactly as on a real asynchronous worker (verify.runtime.async_server), so a recorded trace
replays; the kernel draws each task's row on demand (memory flat in T).

Oracle: a pure-Python Philox4x64-10 written here (Python integers, exact 128-bit products), checked
against the Random123 known-answer vectors (the ``kat_vectors`` file of the Random123 distribution,
philox4x64 with 10 rounds), and the models' transforms written here from their definitions; a
hand-written SGD loop draws each step's noise from them."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from verify import algorithms as A
from verify.models import delays as D
from verify.models import problems as P
from verify.models.noise import Noise, make_noise, philox4x64, task_words
from verify.io import runstore
from verify.engine import run_batch
from verify.io.output import OutputDir

NOISES = ("gaussian", "bounded", "rademacher", "student_t:df=3")

# ---- the oracle: Philox4x64-10 in plain Python (Salmon et al. 2011), and the models' transforms ----
_M64 = 2**64 - 1
_MUL = (0xD2E7470EE14C6C93, 0xCA5A826395121157)
_WEYL = (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)
_DOMAIN = 0x7461736B  # "task": the second key word


def philox_py(ctr: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, int, int, int]:
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + _WEYL[0]) & _M64, (k1 + _WEYL[1]) & _M64
        p0, p1 = _MUL[0] * c0, _MUL[1] * c2
        c0, c1, c2, c3 = (p1 >> 64) ^ c1 ^ k0, p1 & _M64, (p0 >> 64) ^ c3 ^ k1, p0 & _M64
    return c0, c1, c2, c3


#: Random123 kat_vectors, philox4x64 10 rounds: (counter c0..c3, key k0 k1) -> 4 output words
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B)),
    ((_M64,) * 4, (_M64, _M64), (0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0)),
    ((0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
     (0x452821E638D01377, 0xBE5466CF34E90C6C),
     (0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6)),
]


def words_py(seed: int, task: int):
    """The stream of (seed, task): blocks of counter (j, task, 0, 0), key (seed, "task"), j = 0, 1, ..."""
    j = 0
    while True:
        yield from philox_py((j, task, 0, 0), (seed, _DOMAIN))
        j += 1


def row_py(spec: str, seed: int, task: int, dim: int) -> list[float]:
    """Task ``task``'s row, from the definitions: symmetric uniforms U = (2 (w >> 11) + 1 - 2^53) 2^-53,
    Marsaglia's polar normals, a normal row over its norm, sign bits, Bailey's polar Student-t."""
    w = words_py(seed, task)
    name = spec.split(":")[0]

    def sym() -> float:
        return (2 * (next(w) >> 11) + 1 - 2**53) * 2.0**-53

    def normals() -> list[float]:
        z: list[float] = []
        while len(z) < dim:
            u, v = sym(), sym()
            s = u * u + v * v
            if s < 1.0:
                m = math.sqrt(-2.0 * math.log(s) / s)
                z += [u * m, v * m]
        return z[:dim]

    if name == "gaussian":
        return [v * (1.0 / math.sqrt(dim)) for v in normals()]
    if name == "bounded":
        z = normals()
        s = 0.0
        for v in z:
            s += v * v
        return [v / math.sqrt(s) for v in z]
    if name == "rademacher":
        out = []
        for k in range(dim):
            if k % 64 == 0:
                word = next(w)
            out.append(1.0 / math.sqrt(dim) if (word >> (k % 64)) & 1 else -1.0 / math.sqrt(dim))
        return out
    df = float(spec.split("=")[1])
    out = []
    for _ in range(dim):
        while True:
            u, v = sym(), sym()
            if u * u + v * v <= 1.0:
                break
        q = u * u + v * v
        out.append(u * math.sqrt(df * (math.pow(q, -2.0 / df) - 1.0) / q) * (math.sqrt((df - 2) / df) / math.sqrt(dim)))
    return out


def _tasked(T: int, seed: int = 3) -> D.DelaySequence:
    base = D.make("geometric:mean=2", T, seed=seed)
    tasks = np.random.default_rng(seed).permutation(2 * T)[:T]  # distinct, not in step order
    return D.DelaySequence(base.delays, "tasked", {}, None, tasks=tasks)


# ---- the generator ----


@pytest.mark.parametrize("ctr, key, out", KAT)
def test_the_oracle_and_the_compiled_philox_give_the_known_answers(ctr, key, out):
    assert philox_py(ctr, key) == out
    got = philox4x64(*(np.uint64(v) for v in ctr + key))
    assert tuple(int(v) for v in got) == out


@settings(max_examples=60, deadline=None)
@given(ctr=st.tuples(*[st.integers(0, _M64)] * 4), key=st.tuples(*[st.integers(0, _M64)] * 2))
def test_the_compiled_philox_equals_the_oracle_and_numpys(ctr, key):
    got = tuple(int(v) for v in philox4x64(*(np.uint64(v) for v in ctr + key)))
    assert got == philox_py(ctr, key)
    # numpy's Philox (an independent C implementation) outputs block counter + 1 first
    c = (ctr[0] + (ctr[1] << 64) + (ctr[2] << 128) + (ctr[3] << 192) - 1) % 2**256
    bg = np.random.Philox(counter=np.array([(c >> (64 * i)) & _M64 for i in range(4)], np.uint64),
                          key=np.array(key, np.uint64))
    assert tuple(int(v) for v in bg.random_raw(4)) == got


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), task=st.integers(0, 2**63 - 1), n=st.integers(0, 13))
def test_a_tasks_stream_is_philox_keyed_by_seed_and_task(seed, task, n):
    w = words_py(seed, task)
    assert task_words(seed, task, n).tolist() == [next(w) for _ in range(n)]


@pytest.mark.parametrize("spec", NOISES + ("student_t:df=2.5", "student_t:df=30"))
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), task=st.integers(0, 2**63 - 1), dim=st.integers(1, 70))
def test_each_models_task_row_is_its_transform_of_the_stream(spec, seed, task, dim):
    """Bit for bit against the oracle (dim up to 70: two sign words for Rademacher, odd and even dims)."""
    got = make_noise(spec).task_rows(seed, [task], dim)[0]
    assert got.tolist() == row_py(spec, seed, task, dim)


def test_a_tasks_row_depends_on_the_seed_and_the_task_only():
    nz = make_noise("gaussian")
    rows = nz.task_rows(7, [5, 9, 5], 4)
    assert np.array_equal(rows[0], rows[2]) and not np.array_equal(rows[0], rows[1])
    assert not np.array_equal(nz.task_rows(8, [5], 4)[0], rows[0])
    # independent of the lane's own stream default_rng(seed): task 0 is not the stream's first row
    assert not np.array_equal(nz.task_rows(7, [0], 4)[0], nz.sample(np.random.default_rng(7), 1, 4)[0])


@pytest.mark.parametrize("bad, msg", [
    (dict(seed=-1, tasks=[0]), r"seed must be an integer in \[0, 9223372036854775807\]; got -1"),
    (dict(seed=2**63, tasks=[0]), r"seed must be an integer in \[0, 9223372036854775807\]"),
    (dict(seed=0, tasks=[0, -3]), r"tasks\[1\] = -3: a task must be an integer in \[0, 9223372036854775807\]"),
    (dict(seed=0, tasks=[0.5]), r"tasks must be integers in \[0, 9223372036854775807\]; got dtype float64"),
    (dict(seed=0, tasks=[2**64 - 1]), r"tasks\[0\] = 18446744073709551615: a task must be an integer in \[0, "),
])
def test_bad_seeds_and_tasks_are_named(bad, msg):
    with pytest.raises(ValueError, match=msg):
        make_noise("gaussian").task_rows(dim=3, **bad)


# ---- the laws: mean zero, E||row||^2 = 1 (exactly in law), the distributions ----

N_ROWS = 100_000


def _rows(spec: str, dim: int, seed: int) -> np.ndarray:
    return make_noise(spec).task_rows(seed, np.arange(N_ROWS) * 7 + 3, dim)  # N_ROWS distinct tasks


@pytest.mark.parametrize("spec", NOISES)
@pytest.mark.parametrize("dim", [1, 5])
def test_task_noise_mean_zero(spec, dim):
    """Per coordinate, sqrt(N dim) * mean is ~N(0,1) (CLT: every model has variance 1/dim per entry).
    |z| <= 5.5 for each coordinate: false-alarm rate <= dim * 3.8e-8."""
    X = _rows(spec, dim, 12345 + dim)
    z = X.mean(axis=0) * math.sqrt(N_ROWS * dim)
    assert np.all(np.abs(z) <= 5.5), z


@pytest.mark.parametrize("spec, var_sq_norm", [
    ("gaussian", lambda d: 2.0 / d),  # ||row||^2 = chi^2_d / d
    ("student_t:df=10", lambda d: (3.0 * 8 / 6 - 1.0) / d),  # E t^4 = 3 df^2/((df-2)(df-4))
    ("student_t:df=30", lambda d: (3.0 * 28 / 26 - 1.0) / d),
])
@pytest.mark.parametrize("dim", [1, 3, 10])
def test_task_noise_unit_variance(spec, var_sq_norm, dim):
    """mean of ||row||^2 over N = 1e5 tasks within 5 standard errors of 1 (two-sided normal
    false-alarm rate 5.7e-7; ||row||^2 has a finite 3rd moment here: Student-t with df > 6)."""
    X = _rows(spec, dim, 777 + dim)
    m = np.einsum("ij,ij->i", X, X).mean()
    se = math.sqrt(var_sq_norm(dim) / N_ROWS)
    assert abs(m - 1.0) <= 5 * se, (m, se)


@pytest.mark.parametrize("spec", ["bounded", "rademacher"])
@pytest.mark.parametrize("dim", [1, 4, 65])
def test_bounded_task_rows_have_unit_norm(spec, dim):
    X = make_noise(spec).task_rows(5, np.arange(2000), dim)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=0, atol=1e-14)
    if spec == "rademacher":
        assert set(np.unique(np.abs(X))) == {1.0 / math.sqrt(dim)}


@pytest.mark.parametrize("spec, law", [
    ("gaussian", stats.norm()),
    ("student_t:df=3", stats.t(3)),
    ("student_t:df=2.5", stats.t(2.5)),
    ("student_t:df=10", stats.t(10)),
])
def test_task_noise_entries_have_the_models_law(spec, law):
    """Kolmogorov-Smirnov of the 4 x 1e5 entries, scaled back to the standard law (N(0,1), t_df),
    at alpha = 1e-6 each (the scaling is the model's definition: 1/sqrt(dim), sqrt((df-2)/df)/sqrt(dim))."""
    dim = 4
    X = _rows(spec, dim, 2024).reshape(-1)
    df = float(spec.split("=")[1]) if "=" in spec else None
    scale = 1.0 / math.sqrt(dim) if df is None else math.sqrt((df - 2) / df) / math.sqrt(dim)
    assert stats.kstest(X / scale, law.cdf).pvalue > 1e-6


def test_rademacher_task_signs_are_fair_coins():
    """4 x 1e5 sign bits (dim 4: the low 4 bits of one word per row; and dim 64: every bit):
    an exact two-sided binomial test at alpha = 1e-6 each, and the bit positions balanced."""
    for dim in (4, 64):
        X = make_noise("rademacher").task_rows(31, np.arange(N_ROWS // (dim // 4)), dim)
        assert stats.binomtest(int((X > 0).sum()), X.size, 0.5).pvalue > 1e-6
        per_bit = (X > 0).mean(axis=0)  # each bit position: se = 1/(2 sqrt(n)); 5.5 se bounds
        assert np.all(np.abs(per_bit - 0.5) <= 5.5 * 0.5 / math.sqrt(X.shape[0])), per_bit


def test_bounded_task_rows_are_uniform_on_the_sphere_enough():
    """E x_j^2 = 1/d on S^{d-1}, d = 4, 1e5 rows: 5-sigma bounds (false-alarm rate <= 4 * 5.7e-7)."""
    d = 4
    X = _rows("bounded", d, 99)
    se = math.sqrt((3 / (d * (d + 2)) - 1 / d**2) / N_ROWS)
    assert np.all(np.abs((X**2).mean(axis=0) - 1 / d) <= 5 * se)


# ---- the simulators ----


@pytest.mark.parametrize("spec", NOISES)
def test_the_reference_loop_draws_each_steps_noise_from_its_task(spec):
    """Against a hand-written loop with the oracle's rows: no delays, plain SGD (accepts everything), eta fixed."""
    prob = P.make("quadratic", 3)
    alg = A.resolve("sgd", beta=prob.beta, F=prob.F, eps=1e-9, sigma=0.7, eta=0.05)
    T = 40
    tasks = np.arange(T)[::-1] * 3 + 11
    seq = D.DelaySequence(np.zeros(T, np.int64), "none", {}, None, tasks=tasks)
    run = A.reference_run(prob, seq, alg, seed=4, noise=make_noise(spec))
    x = np.array(prob.x1, dtype=float)
    for k in tasks:
        x = x - 0.05 * (np.asarray(prob.grad(x)) + 0.7 * np.array(row_py(spec, 4, int(k), 3)))
    assert run.accepted == T
    assert run.final_f == float(prob.f(x))


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("name", ["picky", "delayed-sgd", "delay-adaptive"])
def test_engine_and_reference_agree_on_task_keyed_noise(noise, name):
    prob = P.make("logsum", 5)
    seq = _tasked(2000)
    alg = A.resolve(name, beta=prob.beta, F=prob.F, eps=0.01, sigma=0.5, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    nz = make_noise(noise)
    ref = A.reference_run(prob, seq, alg, seed=11, noise=nz)
    (eng,) = run_batch(prob, seq, alg, [11], noise=nz)
    fields = ("first_hit", "accepted", "rejected", "min_grad_norm", "final_f", "final_grad_norm",
              "max_accepted_distance", "max_accepted_grad_gap")
    assert all(getattr(ref, f) == getattr(eng, f) for f in fields), [(f, getattr(ref, f), getattr(eng, f)) for f in fields]
    assert np.array_equal(ref.rejected_steps, eng.rejected_steps)
    # the precondition that makes this a test of the keyed path: it differs from the lane's own stream
    plain = D.DelaySequence(seq.delays, "tasked", {}, None)
    (unkeyed,) = run_batch(prob, plain, alg, [11], noise=nz)
    assert unkeyed.final_f != eng.final_f


def test_explicit_keys_equal_the_sequences_tasks_and_the_order_of_tasks_matters():
    prob = P.make("logsum", 5)
    seq = _tasked(500)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=0.5, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    plain = D.DelaySequence(seq.delays, "tasked", {}, None)
    a = A.reference_run(prob, seq, alg, seed=2)
    b = A.reference_run(prob, plain, alg, seed=2, noise_keys=seq.tasks)
    c = A.reference_run(prob, plain, alg, seed=2, noise_keys=lambda t: int(seq.tasks[t - 1]))
    assert a.final_f == b.final_f == c.final_f
    swapped = seq.tasks.copy()
    swapped[[100, 200]] = swapped[[200, 100]]
    d = A.reference_run(prob, plain, alg, seed=2, noise_keys=swapped)
    assert d.final_f != a.final_f
    with pytest.raises(ValueError, match="noise_keys has 10 entries; it needs one per step"):
        A.reference_run(prob, plain, alg, seed=2, noise_keys=np.arange(10))


def test_sigma_zero_ignores_the_tasks():
    prob = P.make("logsum", 5)
    seq = _tasked(300)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=0.0, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    a = A.reference_run(prob, seq, alg, seed=2)
    b = A.reference_run(prob, D.DelaySequence(seq.delays, "tasked", {}, None), alg, seed=2)
    assert a.final_f == b.final_f


@pytest.mark.parametrize("bad, msg", [
    (np.arange(4), r"tasks must have shape \(5,\)"),
    ([0, 1, -2, 3, 4], r"tasks\[2\] \(step t=3\) = -2"),
    ([0, 1, 2.5, 3, 4], r"tasks\[2\] \(step t=3\) = 2.5"),
    ([0, 1, np.nan, 3, 4], r"tasks\[2\] \(step t=3\) = nan"),
    ([True] * 5, "tasks must be integers"),
    (["a"] * 5, "tasks must be integers"),
])
def test_bad_tasks_are_named(bad, msg):
    with pytest.raises(ValueError, match=msg):
        D.DelaySequence(np.zeros(5, np.int64), "none", {}, None, tasks=bad)


def test_tasks_survive_json_prefix_runstore_and_the_replay_model(tmp_path):
    seq = _tasked(50)
    back = D.DelaySequence.from_json_dict(json.loads(json.dumps(seq.to_json_dict())))
    assert back == seq and np.array_equal(back.tasks, seq.tasks)
    assert np.array_equal(seq.prefix(10).tasks, seq.tasks[:10])
    assert seq != D.DelaySequence(seq.delays, "tasked", {}, None)  # tasks are part of equality
    # the replay model reads them (with the arrival times) from a JSON trace
    wall = np.cumsum(np.full(50, 0.01))
    timed = D.DelaySequence(seq.delays, "async-run", {}, None, wall_clock=wall, tasks=seq.tasks)
    path = tmp_path / "trace.json"
    D.save_trace(timed, path)
    rep = D.make(f"replay:path={path}", 50)
    assert np.array_equal(rep.tasks, seq.tasks) and np.array_equal(rep.wall_clock, wall)
    import gzip  # a gzipped JSON trace (as the shipped ones) reads the same

    gz = tmp_path / "trace.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    rgz = D.make(f"replay:path={gz}", 50)
    assert all(np.array_equal(getattr(rgz, a), getattr(rep, a)) for a in ("delays", "tasks", "wall_clock"))
    # and the run store keeps them
    prob = P.make("logsum", 5)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=0.5, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    run = A.reference_run(prob, rep, alg, seed=1)
    out = OutputDir(tmp_path / "store", flag="--save")
    runstore.write(out, [run], {"schema": "picky-simulate/3"})
    out.commit({})
    _, _, runs = runstore.load(tmp_path / "store", ("picky-simulate/3",))
    assert np.array_equal(runs[0].delays.tasks, seq.tasks) and runs[0].final_f == run.final_f


def test_the_engine_draws_task_rows_in_the_kernel_not_in_advance(monkeypatch):
    """The compiled engine never asks for precomputed rows (O(T d)): with Noise.task_rows disabled it
    still reproduces the reference (which uses them) bit for bit."""
    prob = P.make("logsum", 5)
    seq = _tasked(3000)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=0.5, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    ref = A.reference_run(prob, seq, alg, seed=6)

    def no_precomputation(*a, **k):
        raise AssertionError("the engine precomputed task rows")

    monkeypatch.setattr(Noise, "task_rows", no_precomputation)
    (eng,) = run_batch(prob, seq, alg, [6])
    assert (eng.final_f, eng.accepted, eng.first_hit) == (ref.final_f, ref.accepted, ref.first_hit)
    assert np.array_equal(eng.rejected_steps, ref.rejected_steps)


def test_task_keyed_lanes_in_threads_each_equal_their_reference():
    """Each lane keeps its own stream state: 6 lanes (seeds), 2 threads, one tasked sequence."""
    prob = P.make("logsum", 7)
    seq = _tasked(1500)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=0.5, delays={"tau_avg": seq.stats().tau_avg, "tau_max": float(seq.stats().tau_max)})
    seeds = [0, 1, 2, 3, 4, 2**63 - 1]
    eng = run_batch(prob, seq, alg, seeds, threads=2)
    finals = set()
    for s, e in zip(seeds, eng):
        ref = A.reference_run(prob, seq, alg, seed=s)
        assert (e.final_f, e.accepted) == (ref.final_f, ref.accepted), s
        finals.add(e.final_f)
    assert len(finals) == len(seeds)  # the seed is part of the key: six different runs

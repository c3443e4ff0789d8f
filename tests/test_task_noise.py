"""Task-keyed noise (issue 14): the noise of a gradient is seeded by the task that computed it, in
the simulators exactly as on a real asynchronous worker (verify.runtime.async_server), so a recorded trace replays.

Oracle: a hand-written SGD loop that draws each step's noise from ``task_generator(seed, task)``."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify import algorithms as A
from verify.models import delays as D
from verify.models import problems as P
from verify.models.noise import TASK_NOISE_DOMAIN, make_noise, task_generator
from verify.io import runstore
from verify.engine import run_batch
from verify.io.output import OutputDir

NOISES = ("gaussian", "bounded", "rademacher", "student_t:df=3")


def _tasked(T: int, seed: int = 3) -> D.DelaySequence:
    base = D.make("geometric:mean=2", T, seed=seed)
    tasks = np.random.default_rng(seed).permutation(2 * T)[:T]  # distinct, not in step order
    return D.DelaySequence(base.delays, "tasked", {}, None, tasks=tasks)


def test_a_tasks_row_depends_on_the_seed_and_the_task_only():
    nz = make_noise("gaussian")
    rows = nz.task_rows(7, [5, 9, 5], 4)
    assert np.array_equal(rows[0], rows[2]) and not np.array_equal(rows[0], rows[1])
    assert np.array_equal(rows[1], nz.sample(task_generator(7, 9), 1, 4)[0])
    assert not np.array_equal(nz.task_rows(8, [5], 4)[0], rows[0])
    # independent of the lane's own stream default_rng(seed): task 0 is not the stream's first row
    assert not np.array_equal(nz.task_rows(7, [0], 4)[0], nz.sample(np.random.default_rng(7), 1, 4)[0])


def test_the_reference_loop_draws_each_steps_noise_from_its_task():
    """Against a hand-written loop: no delays, plain SGD (accepts everything), eta fixed."""
    prob = P.make("quadratic", 3)
    alg = A.resolve("sgd", beta=prob.beta, F=prob.F, eps=1e-9, sigma=0.7, eta=0.05)
    T = 40
    tasks = np.arange(T)[::-1] * 3 + 11
    seq = D.DelaySequence(np.zeros(T, np.int64), "none", {}, None, tasks=tasks)
    run = A.reference_run(prob, seq, alg, seed=4)
    x = np.array(prob.x1, dtype=float)
    for k in tasks:
        z = np.random.default_rng(np.random.SeedSequence(4, spawn_key=(TASK_NOISE_DOMAIN, int(k)))).standard_normal(3)
        x = x - 0.05 * (np.asarray(prob.grad(x)) + 0.7 * (z * (1.0 / np.sqrt(3))))  # N(0, I/d): z times 1/sqrt(d)
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

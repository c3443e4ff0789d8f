"""The real asynchronous parameter server (issue 14, second part): Dask worker processes on 127.0.0.1,
real delays, and a recorded trace that the simulator replays exactly."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from verify.runtime import async_server as asyncrun
from verify.engine import events_reference
from verify.models import delays as D
from verify.models.noise import make_noise
from verify.cli import main
from verify.io.output import read_manifest


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    from verify.runtime.executors import local_cluster

    with local_cluster(3) as cluster, Client(cluster) as c:
        yield c


def _same(a, b):
    return all(getattr(a, f) == getattr(b, f) for f in ("first_hit", "accepted", "rejected", "steps_run",
                                                         "final_grad_norm", "min_grad_norm", "max_accepted_distance"))


@pytest.mark.parametrize("algorithm, extra", [("picky", {}), ("delayed-sgd", {"tau_max": 30.0}),
                                               ("delay-adaptive", {"tau_max": 30.0})])
def test_trace_replays_exactly(client, algorithm, extra):
    rec = asyncrun.run(algorithm, "logsum", 5, 3, "pareto:alpha=1.5", 200, eps=0.3, sigma=0.5, seed=3, client=client,
                       **extra)
    d = rec.result.delays.delays
    assert d.size == 200 and np.all(d >= 0) and np.all(d <= np.arange(200))  # causal, as the model says
    assert d.max() >= 1  # real asynchrony: some gradient was stale
    assert rec.gradient_mismatches == 0  # every worker computed at the snapshot it was handed
    assert [s["t"] for s in rec.steps] == list(range(1, 201))
    assert all(s["delay"] == s["t"] - s["issued"] for s in rec.steps)
    rep = asyncrun.replay(rec, "logsum", 5)
    assert _same(rep, rec.result) and np.array_equal(rep.rejected_steps, rec.result.rejected_steps)
    assert rec.result.delays.model == "async-run" and not rec.result.adaptive
    eng = asyncrun.replay(rec, "logsum", 5, engine="numba")  # the compiled engine replays it too
    assert _same(eng, rec.result) and np.array_equal(eng.rejected_steps, rec.result.rejected_steps)
    # the noise was keyed by task: the trace carries each step's task and arrival time ...
    trace = rec.result.delays
    assert sorted(trace.tasks.tolist()) == sorted(s["task"] for s in rec.steps) and len(set(trace.tasks)) == 200
    assert np.all(np.diff(trace.wall_clock) >= 0)
    # ... and the same delays with the lane's own noise stream give another run (the keys matter)
    from dataclasses import replace
    unkeyed = replace(rec, result=replace(rec.result, delays=D.DelaySequence(trace.delays, "async-run", {}, None)))
    assert asyncrun.replay(unkeyed, "logsum", 5).final_f != rec.result.final_f


def test_each_workers_gradient_carries_its_tasks_noise():
    prob = asyncrun._problem("logsum", 5)
    x = np.linspace(-1, 1, 5)
    g, _ = asyncrun.worker_gradient("logsum", 5, x, 0.0, "student_t:df=3", 0.5, 9, 17)
    z = make_noise("student_t:df=3").task_rows(9, [17], 5)[0]
    assert np.array_equal(g, np.asarray(prob.grad(x)) + 0.5 * z)
    g2, _ = asyncrun.worker_gradient("logsum", 5, x, 0.0, "student_t:df=3", 0.5, 9, 18)
    assert not np.array_equal(g, g2)


def test_a_straggler_makes_long_delays(client):
    slow = asyncrun.run("picky", "logsum", 5, 3, "straggler:factor=40", 150, eps=0.3, seed=1, client=client,
                        base_seconds=0.002)
    assert slow.result.delays.delays.max() >= 5  # the straggler's gradients arrive many steps late
    assert slow.speeds["factors"] == [40.0, 1.0, 1.0]


def test_bad_speed_models_name_the_parameter():
    with pytest.raises(ValueError, match="unknown speed model 'bogus'"):
        asyncrun.speed_factors("bogus", 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="parameter 'alpha' of speed model 'pareto' must be"):
        asyncrun.speed_factors("pareto:alpha=-1", 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="count = 5 exceeds the 3 workers"):
        asyncrun.speed_factors("straggler:count=5", 3, np.random.default_rng(0))


def test_delayed_sgd_needs_a_tau_max_known_in_advance(client):
    with pytest.raises(ValueError, match="defaults need tau_max .*give --tau-max"):
        asyncrun.run("delayed-sgd", "logsum", 5, 3, "uniform", 10, eps=0.3, client=client)


def test_a_worker_killed_mid_run(client):
    pids = client.run(os.getpid)
    victim = sorted(pids.items())[0]

    def kill_later():
        time.sleep(1.0)
        os.kill(victim[1], signal.SIGKILL)
    th = threading.Thread(target=kill_later)
    th.start()
    rec = asyncrun.run("picky", "logsum", 5, 3, "uniform", 400, eps=0.3, seed=2, client=client, base_seconds=0.01)
    th.join()
    assert len(rec.steps) == 400  # the run went on with the others
    w = rec.workers
    assert victim[0] in w["lost"] or w["restarted_or_new"], w  # and the record says what happened
    rep = asyncrun.replay(rec, "logsum", 5)
    assert _same(rep, rec.result)
    assert asyncrun.schedule_reproduced(rec)  # the event simulation on its compute times too (the slot is the worker)


def test_cli_saves_and_reports(tmp_path, capsys):
    d = tmp_path / "run"
    code = main(["async-run", "--algorithm", "picky", "--workers", "2", "--speeds", "uniform", "--steps", "60",
                 "--eps", "0.5", "--save", str(d), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["replay_reproduced"] is True and out["steps"] == 60
    read_manifest(d)
    detail = json.loads((d / "async.json").read_text())
    assert len(detail["steps_detail"]) == 60 and {"worker", "task", "issued", "compute_s", "arrival_s"} <= set(
        detail["steps_detail"][0])
    assert out["schedule_reproduced"] is True and len(detail["computations"]) == 60 + 2 - 1


def test_a_saved_noisy_trace_replays_in_picky_simulate(tmp_path, capsys):
    """``--save`` then ``picky simulate --delays replay:path=DIR/trace.json``: the same run (noise keyed by task)."""
    d = tmp_path / "run"
    common = ["--eps", "0.01", "--sigma", "0.5", "--eta", "0.1", "--rho", "0.5"]
    assert main(["async-run", "--algorithm", "picky", "--workers", "3", "--speeds", "pareto:alpha=1.5", "--steps", "80",
                 "--seed", "3", "--save", str(d), "--json", *common]) == 0
    real = json.loads(capsys.readouterr().out)["result"]

    def simulate(trace):
        assert main(["simulate", "--algorithm", "picky", "--delays", f"replay:path={trace}", "--steps", "80",
                     "--seeds", "1", "--seed0", "3", "--json", *common]) == 0
        return json.loads(capsys.readouterr().out)["runs"][0]

    sim = simulate(d / "trace.json")
    keys = ("min_grad_norm", "accepted", "rejected", "first_hit", "tau_avg", "tau_max")
    assert {k: sim[k] for k in keys} == {k: real[k] for k in keys}
    stripped = json.loads((d / "trace.json").read_text())
    assert len(stripped.pop("tasks")) == 80
    (tmp_path / "plain.json").write_text(json.dumps(stripped))
    assert simulate(tmp_path / "plain.json")["min_grad_norm"] != real["min_grad_norm"]  # the tasks matter


def test_the_shipped_real_traces_are_valid_and_checked_by_claims_1_and_2():
    from verify.models import traces
    from verify.claims import common, theorem_d_deterministic, theorem_d_stochastic

    real = traces.async_traces()
    assert real, "no recorded traces under verify/data/async_traces (python tools/record_async_traces.py)"
    for name, seq in real.items():
        assert seq.model == "async-run" and seq.params["workers"] >= 2 and seq.params["gradient_mismatches"] == 0
        assert seq.stats().tau_max >= 1
        # each step's gradient came from its own task, and arrived in order
        assert seq.tasks is not None and len(set(seq.tasks.tolist())) == len(seq), name
        assert seq.wall_clock is not None and np.all(np.diff(seq.wall_clock) >= 0)
        # long enough for Theorem D''s condition on claim 1's quad and logsum instances
        for inst in ("quad", "logsum"):
            assert common.INSTANCES[inst].horizon(seq) is not None, (name, inst)
    ctx = common.Context(common.PROFILES["test"])
    ev = theorem_d_deterministic.check(ctx)
    mine = [e for e in ev.instances if e.get("real_trace")]
    assert len(mine) == 3 * len(real)
    bite = [e for e in mine if e["instance"] in ("quad", "logsum")]
    assert len(bite) == 2 * len(real) and all(e["verdict"] == "pass" for e in bite), bite
    ev2 = theorem_d_stochastic.check(ctx)
    noisy = [e for e in ev2.instances if e.get("real_trace")]
    assert len(noisy) == len(real) and all(e["noise"] == "gaussian, keyed by task" for e in noisy)
    assert all(e["verdict"] == "pass" and e["n"] == common.PROFILES["test"].seeds for e in noisy), noisy


# --- issue 24, "Real runs": every computation recorded; the trace model replays the run's schedule ---------------
def _capture_iterates(rec, seq):
    """x_1 .. x_{T+1} of the run's rule object on ``seq`` (delays and tasks), in the reference loop."""
    from verify import algorithms
    from verify.models import problems

    seen = {}

    def hook(t, xs, problem):
        seen["xs"] = xs
        return int(seq.delays[t - 1])
    alg = algorithms.from_dict(rec.result.config)
    algorithms.reference_run(problems.make("logsum", 5), hook, alg, seed=rec.result.seed, T=len(seq),
                             noise=make_noise(rec.result.noise["spec"]), noise_keys=lambda t: int(seq.tasks[t - 1]))
    return np.array(seen["xs"])


@pytest.mark.parametrize("algorithm, speeds, base, R", [
    ("picky", "pareto:alpha=1.5", 0.002, None),
    ("picky", "uniform", 0.0002, None),  # near-simultaneous arrivals: 3 equal workers at 0.2 ms
    ("ringmaster", "straggler:factor=10", 0.002, None),  # R = 4 from theory.timing
    ("ringmaster", "uniform:jitter=0.5", 0.002, 1),  # R = 1: every arrival stops both other computations
])
def test_the_trace_model_replays_the_real_schedule_and_iterates(client, tmp_path, algorithm, speeds, base, R):
    from verify.engine import events
    from verify.models import compute

    T = 200
    rec = asyncrun.run(algorithm, "logsum", 5, 3, speeds, T, eps=0.25, sigma=0.5, seed=4, client=client,
                       base_seconds=base, overrides=None if R is None else {"R": R})
    assert len(rec.steps) == T and rec.gradient_mismatches == 0
    comps = rec.computations
    # every computation is recorded, by task = its global start index (0-based), with start <= end
    assert [c["task"] for c in comps] == list(range(len(comps))) == list(range(3 + T - 1 + rec.summary()["cancelled"]))
    assert all(c["status"] in ("applied", "cancelled", "unfinished") and c["start_s"] < c["end_s"] for c in comps)
    assert sum(c["status"] == "applied" for c in comps) == T and sum(c["status"] == "unfinished" for c in comps) == 2
    assert sorted(c["t"] for c in comps if c["status"] == "applied") == list(range(1, T + 1))
    if algorithm == "ringmaster":
        assert rec.policy == "ringmaster-stops" and rec.R == (R or 4)  # ceil(sigma^2/eps^2) = ceil(0.25/0.0625)
        # logsum has beta = 2: gamma = min(1/(2 R beta), eps^2/(4 beta sigma^2)) = min(1/16, 1/32) (R = 4; 1: 1/32 too)
        assert rec.result.config["R"] == (R or 4) and rec.result.config["eta"] == 0.03125
        cancelled = [c for c in comps if c["status"] == "cancelled"]
        assert len(cancelled) >= 3  # the straggler's computations reach delay R and are stopped
        if R == 1:  # each of the first 199 arrivals stops the two others' computations
            assert len(cancelled) == 2 * (T - 1) and rec.result.delays.delays.max() == 0
        # the cancelled: cancelled at the event when the delay reached R, i.e. at the arrival of step issued + R - 1
        arrival = {s["t"]: s["arrival_s"] for s in rec.steps}
        assert all(c["end_s"] == arrival[c["issued"] + rec.R - 1] for c in cancelled)
        assert rec.result.delays.delays.max() <= rec.R - 1 and rec.result.rejected == 0
    else:
        assert rec.policy == "async" and rec.R is None and "cancelled" not in {c["status"] for c in comps}
    # the trace model of the saved async.json (as picky async-run --save writes it) ...
    (tmp_path / "async.json").write_text(json.dumps({"steps_detail": rec.steps, "computations": comps}))
    cm = compute.make(f"trace:path={tmp_path}")
    assert cm.n == 3 and cm.params["workers"] == sorted(rec.workers["requested"])
    # ... through the event simulation gives the run's schedule: arrival times bit for bit, workers, tasks, delays
    sched = events.simulate(cm, T, policy=rec.policy, R=rec.R)
    idx = {w: i for i, w in enumerate(cm.params["workers"])}
    assert np.array_equal(sched.time.view(np.int64), np.array([s["arrival_s"] for s in rec.steps]).view(np.int64))
    assert sched.worker.tolist() == [idx[s["worker"]] for s in rec.steps]
    assert sched.task.tolist() == [s["task"] for s in rec.steps]
    assert np.array_equal(sched.delays, rec.result.delays.delays)
    assert sorted(sched.dropped_task.tolist()) == [c["task"] for c in comps if c["status"] == "cancelled"]
    assert sched.starts == len(comps)
    assert sched.equal(asyncrun.recorded_schedule(rec)) and asyncrun.schedule_reproduced(rec)
    # the heapq reference gives it too
    z = np.ones(len(comps) + 3)
    ref = (events_reference.asynchronous(cm, T, z) if rec.R is None else events_reference.ringmaster(cm, T, z, rec.R, True))
    assert ref.equal(sched)
    # and the run's rule object on the simulated schedule gives the run's iterates bit for bit
    seq = events.delay_sequence(sched, "trace", {}, None)
    assert rec.iterates.shape == (T + 1, 5)
    assert np.array_equal(_capture_iterates(rec, seq), rec.iterates)
    for engine in ("reference", "numba"):
        rep = asyncrun.replay(rec, "logsum", 5, engine=engine, delays=seq)
        assert _same(rep, rec.result) and rep.final_f == rec.result.final_f


def test_format_1_compute_times_do_not_give_the_real_order(client, tmp_path):
    """Why the trace holds the server's end - start: the workers' own times (format 1) leave out the
    server's overhead, and the simulated order is then not the run's."""
    from verify.engine import events
    from verify.models import compute

    rec = asyncrun.run("picky", "logsum", 5, 3, "uniform:jitter=0.3", 200, eps=0.25, seed=5, client=client)
    (tmp_path / "async.json").write_text(json.dumps({"steps_detail": rec.steps}))
    old = events.simulate(compute.make(f"trace:path={tmp_path}"), 200)
    real = asyncrun.recorded_schedule(rec)
    assert not old.equal(real)
    assert old.worker.tolist() != real.worker.tolist()  # not only the times: the order (about 60% of steps differ)
    assert asyncrun.schedule_reproduced(rec)


def test_the_event_clock_is_strictly_increasing_on_a_grid_where_sums_are_exact():
    from verify.models.compute import TRACE_TICK

    assert asyncrun.event_time(0.3, 0.0) == 322122547 * TRACE_TICK  # round(0.3 * 2^30) ticks
    assert asyncrun.event_time(0.3, 0.3) == 0.3 + TRACE_TICK and asyncrun.event_time(0.1, 0.3) == 0.3 + TRACE_TICK
    # times on the grid: differences and sums are exact (the trace model's end - start, the simulator's start + d)
    rng = np.random.default_rng(0)
    s = np.sort(rng.uniform(0, 1000, (2000, 2)), axis=1)
    q = [(asyncrun.event_time(x, 0.0), asyncrun.event_time(y, 0.0)) for x, y in s]
    assert all(x + (y - x) == y and (y - x) / TRACE_TICK == round((y - x) / TRACE_TICK) for x, y in q)
    assert all(x % TRACE_TICK == 0 for pair in q for x in pair)


def test_trace_durations_by_hand():
    """A hand-made format-2 record of Ringmaster with stops, R = 1, two workers a (index 0) and b (1):
    durations end - start, one tick more for a computation that never arrived, and the event
    simulation on them gives the run's schedule (hand values)."""
    from verify.engine import events
    from verify.models import compute

    tick = compute.TRACE_TICK
    assert tick == 2.0 ** -30
    comps = [
        {"task": 0, "worker": "a", "start_s": 0.0, "end_s": 1.0, "status": "cancelled"},  # at step 1 (delay reached 1)
        {"task": 1, "worker": "b", "start_s": 0.0, "end_s": 1.0, "status": "applied"},  # step 1
        {"task": 2, "worker": "b", "start_s": 1.0, "end_s": 1.25, "status": "cancelled"},  # at step 2
        {"task": 3, "worker": "a", "start_s": 1.0, "end_s": 1.25, "status": "applied"},  # step 2
        {"task": 4, "worker": "a", "start_s": 1.25, "end_s": 1.75, "status": "applied"},  # step 3
        {"task": 5, "worker": "b", "start_s": 1.25, "end_s": 1.75, "status": "unfinished"},
    ]
    assert compute.trace_durations(comps) == {"a": [1.0 + tick, 0.25, 0.5], "b": [1.0, 0.25 + tick, 0.5 + tick]}
    cm = compute.trace_model({"computations": comps})
    for s in (events.simulate(cm, 3, policy="ringmaster-stops", R=1),
              events_reference.ringmaster(cm, 3, np.ones(8), 1, True)):
        # a's cancelled task 0 must not arrive at 1.0 before b (a has the lower index): the tick
        assert s.time.tolist() == [1.0, 1.25, 1.75] and s.worker.tolist() == [1, 0, 0] and s.task.tolist() == [1, 3, 4]
        assert s.read.tolist() == [1, 2, 3] and s.starts == 6
        assert s.dropped_task.tolist() == [0, 2] and s.dropped_worker.tolist() == [0, 1]
        assert s.dropped_time.tolist() == [1.0, 1.25]
    with pytest.raises(ValueError, match=r"computations\[0\]\.status must be 'applied', 'cancelled' or 'unfinished'; got 'x'"):
        compute.trace_durations([dict(comps[0], status="x")])
    with pytest.raises(ValueError, match=r"computations\[0\] must end after it starts"):
        compute.trace_durations([dict(comps[1], end_s=0.0)])


def test_cli_ringmaster_saves_every_computation_and_replays(tmp_path, capsys):
    d = tmp_path / "run"
    code = main(["async-run", "--algorithm", "ringmaster", "--workers", "2", "--speeds", "straggler:factor=8",
                 "--steps", "80", "--eps", "0.25", "--sigma", "0.5", "--R", "2", "--save", str(d), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["replay_reproduced"] is True and out["schedule_reproduced"] is True
    assert out["R"] == 2 and out["policy"] == "ringmaster-stops" and out["cancelled"] >= 1 and out["tau_max"] <= 1
    saved = json.loads((d / "async.json").read_text())
    assert saved["schema"] == "picky-async-run/2" and len(saved["computations"]) == out["computations_started"]
    from verify.models import compute

    assert compute.make(f"trace:path={d}").n == 2
    assert main(["async-run", "--algorithm", "ringmaster", "--workers", "2", "--steps", "5", "--eps", "0.25",
                 "--rho", "0.1"]) == 2
    assert "parameter 'rho' does not apply to algorithm 'ringmaster'" in capsys.readouterr().err
    assert main(["async-run", "--algorithm", "picky", "--steps", "5", "--eps", "0.25", "--R", "3"]) == 2
    assert "parameter 'R' (= 3) only applies to algorithm 'ringmaster'; got algorithm 'picky'" in capsys.readouterr().err


# --- issue 24, "Real runs": Rennala SGD (rounds; the work in flight at the S-th arrival discarded) --------------
def _rennala_iterates(prob, rec, tasks):
    """The oracle: a batch step written out (x_{k+1} = x_k - gamma (1/B) sum_b (grad f(x_k) + sigma z_{task_{k,b}}),
    summed in the order of ``tasks``' rows), x_1 .. x_{K+1}, on the rounds' tasks ``tasks`` (K, B); B = S or m."""
    cfg, noise = rec.result.config, make_noise(rec.result.noise["spec"])
    x = np.array(prob.x1, dtype=float)
    xs = [x]
    for row in tasks:
        gx = np.asarray(prob.grad(x))
        g = np.zeros_like(x)
        for j in row:
            g = g + (gx + cfg["sigma"] * noise.task_rows(rec.result.seed, [int(j)], x.size)[0])
        x = x - cfg["gamma"] * (g / (cfg["S"] if cfg["algorithm"] == "rennala" else cfg["m"]))
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("speeds, S, gamma", [
    ("straggler:factor=4", None, 0.25),  # S = 4 from theory.timing (> n = 3: workers restart within a round)
    ("uniform:jitter=0.5", 2, 0.125),
    ("uniform", 1, 0.0625),  # S = 1: each round keeps its first arrival and cancels the two others
])
def test_rennala_the_trace_model_replays_the_real_rounds_and_iterates(client, tmp_path, speeds, S, gamma):
    from verify.algorithms.batch import BatchSchedule
    from verify.engine import events
    from verify.engine.batch import run_batch_lane
    from verify.algorithms.batch import reference_batch_run, Rennala
    from verify.models import compute, problems

    T, n = 30, 3
    rec = asyncrun.run("rennala", "logsum", 5, n, speeds, T, eps=0.25, sigma=0.5, seed=4, client=client,
                       overrides=None if S is None else {"S": S})
    S = S or 4  # ceil(sigma^2/eps^2) = ceil(0.25/0.0625)
    # gamma = min(1/beta, eps^2 S/(2 beta sigma^2)) with beta = 2 (logsum): min(1/2, S/16)
    cfg = rec.result.config
    assert cfg["algorithm"] == "rennala" and cfg["S"] == S and cfg["gamma"] == gamma and rec.batch == S
    assert rec.policy == "rennala" and rec.R is None and rec.gradient_mismatches == 0
    assert rec.server_steps == T and len(rec.steps) == T * S and rec.result.steps_run == T
    comps = rec.computations
    # per round: n starts at the round's start, S - 1 restarts (the kept arrivals but the S-th), n - 1 cancelled
    assert [c["task"] for c in comps] == list(range(T * (n + S - 1)))
    assert {c["status"] for c in comps} == {"applied", "cancelled"}  # nothing left in flight after a round
    assert sum(c["status"] == "cancelled" for c in comps) == T * (n - 1)
    assert all(c["start_s"] < c["end_s"] for c in comps)
    # every gradient of round k was computed at x_k; S kept per round, in strictly increasing arrival order
    assert [s["t"] for s in rec.steps] == [k for k in range(1, T + 1) for _ in range(S)]
    assert all(s["issued"] == s["t"] and s["delay"] == 0 for s in rec.steps)
    assert [s["position"] for s in rec.steps] == list(range(S)) * T
    assert all(a < b for a, b in zip([s["arrival_s"] for s in rec.steps], [s["arrival_s"] for s in rec.steps][1:]))
    end = [rec.steps[k * S + S - 1]["arrival_s"] for k in range(T)]  # round k's end: its S-th arrival
    assert np.array_equal(rec.result.delays.wall_clock, end) and not rec.result.delays.delays.any()
    assert all(c["issued"] == c.get("t", c["issued"]) for c in comps)
    # the discarded: cancelled at their round's end; a round's first n computations start at the previous end
    assert all(c["end_s"] == end[c["issued"] - 1] for c in comps if c["status"] == "cancelled")
    for k in range(1, T + 1):
        first = [c for c in comps if c["issued"] == k][:n]
        assert [c["worker_index"] for c in first] == list(range(n))  # handed x_k in worker-index order
        assert all(c["start_s"] == (end[k - 2] if k > 1 else 0.0) for c in first)
    # the trace model of the saved async.json through the event simulation's rennala policy: the run's schedule
    (tmp_path / "async.json").write_text(json.dumps({"steps_detail": rec.steps, "computations": comps}))
    cm = compute.make(f"trace:path={tmp_path}")
    sched = events.simulate(cm, T, policy="rennala", B=S)
    real = asyncrun.recorded_schedule(rec)
    assert np.array_equal(sched.time.view(np.int64), real.time.view(np.int64))
    assert sched.worker.tolist() == real.worker.tolist() and sched.task.tolist() == real.task.tolist()
    assert sched.read.tolist() == real.read.tolist() == [s["t"] for s in rec.steps]
    assert sched.dropped_task.tolist() == real.dropped_task.tolist() and len(sched.dropped_task) == T * (n - 1)
    assert sched.dropped_worker.tolist() == real.dropped_worker.tolist()
    assert np.array_equal(sched.dropped_time, real.dropped_time) and sched.starts == len(comps)
    assert asyncrun.schedule_reproduced(rec)
    assert events_reference.rennala(cm, T, np.ones(len(comps) + n), S).equal(sched)  # the heapq reference too
    # the batch run on the simulated rounds gives the run's iterates bit for bit
    rounds = BatchSchedule.from_events(sched, "rennala", S)
    mine = asyncrun.recorded_batch_schedule(rec)
    assert np.array_equal(rounds.tasks, mine.tasks) and np.array_equal(rounds.time, mine.time)
    prob = problems.make("logsum", 5)
    assert rec.iterates.shape == (T + 1, 5)
    assert np.array_equal(_rennala_iterates(prob, rec, rounds.tasks), rec.iterates)
    alg = Rennala(eps=0.25, sigma=0.5, beta=2.0, gamma=gamma, S=S)
    for loop in (reference_batch_run, run_batch_lane):
        rep = loop(prob, rounds, alg, seed=4, noise=make_noise("gaussian"))
        assert _same(rep, rec.result) and rep.final_f == rec.result.final_f
    assert _same(asyncrun.replay(rec, "logsum", 5, engine="numba"), rec.result)


def test_rennala_rounds_hook_of_the_batch_loop():
    """reference_batch_run driven by ``rounds(k, xs, problem)`` is the loop on the schedule those rounds make
    (hand-made tasks), hands the hook x_1 .. x_k, and leaves x_{K+1} in the list; a wrong count is an error."""
    from verify.algorithms.batch import BatchSchedule, Rennala, reference_batch_run
    from verify.models import problems

    prob = problems.make("logsum", 4)
    alg = Rennala(eps=0.1, sigma=0.5, beta=2.0, gamma=0.1, S=2)
    tasks = [[3, 0], [1, 7], [2, 9]]
    seen = []

    def rounds(k, xs, problem):
        seen.append(len(xs))
        rounds.xs = xs
        return tasks[k - 1]
    hooked = reference_batch_run(prob, None, alg, seed=5, T=3, rounds=rounds)
    fixed = reference_batch_run(prob, BatchSchedule(np.arange(3.0), np.array(tasks), "rennala"), alg, seed=5)
    assert seen == [1, 2, 3] and len(rounds.xs) == 4 and _same(hooked, fixed) and hooked.final_f == fixed.final_f
    rec = type("R", (), {"result": hooked})()
    assert np.array_equal(np.array(rounds.xs), _rennala_iterates(prob, rec, tasks))
    with pytest.raises(ValueError, match=r"rounds\(1, ...\) returned 3 tasks; algorithm 'rennala' averages B = 2"):
        reference_batch_run(prob, None, alg, seed=5, T=3, rounds=lambda k, xs, p: [0, 1, 2])
    with pytest.raises(ValueError, match="takes sched=None and needs T"):
        reference_batch_run(prob, None, alg, seed=5, rounds=rounds)


def test_cli_minibatch_runs_and_replays(tmp_path, capsys):
    from verify.algorithms.batch import BatchSchedule

    d = tmp_path / "run"
    code = main(["async-run", "--algorithm", "minibatch", "--workers", "2", "--speeds", "uniform", "--steps", "10",
                 "--eps", "0.25", "--sigma", "0.5", "--save", str(d), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["replay_reproduced"] is True and out["schedule_reproduced"] is True
    assert out["policy"] == "minibatch" and out["batch"] == 2 and out["steps"] == 10 and out["cancelled"] == 0
    rounds = BatchSchedule.from_trace_dict(json.loads((d / "trace.json").read_text()))
    assert rounds.policy == "minibatch" and rounds.tasks.tolist() == [[2 * k, 2 * k + 1] for k in range(10)]


def test_cli_rennala_saves_its_rounds_and_replays(tmp_path, capsys):
    from verify.algorithms.batch import BatchSchedule
    from verify.models import compute

    d = tmp_path / "run"
    code = main(["async-run", "--algorithm", "rennala", "--workers", "2", "--speeds", "straggler:factor=3",
                 "--steps", "20", "--eps", "0.25", "--sigma", "0.5", "--batch", "3", "--save", str(d), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["replay_reproduced"] is True and out["schedule_reproduced"] is True
    assert out["policy"] == "rennala" and out["batch"] == 3 and out["steps"] == 20 and out["gradients_applied"] == 60
    assert out["computations_started"] == 20 * (2 + 3 - 1) and out["cancelled"] == 20 * (2 - 1)
    saved = json.loads((d / "async.json").read_text())
    assert len(saved["computations"]) == 80 and len(saved["steps_detail"]) == 60
    rounds = BatchSchedule.from_trace_dict(json.loads((d / "trace.json").read_text()))
    assert rounds.tasks.shape == (20, 3) and rounds.tasks.reshape(-1).tolist() == [s["task"] for s in saved["steps_detail"]]
    assert compute.make(f"trace:path={d}").n == 2
    # picky simulate on the saved run's compute times (the trace model) gives the real run (noise keyed by task)
    assert main(["simulate", "--compute", f"trace:path={d}", "--algorithm", "rennala", "--batch", "3", "--steps", "20",
                 "--eps", "0.25", "--sigma", "0.5", "--seeds", "1", "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)["runs"][0]
    assert sim["algorithm"] == "rennala" and {k: sim[k] for k in ("min_grad_norm", "first_hit", "steps_run")} == {
        k: out["result"][k] for k in ("min_grad_norm", "first_hit", "steps_run")}
    for argv, msg in [(["--algorithm", "picky", "--batch", "3"],
                       "parameter 'S' (--batch, = 3) only applies to algorithm 'rennala'; got algorithm 'picky'"),
                      (["--algorithm", "rennala", "--R", "3"], "parameter 'R' (= 3) does not apply to algorithm 'rennala'"),
                      (["--algorithm", "rennala", "--tau-max", "3"], "tau_max (= 3.0) does not apply to algorithm 'rennala'"),
                      (["--algorithm", "minibatch", "--workers", "2", "--batch", "3"],
                       "parameter 'm' of algorithm 'minibatch' must be an integer in [1, 2] (the fleet's workers); got 3"),
                      (["--algorithm", "minibatch", "--R", "2"], "parameter 'R' (= 2) does not apply to algorithm 'minibatch'")]:
        assert main(["async-run", *argv, "--steps", "5", "--eps", "0.25"]) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("speeds, m, gamma", [
    ("lognormal", None, 0.1875),  # m = n = 3: gamma = min(1/beta, eps^2 m/(2 beta sigma^2)) = min(1/2, 3/16)
    ("straggler:factor=3", 2, 0.125),  # the two fast workers (the straggler, the cluster's first, is left out)
])
def test_minibatch_the_trace_model_replays_the_real_rounds_and_iterates(client, tmp_path, speeds, m, gamma):
    from verify.algorithms.batch import BatchSchedule, Minibatch, reference_batch_run
    from verify.engine import events
    from verify.engine.batch import run_batch_lane
    from verify.models import compute, problems

    T = 25
    rec = asyncrun.run("minibatch", "logsum", 5, 3, speeds, T, eps=0.25, sigma=0.5, seed=6, client=client,
                       overrides=None if m is None else {"m": m})
    m = m or 3
    cfg = rec.result.config
    assert cfg["algorithm"] == "minibatch" and cfg["m"] == m and cfg["gamma"] == gamma and rec.batch == m
    assert rec.policy == "minibatch" and rec.gradient_mismatches == 0 and rec.server_steps == T
    used = rec.workers["used"]
    assert used == (rec.workers["requested"] if m == 3 else rec.workers["requested"][1:])
    comps = rec.computations
    assert [c["task"] for c in comps] == list(range(T * m)) and {c["status"] for c in comps} == {"applied"}
    assert [s["t"] for s in rec.steps] == [k for k in range(1, T + 1) for _ in range(m)]
    assert all(s["issued"] == s["t"] and s["worker"] in used for s in rec.steps)
    for k in range(T):  # round k + 1: the m workers in index order, tasks km .. km + m - 1, summed in that order
        assert [c["worker_index"] for c in comps[k * m:(k + 1) * m]] == list(range(m))
        assert sorted(s["position"] for s in rec.steps[k * m:(k + 1) * m]) == list(range(m))
    (tmp_path / "async.json").write_text(json.dumps({"steps_detail": rec.steps, "computations": comps}))
    cm = compute.make(f"trace:path={tmp_path}")
    assert cm.n == m
    sched = events.simulate(cm, T, policy="minibatch")
    real = asyncrun.recorded_schedule(rec)
    assert np.array_equal(sched.time.view(np.int64), real.time.view(np.int64)) and sched.equal(real)
    assert sched.task.tolist() == [k * m for k in range(T)] and asyncrun.schedule_reproduced(rec)
    assert events_reference.minibatch(cm, T, np.ones(T * m)).equal(sched)
    rounds = BatchSchedule.from_events(sched, "minibatch", m)
    mine = asyncrun.recorded_batch_schedule(rec)
    assert np.array_equal(rounds.tasks, mine.tasks) and np.array_equal(rounds.time, mine.time)
    prob = problems.make("logsum", 5)
    assert np.array_equal(_rennala_iterates(prob, rec, rounds.tasks), rec.iterates)
    alg = Minibatch(eps=0.25, sigma=0.5, beta=2.0, gamma=gamma, m=m)
    for loop in (reference_batch_run, run_batch_lane):
        rep = loop(prob, rounds, alg, seed=6, noise=make_noise("gaussian"))
        assert _same(rep, rec.result) and rep.final_f == rec.result.final_f

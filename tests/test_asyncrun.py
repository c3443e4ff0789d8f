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

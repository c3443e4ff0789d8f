"""picky simulate --compute with the methods that have their own schedule (ringmaster, ringmaster-stops,
rennala, minibatch), and run_on_compute over every method name."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify.cli import main
from verify.models import problems
from verify.runtime.simulation import COMPUTE_METHODS, POLICY_METHODS, run_on_compute

BASE = ["simulate", "--eps", "0.3", "--steps", "60", "--seeds", "2", "--sigma", "0.2", "--problem", "quadratic", "--dim", "3"]


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_policy_lanes_schedules_seconds_save_and_replay(capsys, tmp_path):
    out = tmp_path / "run"
    algs = "picky,ringmaster,ringmaster-stops,rennala,minibatch"
    assert main([*BASE, "--algorithm", algs, "--compute", "fixed:times=1;2;3", "--batch", "2", "--R", "2", "--json",
                 "--save", str(out)]) == 0
    rep = _json(capsys)
    assert [r["algorithm"] for r in rep["runs"]] == [a for a in algs.split(",") for _ in range(2)]
    # rennala, fixed times (1, 2, 3), S = 2: the rounds worked by hand in tests/test_batch.py
    ren = json.loads((out / "trace-rennala.json").read_text())
    assert ren["policy"] == "rennala" and ren["batch"] == 2
    assert ren["tasks"][:6] == [0, 3, 4, 7, 8, 11] and ren["wall_clock"][:6] == [2.0, 2.0, 4.0, 4.0, 6.0, 6.0]
    assert ren["delays"][:4] == [0, 1, 0, 1]
    # minibatch over the m = 2 fastest workers (1 and 2 seconds): rounds of 2 seconds, tasks 0, 1 | 2, 3 | ...
    mb = json.loads((out / "trace-minibatch.json").read_text())
    assert mb["tasks"][:6] == [0, 1, 2, 3, 4, 5] and mb["wall_clock"][:6] == [2.0, 2.0, 4.0, 4.0, 6.0, 6.0]
    # ringmaster R = 2 on (1, 2, 3): applied delays < 2, every dropped computation listed
    for name in ("ringmaster", "ringmaster-stops"):
        tr = json.loads((out / f"trace-{name}.json").read_text())
        assert tr["policy"] == name and tr["R"] == 2 and max(tr["delays"]) <= 1 and len(tr["dropped"]["task"]) > 0
    # seconds to eps from the saved schedules, computed here: the time of the update that made x_{first_hit}
    step_time = {"rennala": ren["wall_clock"][1::2], "minibatch": mb["wall_clock"][1::2],
                 **{n: json.loads((out / f"trace-{n}.json").read_text())["wall_clock"] for n in ("ringmaster", "ringmaster-stops")}}
    for row in rep["aggregate"]:
        if row["algorithm"] == "picky":
            continue
        runs = [r for r in rep["runs"] if r["algorithm"] == row["algorithm"]]
        secs = sorted(0.0 if r["first_hit"] == 1 else step_time[row["algorithm"]][r["first_hit"] - 2] for r in runs
                      if r["first_hit"])
        assert secs, row["algorithm"]
        assert (row["seconds_to_eps_min"], row["seconds_to_eps_max"]) == (secs[0], secs[-1])
    cfg = {row["algorithm"]: row["config"] for row in rep["aggregate"]}
    assert cfg["rennala"]["S"] == 2 and cfg["minibatch"]["m"] == 2 and cfg["ringmaster"]["R"] == 2
    ids = [r["id"] for r in rep["time_theory"]["rows"]]
    assert {"time-rennala", "time-ringmaster", "time-minibatch"} <= set(ids)
    # the asynchronous lane is the one a run without the policy lanes gives
    assert main([*BASE, "--algorithm", "picky", "--compute", "fixed:times=1;2;3", "--json"]) == 0
    alone = _json(capsys)
    assert alone["runs"] == [dict(r, lane=i) for i, r in enumerate(rep["runs"][:2])]
    # the saved directory replays exactly
    assert main(["simulate", "--replay", str(out), "--json"]) == 0
    assert _json(capsys)["replay"]["reproduced"] is True
    # a batch lane replays from its saved schedule alone (the noise keyed by the tasks in it)
    from verify.algorithms.batch import BatchSchedule, resolve_batch, reference_batch_run

    prob = problems.make("quadratic", 3)
    for name, tr in (("rennala", ren), ("minibatch", mb)):
        sched = BatchSchedule.from_trace_dict(tr)
        alg = resolve_batch(name, beta=prob.beta, F=prob.F, eps=0.3, sigma=0.2, n=3, **{"S" if name == "rennala" else "m": 2})
        mine = [r for r in rep["runs"] if r["algorithm"] == name]
        again = [reference_batch_run(prob, sched, alg, seed=s) for s in (0, 1)]
        assert [(r.first_hit, r.min_grad_norm) for r in again] == [(r["first_hit"], r["min_grad_norm"]) for r in mine]
    # Ringmaster's saved schedule is a delay trace like async-run's: stale-drop with the same R and step on it
    # (noise keyed by its tasks) gives the ringmaster lanes' runs
    for name in ("ringmaster", "ringmaster-stops"):
        eta = repr(cfg[name]["eta"])
        assert main([*BASE, "--algorithm", "stale-drop", "--R", "2", "--eta", eta, "--delays",
                     f"replay:path={out / f'trace-{name}.json'}", "--json"]) == 0
        again = _json(capsys)["runs"]
        mine = [r for r in rep["runs"] if r["algorithm"] == name]
        assert [(r["first_hit"], r["min_grad_norm"]) for r in again] == [(r["first_hit"], r["min_grad_norm"]) for r in mine]


def test_policy_lanes_per_seed_replay(capsys, tmp_path):
    out = tmp_path / "run"
    assert main([*BASE, "--algorithm", "rennala,ringmaster", "--compute", "random:n=3,eta=exponential",
                 "--delay-draw", "per-seed", "--save", str(out)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.glob("trace-*.json"))
    assert names == ["trace-rennala-seed-0.json", "trace-rennala-seed-1.json", "trace-ringmaster-seed-0.json",
                     "trace-ringmaster-seed-1.json", "trace-seed-0.json", "trace-seed-1.json"]
    a, b = (json.loads((out / f"trace-rennala-seed-{s}.json").read_text()) for s in (0, 1))
    assert a["wall_clock"] != b["wall_clock"]  # one schedule draw per seed
    assert main(["simulate", "--replay", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


@pytest.mark.parametrize("extra, words", [
    (["--algorithm", "rennala", "--delays", "constant:tau=2"], "--algorithm rennala runs on the schedule of a computation "
                                                               "model: it needs --compute SPEC"),
    (["--algorithm", "picky", "--compute", "fixed:times=1;2", "--batch", "3"], "--batch 3 applies to --algorithm rennala"),
    (["--algorithm", "rennala", "--compute", "fixed:times=1;2", "--rho", "0.1"], "--rho does not apply to --algorithm rennala"),
    (["--algorithm", "minibatch", "--compute", "fixed:times=1;2", "--batch", "3"],
     "parameter 'm' of algorithm 'minibatch' must be an integer in [1, 2]"),
    (["--algorithm", "ringmaster", "--compute", "fixed:times=1;2", "--tau-C", "3"], "--tau-C does not apply"),
])
def test_policy_bad_combinations_one_line(capsys, extra, words):
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("picky simulate: error:") and words in err and "\n" not in err


@pytest.mark.parametrize("name", list(COMPUTE_METHODS))
def test_run_on_compute_every_method(name):
    """Every method name runs; the compiled and the reference engines agree; seconds_to_eps is the
    arrival time of the step before the first hit on the record's clock."""
    prob = problems.make("quadratic", 3)
    kw = dict(T=80, eps=0.3, sigma=0.1, seed=4, compute_seed=1)
    a = run_on_compute(prob, "fixed:times=1;2;5", name, **kw)
    b = run_on_compute(prob, "fixed:times=1;2;5", name, engine="reference", **kw)
    assert a.algorithm == b.algorithm == name
    assert (a.first_hit, a.steps_run) == (b.first_hit, b.steps_run)
    assert np.float64(a.min_grad_norm).tobytes() == np.float64(b.min_grad_norm).tobytes()
    assert a.extra["policy"] == COMPUTE_METHODS[name] and a.extra["compute"] == "fixed:times=1;2;5"
    wall = a.delays.wall_clock
    assert wall.size == 80
    if name in POLICY_METHODS or name in ("picky", "delay-adaptive"):  # these reach eps within the 80 steps here
        assert a.first_hit is not None and a.extra["seconds_to_eps"] == (0.0 if a.first_hit == 1 else wall[a.first_hit - 2])
    else:  # delayed-sgd, stale-drop: their theory steps are too small for 80 steps
        assert a.first_hit is None and a.extra["seconds_to_eps"] is None
    if name.startswith("ringmaster"):
        assert a.delays.delays.max() < a.config["R"]
    if name in ("rennala", "minibatch"):
        assert a.delays.delays.max() == 0 and a.extra["batch"] == (a.config.get("S") or a.config.get("m"))


def test_run_on_compute_errors():
    prob = problems.make("quadratic", 3)
    with pytest.raises(ValueError, match="algorithm must be one of picky, .*minibatch .*got 'sgd'"):
        run_on_compute(prob, "fixed:times=1", "sgd", T=5, eps=0.1)
    with pytest.raises(ValueError, match="compute_model: unknown compute model 'nope'"):
        run_on_compute(prob, "nope", "rennala", T=5, eps=0.1)

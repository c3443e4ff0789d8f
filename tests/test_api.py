"""The public API (issue 22): ``verify.simulate`` / ``verify.verify`` / ``verify.load`` and their
``.to_frame()``. The lane table is checked against the engine called directly with the same seeds and
delays; a saved run against the directory ``picky simulate --save`` writes; the evidence table
against the ``results.csv`` that ``picky verify --out`` writes; bad input against the CLI's messages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import verify
from verify import algorithms as A
from verify import api
from verify import engine as E
from verify.cli import main
from verify.io import jsonsafe
from verify.models import delays as D
from verify.models import problems as P
from verify.models.noise import make_noise
from verify.runtime import sweeps

ALGS = ["picky", "delayed-sgd", "sgd"]
SPEC = "pareto:alpha=1.5,scale=3"
RUN = dict(problem="logsum", dim=3, delays=SPEC, delay_seed=4, eps=0.5, sigma=0.3, steps=800, seeds=4, seed0=2)
#: the same run as a command line (written by hand)
ARGV = ["--algorithm", "picky,delayed-sgd,sgd", "--problem", "logsum", "--dim", "3", "--delays", SPEC,
        "--delay-seed", "4", "--eps", "0.5", "--sigma", "0.3", "--steps", "800", "--seeds", "4", "--seed0", "2"]
LANE_COLS = ["lane", "algorithm", "problem", "dim", "noise", "sigma", "delays", "adversary", "delay_draw", "delay_seed",
             "seed", "eps", "steps", "steps_run", "first_hit", "accepted", "rejected", "diverged", "diverged_step",
             "min_grad_norm", "final_grad_norm", "final_f", "tau_avg", "tau_max", "eta", "rho", "R", "tau_C", "rule",
             "engine"]
CLAIMS = ["stability", "lower-bound"]  # the cheapest claims (about a second each on the test profile)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim() -> api.Simulation:
    return verify.simulate(ALGS, **RUN)


def test_import_verify_loads_no_heavy_module():
    code = ("import sys, verify; before = sorted(m for m in ('pandas', 'sympy', 'numba', 'verify.api') if m in sys.modules); "
            "verify.simulate; print(before, 'verify.api' in sys.modules, 'pandas' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert out.stdout.split() == ["[]", "True", "False"], out.stdout  # the API loads on first use, pandas later still
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        verify.nope  # noqa: B018


def test_frame_is_one_row_per_lane_equal_to_the_engine(sim):
    df = sim.to_frame()
    # the same computation by hand: the library's four calls, the same seeds and delay sequence
    prob = P.make("logsum", 3)
    seq = D.make(SPEC, 800, seed=4)
    cfgs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=0.5, sigma=0.3, delays=seq) for a in ALGS]
    seeds = [2, 3, 4, 5]
    algs = [c for c in cfgs for _ in seeds]
    runs = E.run_batch(prob, seq, algs, [s for _ in cfgs for s in seeds], noise=make_noise("gaussian"))
    assert list(df.columns) == LANE_COLS
    assert len(df) == 12 == len(runs)
    assert df["lane"].tolist() == list(range(12))
    assert df["algorithm"].tolist() == ["picky"] * 4 + ["delayed-sgd"] * 4 + ["sgd"] * 4
    assert df["seed"].tolist() == seeds * 3
    for col, want in (("problem", "logsum"), ("dim", 3), ("noise", "gaussian"), ("sigma", 0.3), ("delays", SPEC),
                      ("delay_draw", "shared"), ("delay_seed", 4), ("eps", 0.5), ("steps", 800), ("engine", "numba")):
        assert (df[col] == want).all(), col
    assert df["adversary"].isna().all()
    # preconditions: the comparison below covers hits and misses, and rejections
    assert df["first_hit"].notna().any() and df["first_hit"].isna().any()
    assert (df["rejected"] > 0).any()
    for (_, row), r, alg in zip(df.iterrows(), runs, algs):
        assert (None if pd.isna(row["first_hit"]) else int(row["first_hit"])) == r.first_hit
        for k in ("steps_run", "accepted", "rejected", "diverged"):
            assert row[k] == getattr(r, k), k
        for k in ("min_grad_norm", "final_grad_norm", "final_f"):
            assert row[k] == getattr(r, k), k
        assert row["eta"] == alg.eta
        assert (row["rho"] == alg.rho) if alg.name == "picky" else pd.isna(row["rho"])
        # the delays the lane used, from the sequence itself (sgd uses none)
        used = seq.delays[: r.steps_run] if alg.name != "sgd" else np.zeros(1, dtype=np.int64)
        assert row["tau_avg"] == pytest.approx(float(used.mean()), rel=1e-12)
        assert row["tau_max"] == int(used.max())


def test_per_seed_draws_in_the_frame():
    sim = verify.simulate("picky", problem="logsum", dim=3, delays=SPEC, delay_draw="per-seed", delay_seed=4, eps=0.5,
                          steps=300, seeds=3, seed0=2)
    df = sim.to_frame()
    assert (df["delay_draw"] == "per-seed").all()
    assert df["seed"].tolist() == [2, 3, 4]
    for (_, row), s in zip(df.iterrows(), [2, 3, 4]):
        seq = D.make(SPEC, 300, seed=D.draw_seed(4, s))  # the lane's own draw, made by hand
        assert row["seed"] == s and row["delay_seed"] == seq.seed
        assert row["tau_avg"] == pytest.approx(float(seq.delays[: row["steps_run"]].mean()), rel=1e-12)
    assert df["delay_seed"].nunique() == 3  # precondition: three different draws


def test_an_adversary_run_in_the_frame(tmp_path):
    spec = "picky-rejector:tau=3,window=50"
    sim = verify.simulate(["picky", "stale-drop"], problem="quadratic", dim=4, adversary=spec, eps=0.5, steps=300, seeds=2)
    df = sim.to_frame()
    assert df["adversary"].tolist() == [spec] * 4 and df["delays"].isna().all()
    assert (df["engine"] == "reference").all()  # the adversary watches the iterates: the reference loop
    for (_, row), r in zip(df.iterrows(), sim.results):  # the delays each lane's own adversary chose
        assert row["tau_avg"] == pytest.approx(float(r.delays.delays[: r.steps_run].mean()), rel=1e-12)
    assert (df["rejected"] > 0).all()  # precondition: the adversary made the lanes reject
    pd.testing.assert_frame_equal(verify.load(sim.save(tmp_path / "adv")).to_frame(), df)


def test_save_and_load_round_trip_is_the_cli_directory(sim, tmp_path, capsys):
    d = sim.save(tmp_path / "api")
    back = verify.load(d)
    assert isinstance(back, api.Simulation) and back.path == d
    pd.testing.assert_frame_equal(back.to_frame(), sim.to_frame())
    assert back.parameters == sim.parameters and back.command == sim.command
    assert jsonsafe.dumps(back.report) == jsonsafe.dumps(sim.report)
    # the directory is the one `picky simulate --save` writes: --replay reruns it ...
    assert main(["simulate", "--replay", str(d)]) == 0
    assert "12 lanes reproduced exactly" in capsys.readouterr().out
    # ... and the CLI's own --save of the same run loads to the same table and parameters
    assert main(["simulate", *ARGV, "--save", str(tmp_path / "cli")]) == 0
    cli = verify.load(tmp_path / "cli")
    pd.testing.assert_frame_equal(cli.to_frame(), sim.to_frame())
    assert cli.parameters == sim.parameters
    assert json.loads((tmp_path / "cli" / "run.json").read_text())["parameters"] == \
        json.loads((d / "run.json").read_text())["parameters"]
    # an existing directory is kept unless force
    with pytest.raises(ValueError, match="--save"):
        sim.save(d)
    assert sim.save(d, force=True) == d


@pytest.mark.parametrize("change, argv", [
    (dict(eps=0), ["--eps", "0"]),
    (dict(steps=0), ["--steps", "0"]),
    (dict(seeds=2.5), ["--seeds", "2.5"]),
    (dict(delay_draw="sometimes"), ["--delay-draw", "sometimes"]),
    (dict(problem="nope"), ["--problem", "nope"]),
    (dict(delays="pareto:alpha=-1"), ["--delays", "pareto:alpha=-1"]),
    (dict(params={"rho": -1.0}), ["--rho=-1.0"]),
    (dict(delays=None), None),
    (dict(adversary="picky-rejector:tau=3,window=50"), ["--adversary", "picky-rejector:tau=3,window=50"]),
])
def test_bad_input_is_the_cli_message(change, argv, capsys):
    base = dict(problem="logsum", dim=3, delays=SPEC, eps=0.5, steps=50, seeds=1)
    cli = ["--algorithm", "picky", "--problem", "logsum", "--dim", "3", "--delays", SPEC, "--eps", "0.5", "--steps", "50",
           "--seeds", "1"]
    if argv is None:  # no delays at all
        cli = cli[:6] + cli[8:]
        argv = []
    with pytest.raises(ValueError) as exc:
        verify.simulate("picky", **{**base, **change})
    assert main(["simulate", *cli, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"picky simulate: error: {exc.value}"
    assert "\n" not in str(exc.value)


def test_bad_input_outside_the_cli_vocabulary():
    with pytest.raises(ValueError, match="params: unknown parameter 'bogus'; allowed: eta, rho, R, tau_C, rule"):
        verify.simulate("picky", delays=SPEC, eps=0.5, steps=50, seeds=1, params={"bogus": 1})
    with pytest.raises(ValueError, match="stop_at_hit must be True or False; got 'yes'"):
        verify.simulate("picky", delays=SPEC, eps=0.5, steps=50, seeds=1, stop_at_hit="yes")
    with pytest.raises(ValueError, match=r"argument --profile: invalid choice: 'fast'"):
        verify.verify(profile="fast")
    with pytest.raises(ValueError, match="claim id must be one of"):
        verify.verify(["no-such-claim"], profile="test")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report") / "r"
    assert main(["verify", "--profile", "test", "--only", *CLAIMS, "--out", str(d), "--no-progress"]) == 0
    return d


def test_verify_frame_is_results_csv(report_dir):
    ev = verify.verify(CLAIMS, profile="test")
    expected = pd.read_csv(report_dir / "results.csv")
    assert len(expected) > 0 and set(expected["claim"]) == set(CLAIMS)  # precondition: both claims have rows
    df = ev.to_frame()
    assert list(df.columns) == ["claim", "algorithm", "problem", "delays", "seed", "metric", "value"]
    pd.testing.assert_frame_equal(df, expected)
    # and both hold every measurement of the evidence, in order
    rows = [(e.claim, r) for e in ev.evidence for r in e.rows]
    assert len(df) == len(rows)
    for (_, got), (claim, r) in zip(df.iterrows(), rows):
        assert (got["claim"], got["algorithm"], got["problem"], got["delays"], got["metric"]) == \
            (claim, r.algorithm, r.problem, r.delays, r.metric)
        assert (pd.isna(got["seed"]) and r.seed is None) or got["seed"] == r.seed
        assert (pd.isna(got["value"]) and r.value is None) or got["value"] == r.value
    assert [e.claim for e in ev.evidence] == ["stability", "lower-bound"]  # registry order
    assert ev.verdict == json.loads((report_dir / "results.json").read_text())["verdict"] == "pass"
    assert ev.meta["command"] == "picky verify --profile=test --only stability lower-bound"
    # the report read back holds the same measurements, value for value (ints stay ints, None stays None)
    back = verify.load(report_dir)
    assert [r for e in back.evidence for r in e.rows] == [r for e in ev.evidence for r in e.rows]


def test_load_a_report(report_dir):
    rep = verify.load(report_dir)
    assert isinstance(rep, api.Verification) and rep.path == report_dir
    pd.testing.assert_frame_equal(rep.to_frame(), pd.read_csv(report_dir / "results.csv"))
    data = jsonsafe.loads((report_dir / "results.json").read_text())
    assert [e.claim for e in rep.evidence] == [c["claim"] for c in data["claims"]] == CLAIMS
    assert rep.verdict == data["verdict"] and rep.meta["profile"] == "test"
    # the evidence read back is the evidence written: its dicts, and its rows render the same CSV text
    assert jsonsafe.dumps([e.as_dict() for e in rep.evidence]) == jsonsafe.dumps(data["claims"])
    assert api._csv_text(rep.evidence) == (report_dir / "results.csv").read_bytes().decode()


SWEEP = {"sweep": {"name": "api", "algorithms": ["picky", "sgd"], "problems": ["logsum"], "dim": 3,
                   "delays": ["straggler"], "eps": [0.5, 0.3], "steps": 300, "seeds": 2}}


def test_load_a_sweep(tmp_path):
    out = tmp_path / "sw"
    sweeps.run(sweeps.from_dict(SWEEP), out, executor="processes", workers=1)
    sw = verify.load(out)
    assert isinstance(sw, api.SweepResult) and len(sw.cells) == 2
    df = sw.to_frame()
    assert list(df.columns) == ["cell", "problem", "dim", "noise", "sigma", "delays", "delay_draw", "eps", "steps",
                                "algorithm", "seed", "metric", "value"]
    assert len(df) == 2 * 4 * 7  # cells x lanes x metrics
    for key in sw.cells:  # each cell's runs, loaded as a Simulation, give the sweep's numbers
        lanes = sw.cell(key).to_frame()
        rows = df[(df["cell"] == key) & (df["metric"] == "first_hit")]
        assert rows["algorithm"].tolist() == lanes["algorithm"].tolist() == ["picky", "picky", "sgd", "sgd"]
        assert pd.to_numeric(rows["value"]).tolist() == lanes["first_hit"].astype(float).tolist()
        assert lanes["first_hit"].notna().all()  # precondition: compared numbers, not NaN == NaN
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        sw.cell("nope")


def test_bad_directories_are_one_line_errors(tmp_path, sim):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    cases = {
        tmp_path / "missing": "load: no such directory",
        tmp_path / "file": "load: no such directory",
        tmp_path / "empty": "is not a result directory: it holds no run.json",
    }
    run = sim.save(tmp_path / "run")
    lane = run / "runs" / "lane-0000.json"
    lane.write_text(lane.read_text().replace('"seed": 2', '"seed": 7'))
    cases[run] = "does not match its checksum"
    for d, needle in cases.items():
        with pytest.raises(ValueError) as exc:
            verify.load(d)
        msg = str(exc.value)
        assert needle in msg and "\n" not in msg and str(d) in msg, msg

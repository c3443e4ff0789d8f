"""picky simulate --compute: seconds beside steps, one-line errors, --save writes a replayable trace."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify.cli import main

BASE = ["simulate", "--algorithm", "picky,delayed-sgd", "--eps", "0.5", "--steps", "400", "--seeds", "2", "--sigma", "0.2"]


def test_compute_reports_seconds_from_the_schedule(capsys, tmp_path):
    out = tmp_path / "run"
    assert main([*BASE, "--compute", "fixed:times=1;1;2", "--json", "--save", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    from verify.models import delays

    assert delays.parse_spec(rep["parameters"]["delays"]) == ("compute", {"spec": "fixed:times=1;1;2"})
    trace = json.loads((out / "trace.json").read_text())
    wall = np.array(trace["wall_clock"])
    # the schedule of fixed times (1, 1, 2) starts as worked by hand in tests/test_events.py
    assert trace["delays"][:8] == [0, 1, 1, 1, 4, 2, 2, 1] and wall[:8].tolist() == [1, 1, 2, 2, 2, 3, 3, 4]
    assert trace["tasks"][:8] == [0, 1, 3, 4, 2, 5, 6, 8]
    for row in rep["aggregate"]:
        runs = [r for r in rep["runs"] if r["algorithm"] == row["algorithm"]]
        secs = sorted(0.0 if r["first_hit"] == 1 else wall[r["first_hit"] - 2] for r in runs if r["first_hit"])
        assert secs and row["seconds_to_eps_min"] == secs[0] and row["seconds_to_eps_max"] == secs[-1]
    tt = {r["id"]: r for r in rep["time_theory"]["rows"]}
    assert tt["time-homog"]["seconds"] > 0 and tt["time-picky"]["status"] == "derived"
    # the saved schedule replays as a delay trace: the same first hits
    assert main([*BASE, "--delays", f"replay:path={out / 'trace.json'}", "--json"]) == 0
    rep2 = json.loads(capsys.readouterr().out)
    assert [r["first_hit"] for r in rep2["runs"]] == [r["first_hit"] for r in rep["runs"]]


def test_compute_text_table_has_seconds(capsys):
    assert main([*BASE, "--compute", "random:n=3,eta=exponential"]) == 0
    text = capsys.readouterr().out
    assert "seconds to eps median [min, max]" in text and "spec=random:n=3,eta=exponential" in text


@pytest.mark.parametrize("extra,words", [
    (["--compute", "nope"], "--compute: unknown compute model 'nope'"),
    (["--compute", "fixed:times=1;-1"], "--compute: parameter 'times' of compute model 'fixed' must be"),
    (["--compute", "fixed", "--delays", "none"], "--compute and --delays are exclusive"),
])
def test_compute_bad_input_one_line(capsys, extra, words):
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and err.startswith("picky simulate: error:")


def test_compute_per_seed_save_and_replay(capsys, tmp_path):
    """--delay-draw per-seed: one schedule per seed, each saved as trace-seed-<s>.json; --replay regenerates
    them from the spec and reproduces every lane."""
    out = tmp_path / "run"
    assert main([*BASE, "--compute", "random:n=3,eta=lognormal", "--delay-draw", "per-seed", "--save", str(out)]) == 0
    capsys.readouterr()
    t0, t1 = (json.loads((out / f"trace-seed-{s}.json").read_text()) for s in (0, 1))
    assert t0["delays"] != t1["delays"] and len(t0["wall_clock"]) == 400 and len(t1["tasks"]) == 400
    assert main(["simulate", "--replay", str(out)]) == 0


def test_compute_reports_concurrency(capsys):
    """3 always-busy workers: 3 gradients in flight at every step but the last few (the hand-worked schedule)."""
    assert main([*BASE, "--compute", "fixed:times=1;1;2", "--json"]) == 0
    ds = json.loads(capsys.readouterr().out)["delay_stats"]
    assert ds["concurrency_max"] == 3 and 2.9 < ds["concurrency_mean"] <= 3
    assert main([*BASE, "--compute", "fixed:times=1;1;2"]) == 0
    assert "concurrency (gradients in flight) max 3" in capsys.readouterr().out


def test_sgd_gets_no_seconds(capsys):
    """sgd ignores the delays: the asynchronous schedule's clock is not its own."""
    assert main(["simulate", "--algorithm", "sgd,picky", "--eps", "0.5", "--steps", "300", "--seeds", "1",
                 "--compute", "fixed:times=1;2", "--json"]) == 0
    by = {r["algorithm"]: r for r in json.loads(capsys.readouterr().out)["aggregate"]}
    assert by["sgd"]["first_hit_median"] is not None and by["sgd"]["seconds_to_eps_median"] is None
    assert by["picky"]["seconds_to_eps_median"] is not None

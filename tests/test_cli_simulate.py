"""``picky simulate`` and ``picky list``: numbers equal the engine's, stable JSON keys, common random
numbers across algorithms, exact replay of a saved run, Theorem D' horizon, clear errors."""
from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P
from verify.models.noise import NOISES, make_noise
from verify.models.adversaries import PickyRejector
from verify.io import runstore
from verify.cli import main
from verify.io.output import MANIFEST, sha256

TOP_KEYS = {"schema", "version", "command", "parameters", "problem", "noise", "delay_stats", "delay_draws", "theory", "runs",
            "aggregate", "diverged_lanes", "traces", "time_theory"}
PARAM_KEYS = {
    "algorithms", "problem", "dim", "noise", "sigma", "delays", "delay_seed", "delay_draw", "eps", "steps", "seeds", "seed0",
    "eta", "rho", "R", "tau_C", "rule", "stop_at_hit", "trace_every", "engine", "adversary",
}
AGG_KEYS = {
    "algorithm", "config", "eta", "rho", "R", "tau_C", "rule", "eta_min", "eta_max", "lanes", "successes", "success_fraction",
    "first_hit_median", "first_hit_min", "first_hit_max", "accepted_mean", "rejected_mean", "diverged",
}
THEORY_KEYS = {"result", "title", "guarantee", "success_probability", "T", "first_horizon", "condition_met_within_T",
               "applies_to_picky"}

# a small run where Theorem D' applies within T: F = 0.00505, beta = 1, straggler at T -> first horizon 1035
QUAD = ["--problem", "quadratic:scale=0.1", "--dim", "2", "--delays", "straggler", "--eps", "0.05", "--steps", "1500"]
# a noisy run with random delays (condition of Theorem D' not met within T)
NOISY = ["--problem", "logsum", "--dim", "3", "--delays", "pareto:alpha=1.5,scale=3", "--delay-seed", "4",
         "--eps", "0.5", "--steps", "800", "--sigma", "0.3", "--seeds", "4", "--seed0", "2"]


def simulate(capsys, *args, code=0):
    assert main(["simulate", *args]) == code
    return capsys.readouterr()


def simulate_json(capsys, *args):
    return json.loads(simulate(capsys, *args, "--json").out)


def direct_batch(problem="logsum", dim=3, delays="pareto:alpha=1.5,scale=3", delay_seed=4, eps=0.5, T=800,
                 sigma=0.3, seeds=(2, 3, 4, 5), algs=("picky", "delayed-sgd")):
    """The same computation as NOISY, done by hand with the library."""
    prob = P.make(problem, dim)
    seq = D.make(delays, T, seed=delay_seed)
    cfgs = [A.resolve(a, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, delays=seq) for a in algs]
    lanes_cfg = [c for c in cfgs for _ in seeds]
    lanes_seed = [s for _ in cfgs for s in seeds]
    return prob, seq, E.run_batch(prob, seq, lanes_cfg, lanes_seed, noise=make_noise("gaussian"))


# ------------------------------------------------------------------------------------------
# JSON and numbers
# ------------------------------------------------------------------------------------------
def test_json_schema_and_keys(capsys):
    argv = ["simulate", "--algorithm", "picky,delayed-sgd", *NOISY, "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == TOP_KEYS
    assert out["schema"] == "picky-simulate/3" and out["version"] == theory.__version__
    assert out["command"] == ["picky", *argv]
    assert set(out["parameters"]) == PARAM_KEYS
    assert out["parameters"]["algorithms"] == ["picky", "delayed-sgd"]
    assert out["parameters"]["noise"] == "gaussian" and out["parameters"]["engine"] == "numba"
    assert set(out["theory"]) == THEORY_KEYS and out["theory"]["result"] == "picky-explicit-sharp"
    assert {"tau_avg", "tau_max", "quantiles", "model", "seed", "clipped"} <= set(out["delay_stats"])
    assert set(out["delay_stats"]["quantiles"]) == {"q50", "q90", "q99"}
    assert out["problem"]["beta"] == 2.0 and out["problem"]["beta_exact"] is True
    assert len(out["runs"]) == 8 and [r["lane"] for r in out["runs"]] == list(range(8))
    assert {"algorithm", "seed", "first_hit", "accepted", "rejected", "diverged", "eta", "rho"} <= set(out["runs"][0])
    assert [a["algorithm"] for a in out["aggregate"]] == ["picky", "delayed-sgd"]
    assert set(out["aggregate"][0]) == AGG_KEYS | {"hit_by_first_horizon", "lanes_with_horizon"}
    assert set(out["aggregate"][1]) == AGG_KEYS


def test_numbers_equal_run_batch(capsys):
    out = simulate_json(capsys, "--algorithm", "picky", "--algorithm", "delayed-sgd", *NOISY)
    prob, seq, runs = direct_batch()
    assert out["delay_stats"]["tau_avg"] == seq.stats().tau_avg and out["delay_stats"]["tau_max"] == seq.stats().tau_max
    assert out["problem"]["F"] == prob.F
    for got, want in zip(out["runs"], runs, strict=True):
        assert (got["algorithm"], got["seed"], got["first_hit"]) == (want.algorithm, want.seed, want.first_hit)
        assert (got["accepted"], got["rejected"]) == (want.accepted, want.rejected)
        assert got["min_grad_norm"] == want.min_grad_norm and got["eta"] == want.config["eta"]
    for agg in out["aggregate"]:
        mine = [r for r in runs if r.algorithm == agg["algorithm"]]
        hits = [r.first_hit for r in mine if r.first_hit is not None]
        assert agg["successes"] == len(hits) and agg["success_fraction"] == len(hits) / len(mine)
        assert agg["first_hit_median"] == (statistics.median(hits) if hits else None)
        assert agg["first_hit_min"] == min(hits, default=None) and agg["first_hit_max"] == max(hits, default=None)
        assert agg["accepted_mean"] == pytest.approx(np.mean([r.accepted for r in mine]), rel=1e-15)
        assert agg["diverged"] == sum(r.diverged for r in mine)
        assert agg["eta"] == mine[0].config["eta"] and agg["rho"] == mine[0].config.get("rho")
    # the picky numbers are not all trivial: some rejections happened on these delays
    assert out["aggregate"][0]["rejected_mean"] > 0


def test_algorithms_share_delays_and_seeds(capsys):
    # picky with an infinite-in-practice threshold accepts everything: with the same eta it is
    # delayed SGD, so equal lanes prove equal delays and equal noise (common random numbers)
    out = simulate_json(capsys, "--algorithm", "picky,delayed-sgd", "--eta", "0.01", "--rho", "1e300", *NOISY)
    runs = out["runs"]
    picky, dsgd = runs[:4], runs[4:]
    assert [r["seed"] for r in picky] == [r["seed"] for r in dsgd] == [2, 3, 4, 5]
    for a, b in zip(picky, dsgd):
        assert a["rejected"] == 0
        for k in ("first_hit", "min_grad_norm", "accepted", "tau_avg", "tau_max"):
            assert a[k] == b[k], k
    # different seeds do differ (sigma > 0)
    assert len({r["min_grad_norm"] for r in picky}) == 4
    # --rho went to picky only; the theorem does not cover a user-set eta/rho
    assert out["aggregate"][0]["rho"] == 1e300 and out["aggregate"][1]["rho"] is None
    assert out["theory"]["applies_to_picky"] is False


def test_reference_engine_gives_the_same_numbers(capsys):
    args = ["--algorithm", "picky,stale-drop,delay-adaptive", *NOISY, "--seeds", "2", "--steps", "300", "--trace-every", "7"]
    fast = simulate_json(capsys, *args)
    ref = simulate_json(capsys, *args, "--engine", "reference")
    assert ref["parameters"]["engine"] == "reference"
    for a, b in zip(fast["runs"], ref["runs"], strict=True):
        assert a.pop("engine") == "numba" and b.pop("engine") == "reference"
        assert a == b
    for a, b in zip(fast["aggregate"], ref["aggregate"], strict=True):
        assert a == b


def test_text_table(capsys):
    text = simulate(capsys, "--algorithm", "picky,sgd", *NOISY).out
    assert "beta = 2 (exact)" in text and "F = 6.90776 (exact)" in text
    assert "tau_avg =" in text and "q50/q90/q99 =" in text and "sigma = 0.3" in text
    rows = [ln for ln in text.splitlines() if ln.split() and ln.split()[0] in ("picky", "sgd") and "simulate" not in ln]
    lines = {ln.split()[0]: ln for ln in rows}
    assert len(rows) == 2
    assert set(lines) == {"picky", "sgd"}
    assert "condition not met within T = 800" in lines["picky"]
    assert lines["sgd"].rstrip().endswith("-")


# ------------------------------------------------------------------------------------------
# Theorem D'
# ------------------------------------------------------------------------------------------
def test_picky_row_reports_theorem_d_prime_horizon(capsys):
    prob = P.make("quadratic:scale=0.1", 2)
    seq = D.make("straggler", 1500)
    want = theory.first_horizon(seq.delays, beta=prob.beta, F=prob.F, sigma=0.0, eps=0.05)
    assert want is not None and 1 < want <= 1500
    out = simulate_json(capsys, "--algorithm", "picky,delayed-sgd", *QUAD, "--seeds", "3")
    th = out["theory"]
    assert th["first_horizon"] == want and th["condition_met_within_T"] is True and th["applies_to_picky"] is True
    assert th["success_probability"] == 0.5
    picky = out["aggregate"][0]
    hits = [r["first_hit"] for r in out["runs"][:3] if r["first_hit"] is not None]
    assert picky["hit_by_first_horizon"] == sum(h <= want for h in hits)
    text = simulate(capsys, "--algorithm", "picky,delayed-sgd", *QUAD, "--seeds", "3").out
    row = next(ln for ln in text.splitlines() if ln.startswith("picky ") and "simulate" not in ln)
    assert f"{want} (hit by then: {picky['hit_by_first_horizon']}/3)" in row
    assert f"first holds at T = {want}" in text


def test_theorem_not_met_and_no_picky(capsys):
    out = simulate_json(capsys, "--algorithm", "sgd", *NOISY, "--seeds", "1")
    prob = P.make("logsum", 3)
    seq = D.make("pareto:alpha=1.5,scale=3", 800, seed=4)
    assert out["theory"]["first_horizon"] == theory.first_horizon(seq.delays, beta=prob.beta, F=prob.F, sigma=0.3, eps=0.5) is None
    assert out["theory"]["applies_to_picky"] is None and "hit_by_first_horizon" not in out["aggregate"][0]


# ------------------------------------------------------------------------------------------
# --save / --replay
# ------------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path, capsys):
    d = tmp_path / "run"
    simulate(capsys, "--algorithm", "picky,delay-adaptive", *NOISY, "--seeds", "2", "--trace-every", "50", "--save", str(d))
    return d


def reseal(d):
    """Rewrite the manifest after a deliberate edit (so that the checks behind the checksum run)."""
    man = json.loads((d / MANIFEST).read_text())
    man["files"] = {p.relative_to(d).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256(p)}
                    for p in sorted(d.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (d / MANIFEST).write_text(json.dumps(man))


def edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def replace_sequences(d, seq_for):
    """Store seq_for(old sequence) in place of every saved sequence, consistently (header, lane refs)."""
    head = json.loads((d / "run.json").read_text())
    ids, new_seqs = {}, []
    for e in head["sequences"]:
        new_seqs.append(seq_for(runstore._load_sequence(d, e, "test")))
    for e in head["sequences"]:
        (d / e["file"]).unlink()
    for e, new in zip(head["sequences"], new_seqs):
        nid = runstore.sequence_id(new)
        np.savez_compressed(d / f"delays/{nid}.npz", delays=new.delays)
        ids[e["id"]] = nid
        e.update(id=nid, file=f"delays/{nid}.npz", **runstore._meta(new))
    for lane in head["lanes"]:
        lane["sequence"] = ids[lane["sequence"]]
        edit_json(d / lane["file"], lambda r: r["delays"].update(ref=ids[r["delays"]["ref"]]))
    (d / "run.json").write_text(json.dumps(head))
    reseal(d)


def test_save_writes_replayable_directory(saved):
    record = json.loads((saved / "run.json").read_text())
    assert record["schema"] == "picky-simulate/3" and record["version"] == theory.__version__
    assert record["command"][:2] == ["picky", "simulate"] and len(record["lanes"]) == 4
    assert set(record["parameters"]) == PARAM_KEYS
    env = record["environment"]
    assert {"version", "python", "numpy", "platform", "timestamp", "git"} <= set(env)
    assert sorted(p.name for p in (saved / "runs").iterdir()) == [f"lane-000{i}.json" for i in range(4)]
    # the shared sequence is stored once, not per lane
    seq = D.make("pareto:alpha=1.5,scale=3", 800, seed=4)
    (entry,) = record["sequences"]
    assert [p.name for p in (saved / "delays").iterdir()] == [f"{entry['id']}.npz"]
    with np.load(saved / entry["file"]) as z:
        assert np.array_equal(z["delays"], seq.delays)
    assert all("ref" in json.loads((saved / f"runs/lane-000{i}.json").read_text())["delays"] for i in range(4))
    # the trace as CSV, and a manifest that lists every file with its checksum
    rows = (saved / "trace.csv").read_text().splitlines()
    assert rows[0] == "lane,algorithm,seed,step,grad_norm,f" and len(rows) == 1 + 4 * 16
    man = json.loads((saved / MANIFEST).read_text())
    files = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert man["complete"] is True and set(man["files"]) == files
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_replay_reproduces_exactly(saved, capsys):
    text = simulate(capsys, "--replay", str(saved)).out
    assert "replay: 4 lanes reproduced exactly" in text
    assert "delay-adaptive" in text and "picky" in text  # the same table
    out = json.loads(simulate(capsys, "--replay", str(saved), "--json").out)
    assert out["replay"]["reproduced"] is True and out["replay"]["mismatches"] == []
    assert out["replay"]["lanes"] == 4 and set(out) == TOP_KEYS | {"replay"}


def test_replay_refuses_an_edited_file(saved, capsys):
    edit_json(saved / "run.json", lambda r: r["parameters"].update(eps=0.25))
    assert main(["simulate", "--replay", str(saved)]) == 2
    err = capsys.readouterr().err
    assert "run.json" in err and "does not match its checksum" in err


@pytest.mark.parametrize("change, needle", [
    (lambda p: p.update(eps=0.25), "says eps = 0.25 but lane 0000 ran with eps = 0.5"),
    (lambda p: p.update(algorithms=["picky"]), "describe lanes [picky/2, picky/3] (2 lanes) but the saved lanes are"),
    (lambda p: p.update(algorithms=["delay-adaptive", "picky"]), "describe lanes [delay-adaptive/2"),
    (lambda p: p.update(seed0=3), "describe lanes [picky/3, picky/4, delay-adaptive/3"),
    (lambda p: p.update(steps=700), "says steps = 700 but lane 0000 ran T = 800"),
    (lambda p: p.update(delay_seed=99), "says delay_seed = 99 (shared), but lane 0000's sequence was drawn with seed 4"),
])
def test_replay_checks_the_header_against_the_lanes(saved, capsys, change, needle):
    edit_json(saved / "run.json", lambda r: change(r["parameters"]))
    reseal(saved)
    assert main(["simulate", "--replay", str(saved)]) == 2
    err = capsys.readouterr().err
    assert "reproduced exactly" not in err and needle in err, err


def test_replay_uses_the_saved_delays_not_a_regeneration(saved, capsys):
    # the lanes are rerun on the stored sequence: replacing it (consistently) changes the lanes, and
    # the model no longer regenerates it
    replace_sequences(saved, lambda old: D.DelaySequence(D.make("pareto:alpha=1.5,scale=3", 800, seed=5).delays,
                                                         old.model, old.params, old.seed))
    res = simulate(capsys, "--replay", str(saved), code=1)
    assert "delays: the lane's saved sequence differs" not in res.out  # each lane ran on the stored one
    assert "no longer generates the shared sequence" in res.out
    assert "lanes differ" in res.out


def test_replay_checks_that_the_model_regenerates_the_saved_delays(saved, capsys, monkeypatch):
    # the delay model's code changed (simulated): it no longer gives the saved sequence
    from verify.cli import simulate as cli_simulate

    real = D.make
    monkeypatch.setattr(cli_simulate.delay_models, "make", lambda *a, **k: real(a[0], a[1], seed=k["seed"] + 1))
    res = simulate(capsys, "--replay", str(saved), code=1)
    assert "pareto:alpha=1.5,scale=3 with seed 4 no longer generates the shared sequence" in res.out


@pytest.mark.parametrize("field, change", [("first_hit", lambda v: (v or 0) + 1), ("final_grad_norm", lambda v: v * (1 + 1e-9))])
def test_replay_detects_a_tampered_lane(saved, capsys, field, change):
    lane = saved / "runs" / "lane-0001.json"
    edit_json(lane, lambda d: d.update({field: change(d[field])}))
    assert main(["simulate", "--replay", str(saved)]) == 2  # the checksum first
    assert "lane-0001.json" in capsys.readouterr().err
    reseal(saved)
    res = simulate(capsys, "--replay", str(saved), code=1)
    assert "replay: 1 of 4 lanes differ (lanes 0001)" in res.out
    assert f"lane 0001 (picky, seed 3): {field}" in res.out
    assert "reproduced exactly" not in res.out


def test_replay_float_tolerance(saved, capsys):
    # 1e-12 relative is "equal": a last-bit change of a float passes
    lane = saved / "runs" / "lane-0002.json"
    edit_json(lane, lambda d: d.update(final_f=float(np.nextafter(d["final_f"], np.inf))))
    reseal(saved)
    assert "4 lanes reproduced exactly" in simulate(capsys, "--replay", str(saved)).out


def test_save_refuses_a_non_empty_directory_unless_forced(saved, capsys):
    args = ["--algorithm", "sgd", *NOISY, "--seeds", "1", "--save", str(saved)]
    code = main(["simulate", *args])
    assert code == 2 and "--save" in capsys.readouterr().err
    simulate(capsys, *args, "--force")
    assert sorted(p.name for p in (saved / "runs").iterdir()) == ["lane-0000.json"]
    assert "1 lanes reproduced exactly" in simulate(capsys, "--replay", str(saved)).out


def test_replay_of_a_reference_run(tmp_path, capsys):
    d = tmp_path / "ref"
    simulate(capsys, "--algorithm", "picky", *QUAD, "--seeds", "2", "--sigma", "0.01", "--stop-at-hit",
             "--engine", "reference", "--save", str(d))
    out = json.loads(simulate(capsys, "--replay", str(d), "--json").out)
    assert out["parameters"]["engine"] == "reference" and out["runs"][0]["engine"] == "reference"
    assert out["replay"]["reproduced"] is True
    assert all(r["steps_run"] < 1500 for r in out["runs"])  # --stop-at-hit was replayed


# ------------------------------------------------------------------------------------------
# errors and listing
# ------------------------------------------------------------------------------------------
GOOD = {"--algorithm": "picky", "--delays": "constant:tau=2", "--eps": "0.5", "--steps": "50", "--seeds": "1"}


@pytest.mark.parametrize(
    "change, needles",
    [
        ({"--algorithm": "picky,bogus"}, ["--algorithm", "'bogus'", "delayed-sgd", "stale-drop"]),
        ({"--problem": "bogus"}, ["--problem", "logsum", "quadratic", "chain"]),
        ({"--problem": "quadratic:mu=-1"}, ["--problem", "mu must be"]),
        ({"--delays": "bogus"}, ["--delays", "'bogus'", "pareto", "straggler"]),
        ({"--delays": "constant:tau=-1"}, ["--delays", "'tau'", "[0, inf)"]),
        ({"--delays": "constant:x=1"}, ["--delays", "'x'", "allowed parameters: tau"]),
        ({"--noise": "bogus"}, ["--noise", "gaussian", "student_t"]),
        ({"--noise": "student_t:df=1"}, ["--noise", "df must be"]),
        ({"--eps": "0"}, ["--eps", "a finite real in (0, inf)"]),
        ({"--eps": "nan"}, ["--eps", "a finite real in (0, inf)"]),
        ({"--steps": "0"}, ["--steps", "an integer in [1, 2147483646]"]),
        ({"--seeds": "0"}, ["--seeds", "an integer in [1, 1000000]"]),
        ({"--sigma": "-1"}, ["--sigma", "a finite real in [0, inf)"]),
        ({"--rule": "bogus"}, ["--rule", "ksj", "mishchenko"]),
        ({"--algorithm": "delayed-sgd", "--rho": "0.1"}, ["rho", "do not apply", "delayed-sgd"]),
        ({"--algorithm": "picky,sgd", "--R": "3"}, ["'R'", "do not apply"]),
        ({"--delays": None}, ["--delays", "required", "pareto"]),
        ({"--steps": None, "--eps": None}, ["--eps", "--steps", "required"]),
        ({"--delays": None, "--adversary": "bogus"}, ["--adversary", "'bogus'", "picky-rejector", "stale-error"]),
        ({"--delays": None, "--adversary": "picky-rejector:tau=-1"}, ["--adversary", "'tau'", "[0, inf)"]),
        ({"--adversary": "picky-rejector"}, ["--adversary", "--delays", "exclusive"]),
        ({"--delays": None, "--adversary": "stale-error", "--engine": "numba"}, ["--engine numba", "--engine reference"]),
    ],
)
def test_bad_input_exit_2(capsys, change, needles):
    opts = {**GOOD, **change}
    argv = [x for k, v in opts.items() if v is not None for x in (k, v)]
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") or err.startswith("picky simulate: error:")
    assert len(err.strip().splitlines()[-1]) > 0
    for n in needles:
        assert n in err, (n, err)


def test_bad_replay_exit_2(tmp_path, capsys, saved):
    def refused(argv, needle):
        assert main(["simulate", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert "--replay" in err and needle in err, (argv, err)
        assert len(err.strip().splitlines()) == 1

    refused(["--replay", str(tmp_path / "missing")], "no such directory")
    (tmp_path / "empty").mkdir()
    refused(["--replay", str(tmp_path / "empty")], "has no MANIFEST.json: it is not a complete result")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    refused(["--replay", str(bad)], "has no MANIFEST.json")
    (bad / MANIFEST).write_text("{not json")
    refused(["--replay", str(bad)], "cannot read")
    (bad / MANIFEST).write_text(json.dumps({"schema": "picky-manifest/1", "complete": True, "files": {}}))
    refused(["--replay", str(bad)], "run.json")
    (bad / "run.json").write_text(json.dumps({"schema": "other/1"}))
    refused(["--replay", str(bad)], "picky-simulate/3")
    refused(["--replay", str(saved), "--steps", "10"], "--steps")
    (saved / "runs" / "lane-0003.json").unlink()
    refused(["--replay", str(saved)], "lane-0003.json' is listed in MANIFEST.json but missing")


def test_progress_flag(capsys):
    err = simulate(capsys, "--algorithm", "sgd", *NOISY, "--seeds", "1", "--progress").err
    assert "100.0%" in err
    assert simulate(capsys, "--algorithm", "sgd", *NOISY, "--seeds", "1", "--no-progress").err == ""
    err = simulate(capsys, "--algorithm", "sgd", *NOISY, "--seeds", "2", "--engine", "reference", "--progress").err
    assert "2/2" in err


def test_list_mentions_everything(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for name in (*A.ALGORITHMS, *P.PROBLEMS, *D.MODELS, *NOISES):
        assert name in text, name
    assert "tau=5" in text and "alpha=1.5, scale=3" in text  # defaults
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["algorithms"]) == list(A.ALGORITHMS) and set(data["delay_models"]) == set(D.MODELS)
    assert data["algorithms"]["picky"]["overrides"] == ["--eta", "--rho"]
    assert data["algorithms"]["stale-drop"]["overrides"] == ["--eta", "--R"]
    assert data["problems"]["logsum"]["defaults"] == P.PROBLEMS["logsum"]["defaults"]


# ------------------------------------------------------------------------------------------
# a delay draw per seed
# ------------------------------------------------------------------------------------------
PER_SEED = ["--problem", "logsum", "--dim", "3", "--delays", "pareto:alpha=1.5,scale=3", "--delay-draw", "per-seed",
            "--delay-seed", "7", "--eps", "0.5", "--steps", "600", "--sigma", "0.3", "--seeds", "3", "--seed0", "1"]


def test_per_seed_draws_each_lane_its_own_sequence(capsys):
    out = simulate_json(capsys, "--algorithm", "picky,delayed-sgd", *PER_SEED)
    assert out["delay_stats"] is None and out["delay_draws"]["mode"] == "per-seed"
    draws = out["delay_draws"]["draws"]
    assert [d["seed"] for d in draws] == [1, 2, 3] and out["delay_draws"]["count"] == 3
    prob = P.make("logsum", 3)
    seqs = {s: D.make("pareto:alpha=1.5,scale=3", 600, seed=D.draw_seed(7, s)) for s in (1, 2, 3)}
    assert len({tuple(q.delays) for q in seqs.values()}) == 3  # three different sequences
    for d in draws:
        assert d["delay_seed"] == D.draw_seed(7, d["seed"]) and d["tau_avg"] == seqs[d["seed"]].stats().tau_avg
    taus = [q.stats().tau_avg for q in seqs.values()]
    assert out["delay_draws"]["tau_avg"] == {"min": min(taus), "median": statistics.median(taus), "max": max(taus)}
    # lane by lane: the same numbers as the library on that lane's sequence (both algorithms share it)
    for row in out["runs"]:
        seq = seqs[row["seed"]]
        alg = A.resolve(row["algorithm"], beta=prob.beta, F=prob.F, eps=0.5, sigma=0.3, delays=seq)
        (want,) = E.run_batch(prob, seq, alg, [row["seed"]])
        assert (row["first_hit"], row["rejected"], row["eta"], row["tau_max"]) == (
            want.first_hit, want.rejected, alg.eta, seq.stats().tau_max)
    dsgd = out["aggregate"][1]
    assert dsgd["eta"] is None and dsgd["eta_min"] < dsgd["eta_max"]  # delayed SGD's step follows each tau_max


def test_per_seed_draw_is_independent_of_the_noise_seed():
    # the draw of lane s is not seeded by s itself (its noise stream is default_rng(s))
    for s in range(5):
        assert D.draw_seed(0, s) != s
    assert len({D.draw_seed(0, s) for s in range(100)} | {D.draw_seed(1, s) for s in range(100)}) == 200


def test_per_seed_save_and_replay(tmp_path, capsys):
    d = tmp_path / "per-seed"
    simulate(capsys, "--algorithm", "picky", *PER_SEED, "--save", str(d))
    head = json.loads((d / "run.json").read_text())
    assert len(head["sequences"]) == 3 and len(list((d / "delays").iterdir())) == 3
    assert [e["seed"] for e in head["sequences"]] == [D.draw_seed(7, s) for s in (1, 2, 3)]
    assert "3 lanes reproduced exactly" in simulate(capsys, "--replay", str(d)).out
    # every lane's sequence is checked: swapping two saved draws (data and seeds, consistently) is caught
    by_seed = {e["seed"]: e for e in head["sequences"]}
    s1, s2 = D.draw_seed(7, 1), D.draw_seed(7, 2)
    swap = {s1: s2, s2: s1}
    spec = PER_SEED[PER_SEED.index("--delays") + 1]
    replace_sequences(d, lambda old: D.make(spec, len(old), seed=swap[old.seed]) if old.seed in swap else old)
    assert by_seed  # the header listed the draws by seed
    assert main(["simulate", "--replay", str(d)]) == 2
    assert "lane 0000's sequence was drawn with seed" in capsys.readouterr().err


def test_per_seed_text_report(capsys):
    text = simulate(capsys, "--algorithm", "picky", *PER_SEED).out
    assert "one draw per seed (3 draws, --delay-seed 7)" in text and "(min / median / max)" in text


# ------------------------------------------------------------------------------------------
# adaptive adversaries (--adversary)
# ------------------------------------------------------------------------------------------
ADVERSARIAL = ["--algorithm", "picky,delayed-sgd", "--adversary", "picky-rejector:tau=3,window=50", "--problem",
               "quadratic", "--dim", "4", "--eps", "0.5", "--steps", "600", "--seeds", "2"]


def test_adversary_lanes_equal_reference_runs_by_hand(capsys):
    """Each lane meets a fresh adversary of the spec (against its own rule) in the literal loop;
    the report is flagged and states the realised sequences."""
    out = simulate_json(capsys, *ADVERSARIAL)
    p = out["parameters"]
    assert p["adversary"] == "picky-rejector:tau=3,window=50" and p["delays"] is None and p["engine"] == "reference"
    prob = P.make("quadratic", 4)
    by_hand = []
    for name in ("picky", "delayed-sgd"):
        alg = A.resolve(name, beta=prob.beta, F=prob.F, eps=0.5, sigma=0.0, delays={"tau_avg": 3.0, "tau_max": 50.0})
        for seed in (0, 1):
            adv = PickyRejector(tau_budget=3.0, window=50, rule=alg)
            by_hand.append(A.reference_run(prob, adv, alg, seed=seed, T=600, noise=make_noise("gaussian")))
    assert [r["first_hit"] for r in out["runs"]] == [r.first_hit for r in by_hand]
    assert [r["rejected"] for r in out["runs"]] == [r.rejected for r in by_hand]
    assert by_hand[0].rejected > 0  # the adversary did make picky reject
    assert all(r["adaptive"] for r in out["runs"])
    dd = out["delay_draws"]
    assert dd["mode"] == "adaptive" and [x["tau_avg"] for x in dd["lanes"]] == [r.delay_stats["tau_avg"] for r in by_hand]
    assert out["theory"]["adaptive"].startswith("adaptive: outside the theorem's oblivious assumption")
    text = simulate(capsys, *ADVERSARIAL).out
    assert "adaptive adversary picky-rejector:tau=3,window=50" in text and "oblivious assumption" in text


def test_adversary_save_and_replay(tmp_path, capsys):
    d = tmp_path / "adv"
    simulate(capsys, *ADVERSARIAL, "--save", str(d))
    assert not (d / "delays.json").exists() and len(list((d / "runs").glob("lane-*.json"))) == 4
    out = json.loads(simulate(capsys, "--replay", str(d), "--json").out)
    assert out["replay"]["reproduced"] is True and out["replay"]["lanes"] == 4
    # a lane whose recorded realised sequence was edited is caught
    f = d / "runs" / "lane-0000.json"
    head = json.loads((d / "run.json").read_text())
    seqs = {e["id"]: runstore._load_sequence(d, e, "test") for e in head["sequences"]}
    first = head["lanes"][0]["sequence"]
    assert 1 <= len(seqs) <= 4  # each lane met its own adversary; equal sequences are stored once
    def edited(old):
        if old is not seqs[first] and not np.array_equal(old.delays, seqs[first].delays):
            return old
        seq = old.delays.copy()
        seq[int(np.flatnonzero(seq)[0])] -= 1
        return D.DelaySequence(seq, old.model, old.params, old.seed, adaptive=old.adaptive)
    replace_sequences(d, edited)
    assert f.exists()
    assert "delays" in simulate(capsys, "--replay", str(d), code=1).out

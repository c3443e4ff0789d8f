"""picky figures: every figure's data function on the tiny "test" budget, the CSV round trip, the CLI
writing the files (PNG, SVG, CSV, README.md, MANIFEST.json), --reuse-data, --only keeping the other
figures, and bad arguments (exit 2, one line). Image content is not asserted."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from verify import figures
from verify.cli import main
from verify.figures import Context, Table
from verify.figures.pipeline import figure_files

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

CTX = Context(profile="test")
#: the cheap figures run through the CLI (the others' compute is exercised directly below)
CLI_FIGS = ["theory-iterations", "theory-advantage", "hunter"]


@pytest.fixture(scope="module")
def tables() -> dict[str, Table]:
    out = {}
    for name in figures.NAMES:
        if name in ("digits", "digits-seconds"):
            continue  # their own tests (digits: a smaller budget still; digits-seconds: test_figures_digits_seconds.py)
        out[name] = figures.get(name).compute("test", ctx=CTX)
    return out


def test_every_figure_computes_a_table(tables):
    for name, t in tables.items():
        assert t.rows, name
        assert t.meta["sentence"] and t.meta["caption"], name
        assert "seeds" in t.meta, name


def test_table_csv_round_trip(tables, tmp_path):
    for name, t in tables.items():
        (tmp_path / f"{name}.csv").write_text(t.csv_text())
        (tmp_path / f"{name}.meta.json").write_text(t.meta_text())
        back = Table.read(tmp_path, name)
        assert len(back.rows) == len(t.rows), name
        for a, b in zip(t.rows, back.rows):
            for k, v in a.items():
                if v is None:
                    assert k not in b
                elif isinstance(v, float) and math.isnan(v):
                    assert math.isnan(b[k])
                else:
                    assert b[k] == v, (name, k)


def test_theory_figures_use_theory():
    import theory

    t = figures.get("theory-iterations").compute("test")
    r = [x for x in t.rows if x["curve"] == "picky-D" and x["sigma"] == 0.0][0]
    assert r["iterations"] == pytest.approx(theory.iterations("picky-explicit", beta=1.0, F=1.0, sigma=0.0, eps=r["eps"],
                                                              tau_avg=t.meta["delays"]["tau_avg"]))
    a = figures.get("theory-advantage").compute("test")
    cr = [x["ratio"] for x in a.rows if x["kind"] == "crossover" and x["panel"] == "theorem-D" and x["sigma"] == 0.0]
    assert all(5e3 < c < 2e4 for c in cr)  # the explicit constants put the crossover near 1e4


def test_headline_uses_claim_evidence(tables):
    t = tables["headline"]
    ev = [r for r in t.rows if r["source"] == "claim 5 evidence"]
    assert {r["algorithm"] for r in ev} == {"picky", "delayed-sgd"}
    s = t.meta["slopes"]
    assert s["a/two-point/picky"]["slope"] < 0.1 < 0.5 < s["a/two-point/delayed-sgd"]["slope"]


def test_threshold_shows_the_hard_regime(tables):
    h = tables["threshold"].meta["summary"]["hard"]
    assert h["rejected_fraction_at_theorem"] > 0.9 and h["ratio_to_same_eta"] > 10


def test_hunter_counterexample_diverges(tables):
    runs = {r["run"]: r for r in tables["hunter"].rows if r["kind"] == "run"}
    assert runs["conjecture"]["diverged_step"] == 5869
    assert runs["picky"]["first_hit"] is not None


def test_digits_training_uses_the_rule_objects(monkeypatch):
    from verify import algorithms
    from verify.models import delays
    from verify.figures import digits as D

    calls = []
    orig = algorithms.Picky.decide

    def spy(self, dist, d):
        calls.append((dist, d))
        return orig(self, dist, d)

    monkeypatch.setattr(algorithms.Picky, "decide", spy)
    data = D.load()
    seq = delays.make(D.DELAYS[2][1], 120, seed=1)
    alg = D.make_algorithm("picky", 0.3, 0.05, seq)
    run = D.train(alg, seq, data, 1, 120, 40)
    assert len(calls) == 120
    assert run["accepted"] == sum(orig(alg, dd, d)[0] for dd, d in calls)
    assert run["accepted"] < 120  # rho = 0.05 rejects some stale gradients
    assert np.isfinite(run["evals"][-1]["train_loss"])


def test_digits_compute_tiny(monkeypatch):
    from verify.figures import digits as D

    monkeypatch.setattr(D, "LR_GRID", (0.3,))
    monkeypatch.setattr(D, "RHO_GRID", (1.0,))
    monkeypatch.setattr(D, "DELAYS", D.DELAYS[:1])
    monkeypatch.setitem(D.BUDGETS, "test", (60, (0,), 30))
    t = D.compute("test")
    g = t.meta["gaps"]["concentrated"]
    assert set(g["final_test_acc_mean"]) == {"picky", "delayed-sgd", "delay-adaptive"}
    assert "Grid" in t.meta["caption"] and "Tuned" in t.meta["caption"]
    D.plot(t)


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_and_reuses(tmp_path, capsys):
    out = tmp_path / "figs"
    code, so, _ = _run(["figures", "--out", str(out), "--profile", "test", "--no-progress", "--only", *CLI_FIGS], capsys)
    assert code == 0, so
    for n in CLI_FIGS:
        for f in figure_files(n):
            assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    man = json.loads((out / "MANIFEST.json").read_text())
    assert man["kind"] == "picky-figures" and set(man["figures"]) == set(CLI_FIGS)
    readme = (out / "README.md").read_text()
    for n in CLI_FIGS:
        assert f"]({n}.png)" in readme and f"--only {n}" in readme
    # --reuse-data replots from the CSVs; the CSV is unchanged
    before = (out / "theory-advantage.csv").read_bytes()
    code, so, _ = _run(["figures", "--out", str(out), "--reuse-data", "--no-progress"], capsys)
    assert code == 0 and "replotted" in so
    assert (out / "theory-advantage.csv").read_bytes() == before
    # --only regenerates one figure and keeps the others
    code, so, _ = _run(["figures", "--out", str(out), "--only", "theory-iterations", "--profile", "test",
                        "--no-progress"], capsys)
    assert code == 0
    assert (out / "hunter.png").is_file() and (out / "theory-advantage.csv").read_bytes() == before
    assert set(json.loads((out / "MANIFEST.json").read_text())["figures"]) == set(CLI_FIGS)


def test_cli_png_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert _run(["figures", "--out", str(d), "--profile", "test", "--only", "theory-advantage", "--no-progress"],
                    capsys)[0] == 0
    for f in ("theory-advantage.png", "theory-advantage.svg", "theory-advantage.csv"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


@pytest.mark.parametrize("argv, needle", [
    (["figures", "--only", "nope"], "unknown figure 'nope'"),
    (["figures", "--profile", "huge"], "invalid choice"),
    (["figures", "--reuse-data", "--out", "{tmp}/empty", "--data", "{tmp}/nodata"], "--data: '"),
    (["figures", "--out", "{tmp}/empty", "--data", "{tmp}/foreign"], "--data: only with --reuse-data"),
    (["figures", "--reuse-data", "--out", "{tmp}/empty", "--data", "{tmp}/foreign"], "was not written by picky"),
    (["figures", "--out", "{tmp}/foreign", "--only", "theory-advantage"], "was not written by picky figures"),
    (["figures", "--out", "{tmp}/afile", "--only", "theory-advantage"], "is not a directory"),
])
def test_cli_bad_arguments(tmp_path, capsys, argv, needle):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("mine")
    (tmp_path / "afile").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, so, se = _run(argv, capsys)
    assert code == 2
    lines = [ln for ln in se.strip().splitlines() if ln]
    assert needle in se
    if "invalid choice" not in needle:  # argparse prints its usage line too
        assert len(lines) == 1, se
    assert (tmp_path / "foreign" / "x.txt").read_text() == "mine"


def test_reuse_data_into_a_new_directory_replots_the_committed_figures(tmp_path, capsys):
    """Issue 21: `picky figures --reuse-data --out NEW` was refused ("holds no figures yet"). From a checkout
    it replots the committed figures/ (the CSV is carried over byte for byte); --data DIR names another
    source (its manifest checked); outside a checkout the error says how to point at the data."""
    from verify.figures import pipeline

    committed = pipeline.COMMITTED
    assert (committed / "MANIFEST.json").is_file()  # the test runs from a checkout
    new = tmp_path / "new"
    code, so, se = _run(["figures", "--reuse-data", "--out", str(new), "--only", "theory-iterations",
                         "--no-progress"], capsys)
    assert code == 0, se
    assert "replotted" in so and f"data from {committed}/" in so
    assert (new / "theory-iterations.csv").read_bytes() == (committed / "theory-iterations.csv").read_bytes()
    assert (new / "theory-iterations.png").stat().st_size > 0
    # --data: a copy, replotted; an edited copy is refused by its manifest
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(committed, copy)
    code, so, se = _run(["figures", "--reuse-data", "--data", str(copy), "--out", str(tmp_path / "b"), "--only",
                         "hunter", "--no-progress"], capsys)
    assert code == 0 and f"data from {copy}/" in so, se
    assert (tmp_path / "b" / "hunter.csv").read_bytes() == (committed / "hunter.csv").read_bytes()
    (copy / "hunter.csv").write_text("edited\n")
    code, _, se = _run(["figures", "--reuse-data", "--data", str(copy), "--out", str(tmp_path / "c"), "--only",
                        "hunter", "--no-progress"], capsys)
    assert code == 2 and "does not match its checksum" in se and not (tmp_path / "c").exists()


def test_reuse_data_outside_a_checkout_says_how(tmp_path, capsys, monkeypatch):
    from verify.figures import pipeline

    monkeypatch.setattr(pipeline, "COMMITTED", tmp_path / "no-checkout" / "figures")
    code, _, se = _run(["figures", "--reuse-data", "--out", str(tmp_path / "new"), "--no-progress"], capsys)
    assert code == 2 and len(se.strip().splitlines()) == 1
    assert "holds no figures yet and no committed figures/ was found" in se and "--data DIR" in se


def test_committed_csvs_round_trip_byte_for_byte():
    """A replot (--reuse-data) rewrites each CSV: it must be the committed bytes (hunter.csv and headline.csv
    came back with their columns reordered, since read-back rows omit empty cells). Metadata too."""
    from verify.figures import pipeline

    committed = json.loads((pipeline.COMMITTED / "MANIFEST.json").read_text())["figures"]
    assert committed and set(committed) <= set(figures.NAMES)  # a figure added since is committed when regenerated
    for name in committed:
        t = Table.read(pipeline.COMMITTED, name)
        assert t.csv_text() == (pipeline.COMMITTED / f"{name}.csv").read_text(), name
        assert t.meta_text() == (pipeline.COMMITTED / f"{name}.meta.json").read_text(), name

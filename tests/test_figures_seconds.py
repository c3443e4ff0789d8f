"""The seconds figures of issue 24 (seconds-vs-workers, seconds-vs-heterogeneity, steps-and-seconds,
compute-delays) on the "test" budget: their CSV columns, invariants the data must obey whatever the
methods do (arrivals a fixed fleet can complete, order statistics over the seeds, monotone arrival
times, counts that add up, T_homog by hand), claim 18's method list, and that the CSV written by
``picky figures`` is what the meta's seed and profile give."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from verify import figures
from verify.claims import picky_seconds
from verify.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SECONDS_FIGS = ["seconds-vs-workers", "seconds-vs-heterogeneity", "steps-and-seconds", "compute-delays"]
EPS = 0.5  # the quad instance of claim 18


@pytest.fixture(scope="module")
def tables():
    return {n: figures.get(n).compute("test") for n in SECONDS_FIGS}


def test_registered_in_order():
    assert list(figures.NAMES[8:12]) == SECONDS_FIGS


def test_columns(tables):
    base = {"kind", "method", "seconds", "seed", "steps", "median", "q10", "q90", "reached", "runs", "T_homog", "T_asgd",
            "m_star"}
    assert set(tables["seconds-vs-workers"].columns()) == base | {"n"}
    assert set(tables["seconds-vs-heterogeneity"].columns()) == base | {"a", "tau_ratio"}
    assert set(tables["steps-and-seconds"].columns()) == {
        "kind", "method", "t", "seconds", "grad_norm", "steps_median", "seconds_median", "reached", "runs", "steps_seed",
        "seconds_seed", "hit"}
    assert set(tables["compute-delays"].columns()) == {
        "kind", "model", "d", "count", "label", "spec", "n", "T", "tau_avg", "median", "tau_max", "concurrency_max",
        "concurrency_mean", "seconds"}


def test_every_method_of_claim_18(tables):
    names = [m.name for m in picky_seconds.METHODS]
    for fig in ("seconds-vs-workers", "seconds-vs-heterogeneity", "steps-and-seconds"):
        got = list(dict.fromkeys(r["method"] for r in tables[fig].rows if r["kind"] == "summary"))
        assert got == names, fig


def _fleets(fig: str, table) -> dict:
    """x value -> the fleet's times, built here from the figure's definition (tau_i = sqrt(i) / i^a)."""
    if fig == "seconds-vs-workers":
        return {r["n"]: np.sqrt(np.arange(1, r["n"] + 1)) for r in table.select(kind="theory")}
    n = figures.get(fig).N["test"]
    return {r["a"]: np.arange(1, n + 1, dtype=float) ** r["a"] for r in table.select(kind="theory")}


@pytest.mark.parametrize("fig, x", [("seconds-vs-workers", "n"), ("seconds-vs-heterogeneity", "a")])
def test_runs_obey_the_fleet(tables, fig, x):
    """A fixed fleet completes at most sum_i floor(s / tau_i) computations by time s: the step t that reached eps
    used t - 1 arrivals, so they fit in the seconds reported (every policy: Ringmaster's cancelled work only lowers
    the count). And seconds and steps are None together."""
    t = tables[fig]
    fleets = _fleets(fig, t)
    runs = t.select(kind="run")
    assert any(r.get("seconds") is not None and r["steps"] > 1 for r in runs)  # the check below bites
    for r in runs:
        assert (r.get("seconds") is None) == (r.get("steps") is None), r
        if r.get("seconds") is None:
            continue
        tau = fleets[r[x]]
        done = int(np.floor(r["seconds"] / tau * (1 + 1e-12)).sum())
        assert r["steps"] - 1 <= done, r
        assert r["steps"] == 1 or r["seconds"] >= tau[0] * (1 - 1e-12), r


@pytest.mark.parametrize("fig, x", [("seconds-vs-workers", "n"), ("seconds-vs-heterogeneity", "a")])
def test_summary_is_order_statistics_of_the_runs(tables, fig, x):
    """median / q10 / q90 = the ceil(q N)-th smallest seconds over the N seeds (not reached = +inf -> None)."""
    t = tables[fig]
    for s in t.select(kind="summary"):
        vals = sorted(math.inf if r.get("seconds") is None else r["seconds"]
                      for r in t.select(kind="run", method=s["method"], **{x: s[x]}))
        assert len(vals) == s["runs"] and s["runs"] % 2 == 1
        assert s["reached"] == sum(v < math.inf for v in vals)
        for key, q in (("median", 0.5), ("q10", 0.1), ("q90", 0.9)):
            v = vals[math.ceil(q * len(vals)) - 1]
            assert s.get(key) == (None if v == math.inf else v), (s, key)


@pytest.mark.parametrize("fig", ["seconds-vs-workers", "seconds-vs-heterogeneity"])
def test_theory_lines(tables, fig):
    """T_homog minimises over m the expression time-asgd evaluates at m = n (both C = 1): T_homog <= T_asgd. By hand
    (beta F/eps^2 = 2, beta F sigma^2/eps^4 = 8): one worker of 1 s gives H_1 (2 + 8) = 10; n workers of 1 s (a = 0)
    give min_m (2 + 8/m) = 2 + 8/n at m = n; tau_i = sqrt(i), n = 4: H_4 (2 + 8/4) = 16/(1 + 1/sqrt 2 + 1/sqrt 3 + 1/2)."""
    th = tables[fig].select(kind="theory")
    for r in th:
        assert r["T_homog"] <= r["T_asgd"] * (1 + 1e-12), r
    if fig == "seconds-vs-workers":
        (one,) = [r for r in th if r["n"] == 1]
        assert one["T_homog"] == pytest.approx(10.0, rel=1e-12) and one["T_asgd"] == pytest.approx(10.0, rel=1e-12)
        # n = 4, tau = 1, sqrt 2, sqrt 3, 2: H_m (2 + 8/m) is 10, 7.03, 6.13, 5.75 for m = 1..4
        (four,) = [r for r in th if r["n"] == 4]
        assert four["T_homog"] == pytest.approx(16 / (1.5 + 2 ** -0.5 + 3 ** -0.5), rel=1e-12) and four["m_star"] == 4
    else:  # a = 0: n workers of 1 s; m = n minimises 2 + 8/m
        (hom,) = [r for r in th if r["a"] == 0.0]
        n = figures.get(fig).N["test"]
        assert hom["T_homog"] == pytest.approx(2 + 8 / n, rel=1e-12) and hom["m_star"] == n


def test_steps_and_seconds_traces(tables):
    """Per method: steps increase, arrival times never decrease, x_1 exists at 0 s; a run that reached eps ends at its
    first eps-stationary step (the only traced point <= eps), which is the same run as the seed's in the summary
    (same step, same seconds as claim 18's seconds_to_hit)."""
    t = tables["steps-and-seconds"]
    meta = t.meta
    reached = 0
    for s in t.select(kind="summary"):
        tr = sorted(t.select(kind="trace", method=s["method"]), key=lambda r: r["t"])
        steps = np.array([r["t"] for r in tr])
        secs = np.array([r["seconds"] for r in tr])
        g = np.array([r["grad_norm"] for r in tr])
        assert steps[0] == 1 and secs[0] == 0.0 and np.all(np.diff(steps) > 0), s["method"]
        assert np.all(np.diff(secs) >= 0), s["method"]
        assert s.get("hit") == s.get("steps_seed"), s
        if s.get("hit") is not None:
            reached += 1
            assert steps[-1] == s["hit"] and g[-1] <= EPS and np.all(g[:-1] > EPS), s["method"]
            assert secs[-1] == s["seconds_seed"], s
    assert reached >= 3
    summ = {s["method"]: (s.get("steps_median"), s.get("seconds_median")) for s in t.select(kind="summary")}
    want = [[a, b] for a, (sa, ta) in summ.items() for b, (sb, tb) in summ.items()
            if None not in (sa, ta, sb, tb) and sa < sb and ta > tb]
    assert meta["reversals"] == want


def test_reversals_by_hand():
    """A wins in steps and loses in seconds against B: strictly fewer median steps and strictly more median seconds;
    a tie or a method that did not reach eps is no reversal."""
    rev = figures.get("steps-and-seconds").reversals
    summ = {"a": (10.0, 3.0), "b": (100.0, 2.0), "c": (50.0, 2.5), "d": (None, None), "e": (10.0, 1.0)}
    assert rev(summ) == [("a", "b"), ("a", "c"), ("c", "b")]
    assert rev({"a": (10.0, 3.0), "b": (10.0, 2.0), "c": (5.0, 2.0)}) == []  # ties in steps or in seconds


def test_compute_delays_counts(tables):
    """Per model the counts add up to T; tau_avg, the median and tau_max are those of the counted delays; at most n
    gradients are in flight (n workers, one computation each); the fixed model keeps all n busy."""
    t = tables["compute-delays"]
    stats = t.select(kind="stats")
    assert [s["model"] for s in stats] == ["fixed", "pareto", "logcauchy", "outage", "periodic"]
    for s in stats:
        c = t.select(kind="count", model=s["model"])
        d = np.array([r["d"] for r in c])
        k = np.array([r["count"] for r in c])
        assert k.sum() == s["T"] and np.all(k > 0) and np.all(d >= 0)
        assert s["tau_avg"] == pytest.approx((d * k).sum() / s["T"], rel=1e-12)
        assert s["tau_max"] == d.max()
        assert s["median"] == np.median(np.repeat(d, k))
        assert 1 <= s["concurrency_max"] <= s["n"]
    (fixed,) = [s for s in stats if s["model"] == "fixed"]
    assert fixed["concurrency_max"] == fixed["n"]


def test_cli_csv_reproduces_from_meta(tables, tmp_path, capsys):
    """`picky figures --only ...` writes each figure's CSV and meta; the meta names the command and the seed, and
    compute(profile, seed) of the meta gives the CSV byte for byte (the fixture: seed 0, profile test)."""
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--profile", "test", "--no-progress", "--only", *SECONDS_FIGS]) == 0
    capsys.readouterr()
    for name in SECONDS_FIGS:
        meta = json.loads((out / f"{name}.meta.json").read_text())
        assert meta["command"] == f"picky figures --out figures --only {name} --profile test"
        assert meta["seed"] == 0 and meta["profile"] == "test"
        assert (out / f"{name}.csv").read_text() == tables[name].csv_text(), name
        assert (out / f"{name}.png").stat().st_size > 0
    readme = (out / "README.md").read_text()
    for name in SECONDS_FIGS:
        assert f"--only {name}" in readme


def test_another_seed_gives_other_runs():
    """The meta's seed is what drives the noise: seed 1 changes the runs (so reproducing from seed 0 is a check)."""
    a = figures.get("steps-and-seconds").compute("test", seed=0)
    b = figures.get("steps-and-seconds").compute("test", seed=1)
    assert a.csv_text() != b.csv_text() and b.meta["seed"] == 1

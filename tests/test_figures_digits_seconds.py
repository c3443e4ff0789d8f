"""Figure 13 (digits-seconds) on the "test" budget: its CSV columns, the tuned values in the meta (the argmin
of the tuning rows), the x-axis (every evaluated iterate plotted at the arrival time of the step that made
it, on its method's own schedule: by hand for the asynchronous and synchronous schedules, by the literal
heapq reference of the event simulation for Ringmaster's and Rennala's), the literal batch step, the rule
objects asked, and that ``picky figures`` writes the CSV that the meta's command and seed give."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from verify import figures
from verify.algorithms.rules import RingmasterStops
from verify.cli import main
from verify.engine import events_reference as ref
from verify.figures import digits as D, digits_seconds as S
from verify.models import compute

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

METHODS = ["picky", "delayed-sgd", "delay-adaptive", "ringmaster-stops", "rennala", "minibatch"]


@pytest.fixture(scope="module")
def table():
    return S.compute("test")


def test_registered():
    assert figures.get("digits-seconds") is S and figures.NAMES[-1] == "digits-seconds"


def test_columns(table):
    assert set(table.columns()) == {
        "kind", "fleet", "spec", "n", "W", "throughput",  # fleet
        "algorithm", "lr", "rho", "R", "S", "val_score", "accepted_fraction",  # tune
        "policy", "steps", "gradients", "discarded", "last_arrival", "tau_avg", "tau_max",  # schedule
        "seed", "step", "wall", "train_loss", "test_loss", "test_acc",  # curve
        "test_loss_median", "test_loss_min", "test_loss_max", "test_acc_mean", "accepted_fraction_mean", "slow_steps", "rejected_fast",
        "rejected_slow"}  # final
    assert {r["kind"] for r in table.rows} == {"fleet", "tune", "schedule", "curve", "final"}
    for fleet in ("sqrt", "two-speed"):
        got = list(dict.fromkeys(r["algorithm"] for r in table.select(kind="curve", fleet=fleet)))
        assert got == METHODS, fleet


def test_fleets_and_budget(table):
    """The two fleets by hand: 8 x 1 s + 8 x 10 s does 8.8 gradients/s; tau_i = sqrt(i), i <= 16; W =
    arrivals / throughput."""
    arrivals = S.BUDGETS["test"][0]
    f = {r["fleet"]: r for r in table.select(kind="fleet")}
    assert f["two-speed"]["throughput"] == pytest.approx(8.8, rel=1e-15)
    assert f["sqrt"]["throughput"] == pytest.approx(sum(1 / math.sqrt(i) for i in range(1, 17)), rel=1e-14)
    for r in f.values():
        assert r["n"] == 16 and r["W"] == pytest.approx(arrivals / r["throughput"], rel=1e-15)
        assert table.meta["fleets"][r["fleet"]]["W"] == r["W"]


def test_tuned_values_are_the_grids_argmin(table):
    """The meta's tuned values are the best validation score of the tuning rows, every grid point was tried, and the evaluated schedule is the one of the tuned R / S."""
    meta = table.meta
    assert meta["grid"] == {"lr": [0.03, 0.1, 0.3, 1.0, 3.0], "rho": [0.3, 1.0, 3.0, 10.0], "R": [4, 8, 16],
                            "S": [4, 8, 16]}
    sizes = {"picky": 20, "delayed-sgd": 5, "delay-adaptive": 5, "ringmaster-stops": 15, "rennala": 15, "minibatch": 5}
    distinct = 0
    for fleet in ("sqrt", "two-speed"):
        for m in METHODS:
            rs = table.select(kind="tune", fleet=fleet, algorithm=m)
            assert len(rs) == sizes[m], (fleet, m)
            score = [math.inf if r.get("val_score") is None else r["val_score"] for r in rs]
            distinct += len(set(score)) > 1
            best = rs[int(np.argmin(score))]
            t = meta["tuned"][fleet][m]
            assert t["lr"] == best["lr"] and t["val_score"] == best.get("val_score"), (fleet, m)
            for k in ("rho", "R", "S"):
                assert t.get(k) == best.get(k), (fleet, m, k)
            (sched,) = table.select(kind="schedule", fleet=fleet, algorithm=m)
            assert sched.get("R") == t.get("R") and sched.get("S") == t.get("S")
            assert f"{S._name(m)} {S._fmt_params(t)}" in meta["caption"]
    assert distinct == 12  # the scores differ within every grid: the argmin is a choice


def _hand_async(times: np.ndarray, upto: float) -> np.ndarray:
    """Arrival times of the asynchronous policy on a fixed fleet, by hand: worker i arrives at k tau_i."""
    return np.sort(np.concatenate([tau * np.arange(1, int(upto / tau) + 2) for tau in times]))


def _arrivals(fleet: str, m: str, R: int | None, S_: int | None, W: float) -> np.ndarray:
    """The arrival time of every server step of method m's schedule (a batch step: its round's end), built
    without verify.engine.events: by hand where the schedule is simple, else by the heapq reference."""
    spec = {label: spec for label, spec, _ in S.FLEETS}[fleet]
    cm = compute.make(spec)
    tau = cm.base_times()
    if m in ("picky", "delayed-sgd", "delay-adaptive"):
        return _hand_async(tau, W)
    if m == "minibatch":  # every worker once per round: a round lasts tau_max
        return tau.max() * np.arange(1, int(W / tau.max()) + 2)
    if m == "rennala" and fleet == "two-speed":  # the 8 fast workers deliver 8 gradients per second
        per = 1.0 if S_ <= 8 else 2.0
        return per * np.arange(1, int(W / per) + 2)
    T = 4 * int(W * (1.0 / tau).sum()) + 64
    z = np.ones(cm.n * (T + 2) * 4)
    if m == "rennala":
        s = ref.rennala(cm, T, z, S_)
        return s.time[S_ - 1::S_]
    return ref.ringmaster(cm, T, z, R, stops=True).time


def test_x_axis_is_the_schedules_arrival_times(table):
    """Every curve point sits at the arrival time of step t - 1 (0 for x_1) of its method's schedule, strictly
    increasing in t, and the last evaluated iterate is x_{K+1}, K the last step that arrives by W."""
    checked = 0
    for fleet in ("sqrt", "two-speed"):
        W = table.meta["fleets"][fleet]["W"]
        for m in METHODS:
            t = table.meta["tuned"][fleet][m]
            arr = _arrivals(fleet, m, t.get("R"), t.get("S"), W)
            K = int(np.searchsorted(arr, W * (1 + 1e-12), side="right"))
            assert arr[K] > W and (K == 0 or arr[K - 1] <= W)
            (sched,) = table.select(kind="schedule", fleet=fleet, algorithm=m)
            assert sched["steps"] == K and sched["last_arrival"] == pytest.approx(arr[K - 1], rel=1e-12)
            for seed in S.BUDGETS["test"][1]:
                rs = sorted(table.select(kind="curve", fleet=fleet, algorithm=m, seed=seed), key=lambda r: r["step"])
                steps = [r["step"] for r in rs]
                wall = np.array([r["wall"] for r in rs])
                assert steps[0] == 1 and wall[0] == 0.0 and steps[-1] == K + 1, (fleet, m)
                assert np.all(np.diff(wall) > 0), (fleet, m)
                want = np.array([arr[s - 2] for s in steps[1:]])
                np.testing.assert_allclose(wall[1:], want, rtol=1e-12, err_msg=f"{fleet} {m}")
                checked += len(steps)
    assert checked > 12 * 3


def test_hand_schedule_numbers():
    """Spot values: two-speed, W = 120 / 8.8 = 13.6 s: minibatch SGD makes one 10 s round; Rennala with S = 16
    a round each 2 s (the fast workers twice); the asynchronous policy 8 arrivals per second plus 8 at 10 s."""
    cm = compute.make(S.FLEETS[1][1])
    W = 120 / 8.8
    p = S.plan(cm, "minibatch", W)
    assert p.time.tolist() == [10.0] and p.tasks.shape == (1, 16)
    p = S.plan(cm, "rennala", W, S=16)
    assert p.time.tolist() == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] and p.tasks.shape == (6, 16)
    p = S.plan(cm, "picky", W)
    assert p.steps == 8 * 13 + 8 and p.time[-1] == 13.0
    # at 10 s the fast workers are steps 73..80, then the slow ones (read x_1 at time 0): steps 81..88
    assert p.delays.max() == 87 and p.delays.tolist().count(87) == 1


def test_eval_steps_by_hand():
    time = np.array([1.0, 1.0, 2.0, 5.0, 9.0])
    # W = 10, E = 5: times 0, 2, 4, 6, 8, 10 -> x_1, x_4 (3 arrivals by 2), x_4, x_5, x_5, x_6
    assert S.eval_steps(time, 10.0, 5) == [1, 4, 5, 6]
    assert [S.wall_of(time, t) for t in (1, 4, 5, 6)] == [0.0, 2.0, 5.0, 9.0]


def test_batch_step_is_the_average_of_the_rounds_gradients():
    """train_batch on two rounds of B = 2 tasks equals x2 = x1 - gamma (g_a + g_b) / 2, step by step."""
    data = D.load()
    rows = np.random.default_rng(5).integers(0, len(data.ytr), size=(6, D.BATCH))
    p = S.Plan("rennala", np.array([1.0, 2.0]), np.array([[3, 0], [5, 4]]), None, 0, None)
    net = D.MLP()
    w = net.init(np.random.default_rng(7))
    for tasks in ([3, 0], [5, 4]):
        ga, gb = (net.grad(w, data.Xtr[rows[j]], data.ytr[rows[j]]) for j in tasks)
        w = w - 0.5 * (ga + gb) / 2
    run = S.train_batch(0.5, p, data, 7, rows, {1}, test=True)
    assert [e["step"] for e in run["evals"]] == [1, 3]
    assert run["evals"][-1]["train_loss"] == pytest.approx(net.loss_acc(w, data.Xtr, data.ytr)[0], rel=1e-12)
    assert run["evals"][-1]["test_loss"] == pytest.approx(net.loss_acc(w, data.Xte, data.yte)[0], rel=1e-12)
    assert run["evals"][0]["train_loss"] != run["evals"][-1]["train_loss"]


def test_step_methods_ask_their_rule_objects(monkeypatch):
    """Ringmaster ASGD on its schedule asks RingmasterStops.decide once per step, with delays < R; Picky's
    accept rule (rho) decides what is applied."""
    calls = []
    orig = RingmasterStops.decide

    def spy(self, dist, d):
        calls.append(d)
        return orig(self, dist, d)

    monkeypatch.setattr(RingmasterStops, "decide", spy)
    data = D.load()
    cm = compute.make(S.FLEETS[1][1])
    p = S.plan(cm, "ringmaster-stops", 20.0, R=4)
    rows = S._rows(data, 0, int(p.tasks.max()) + 1)
    run = S.run_method("ringmaster-stops", p, data, 0, rows, {1}, lr=0.3, R=4)
    assert len(calls) == p.steps > 0 and max(calls) <= 3 and run["accepted"] == p.steps
    q = S.plan(cm, "picky", 20.0)
    rows = S._rows(data, 0, int(q.tasks.max()) + 1)
    strict = S.run_method("picky", q, data, 0, rows, {1}, lr=0.3, rho=0.05)
    loose = S.run_method("picky", q, data, 0, rows, {1}, lr=0.3, rho=1e9)
    assert strict["accepted"] < loose["accepted"] == q.steps
    with pytest.raises(ValueError, match="S = 8 is Rennala's batch"):
        S.run_method("rennala", S.plan(cm, "rennala", 5.0, S=4), data, 0, rows, {1}, lr=1.0, S=8)


def test_minibatches_are_keyed_by_task(monkeypatch):
    """Step t's gradient uses the rows of its task (the computation's start index), not of t: on the two-speed
    fleet task and step part ways at step 9 (the first restart is task 16)."""
    seen = []
    orig = D.MLP.grad

    def spy(self, w, X, y):
        seen.append(y.copy())
        return orig(self, w, X, y)

    monkeypatch.setattr(D.MLP, "grad", spy)
    data = D.load()
    p = S.plan(compute.make(S.FLEETS[1][1]), "delayed-sgd", 3.0)
    assert p.tasks[8] == 16 and p.steps == 24
    rows = S._rows(data, 0, int(p.tasks.max()) + 1)
    S.run_method("delayed-sgd", p, data, 0, rows, {1}, lr=0.1)
    assert len(seen) == p.steps
    for y, j in zip(seen, p.tasks):
        assert np.array_equal(y, data.ytr[rows[j]])


def test_cli_csv_reproduces_from_meta(table, tmp_path, capsys):
    """`picky figures --only digits-seconds` writes the CSV and meta; the meta names the command and the seed,
    and compute(profile, seed) of the meta gives the CSV byte for byte."""
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--profile", "test", "--no-progress", "--only", "digits-seconds"]) == 0
    capsys.readouterr()
    meta = json.loads((out / "digits-seconds.meta.json").read_text())
    assert meta["command"] == "picky figures --out figures --only digits-seconds --profile test"
    assert meta["seed"] == S.TUNE_SEED and meta["profile"] == "test"
    assert table.meta["seed"] == meta["seed"]  # the fixture: compute("test") with the default seed
    assert (out / "digits-seconds.csv").read_text() == table.csv_text()
    assert (out / "digits-seconds.png").stat().st_size > 0
    assert "--only digits-seconds" in (out / "README.md").read_text()


def test_another_seed_gives_other_runs(monkeypatch):
    """The meta's seed drives the tuning runs: another seed changes them (so reproducing from it is a check)."""
    monkeypatch.setattr(S, "FLEETS", S.FLEETS[1:])
    monkeypatch.setattr(S, "METHODS", {"picky": "async", "minibatch": "minibatch"})
    a = S.compute("test", seed=S.TUNE_SEED)
    b = S.compute("test", seed=S.TUNE_SEED + 1)
    assert b.meta["seed"] == S.TUNE_SEED + 1
    assert [r["val_score"] for r in a.select(kind="tune")] != [r["val_score"] for r in b.select(kind="tune")]


def test_rejections_by_worker_speed(table):
    """Two-speed fleet, W = 13.6 s: the slow half delivers 8 of the asynchronous steps (at 10 s); under Ringmaster
    with stops none (a 10 s computation sees the fast half's 80 updates >= R and is cancelled). Delayed SGD rejects
    nothing; Picky's rejections by half add up to its accepted fraction (one evaluation seed)."""
    assert S.BUDGETS["test"][1] == (0,)
    f = {r["algorithm"]: r for r in table.select(kind="final", fleet="two-speed")}
    for m in ("picky", "delayed-sgd", "delay-adaptive"):
        assert f[m]["slow_steps"] == 8 and f[m]["steps"] == 112
    assert f["ringmaster-stops"]["slow_steps"] == 0 and f["ringmaster-stops"].get("rejected_slow") is None
    assert f["delayed-sgd"]["rejected_fast"] == 0.0 and f["delayed-sgd"]["rejected_slow"] == 0.0
    assert f["rennala"].get("slow_steps") is None and f["rennala"].get("rejected_fast") is None
    for fleet in ("sqrt", "two-speed"):
        (p,) = table.select(kind="final", fleet=fleet, algorithm="picky")
        K, ns = p["steps"], p["slow_steps"]
        rejected = p["rejected_fast"] * (K - ns) + p["rejected_slow"] * ns
        assert 1 - rejected / K == pytest.approx(p["accepted_fraction_mean"], abs=1e-12)


def test_finals_are_the_last_evaluation(table):
    """The final rows summarise x_{K+1}, the iterate at W (one evaluation seed: median = min = max)."""
    for r in table.select(kind="final"):
        (last,) = table.select(kind="curve", fleet=r["fleet"], algorithm=r["algorithm"], step=r["steps"] + 1)
        assert r["test_loss_median"] == r["test_loss_min"] == r["test_loss_max"] == last["test_loss"]
        assert r["test_acc_mean"] == last["test_acc"]
    assert "worst seed" in table.meta["sentence"]

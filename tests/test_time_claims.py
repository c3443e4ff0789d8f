"""Claims 17-19 (the time claims): their deterministic checks on hand-worked and planted-bug inputs
(each built here; the package is not mutated), and their verdict logic at its boundary. That each
claim passes on this code is tests/test_claims.py's run of the whole registry (profile test)."""
from __future__ import annotations

import numpy as np
import pytest

import theory
from verify.claims import evidence, picky_seconds, time_lemmas, time_models
from verify.engine import events
from verify.models import compute

FLEET = "fixed:times=1;1;2;10"


def test_rennala_round_ratio_by_hand_and_a_planted_longer_round():
    """Fleet 1,1,2,10, S = 4 (B = 5 kept): round 1 = arrivals at 1 (w0, w1), 2 (w0, w1, w2): it lasts
    2 s; t(4) = 5.6 (tests/test_timing.py by hand). Every round is the same (all restart together)."""
    cm = compute.make(FLEET)
    s = events.simulate(cm, 3, policy="rennala", B=5)
    assert s.time.tolist() == [1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6]
    t4 = theory.batch_time(4, worker_times=cm.base_times())
    assert t4 == pytest.approx(5.6)
    assert time_lemmas.round_ratio(s.time, 5, t4) == pytest.approx(2 / 5.6)
    longer = s.time.copy()
    longer[5:] += 4.0  # round 2 now lasts 2 + 4 = 6 > 5.6
    r = time_lemmas.round_ratio(longer, 5, t4)
    assert r == pytest.approx(6 / 5.6) and time_lemmas.lemma_verdict([r], 1.0) == evidence.FAIL


def test_ringmaster_block_check_catches_a_halved_bound():
    """On tau_i = sqrt(i), n = 16, R = 4 the largest block of 4 updates is 0.511 t(4) (the claim's
    evidence): the lemma holds, and a bound half as large (a factor-2 error in t(R)) is caught."""
    cm = compute.make("fixed:n=16,law=sqrt")
    s = events.simulate(cm, 1500, policy="ringmaster-stops", R=4)
    tR = theory.batch_time(4, worker_times=cm.base_times())
    ok = time_lemmas.block_ratio(s.time, 4, tR)
    assert 0.5 < ok <= 1 and time_lemmas.lemma_verdict([ok], 1.0) == evidence.PASS
    assert time_lemmas.lemma_verdict([time_lemmas.block_ratio(s.time, 4, tR / 2)], 1.0) == evidence.FAIL
    late = s.time.copy()
    late[700:] += tR  # one block of updates takes t(R) longer
    assert time_lemmas.block_ratio(late, 4, tR) > 1
    whole = time_lemmas.ringmaster_ratio(s.time, 4, cm.base_times())
    assert 0.3 < whole <= 1  # 0.366: T(K) <= ceil(K/R) t(R) holds with room
    assert time_lemmas.ringmaster_ratio(s.time * 3, 4, cm.base_times()) > 1  # a schedule 3x slower breaks it


def test_arrival_bounds_catch_early_and_late_arrivals():
    """Two-speed fleet (half at 1 s, half at 10 s): the lower bound K H_n/n is attained (ratio 1 at
    the instants every worker finishes together), the upper within 0.1%: arrivals 1% early or late fail."""
    cm = compute.make("fixed:times=" + ";".join(["1"] * 8 + ["10"] * 8))
    s = events.simulate(cm, 2000)
    lo, hi = time_lemmas.arrival_ratios(s.time, cm.base_times())
    assert lo == pytest.approx(1.0, abs=1e-12) and 0.99 < hi <= 1.0
    assert time_lemmas.lemma_verdict([hi], lo) == evidence.PASS
    lo2, _ = time_lemmas.arrival_ratios(s.time * 0.99, cm.base_times())
    assert time_lemmas.lemma_verdict([hi], lo2) == evidence.FAIL
    _, hi2 = time_lemmas.arrival_ratios(s.time * 1.01, cm.base_times())
    assert time_lemmas.lemma_verdict([hi2], lo) == evidence.FAIL


def test_lemma_verdict_boundary():
    tol = time_lemmas.REL_TOL
    assert time_lemmas.lemma_verdict([1.0, 0.3], 1.0) == evidence.PASS
    assert time_lemmas.lemma_verdict([1.0 + tol / 2], 1.0 - tol / 2) == evidence.PASS
    assert time_lemmas.lemma_verdict([1.0 + 2 * tol], 1.0) == evidence.FAIL
    assert time_lemmas.lemma_verdict([0.5], 1.0 - 2 * tol) == evidence.FAIL


def test_outage_checks_by_hand_and_planted_bugs():
    """One worker, tau = 1, zero power on [2, 5): arrivals 1, 2, then the third computation (started
    at 2) works from 5: 6, then 7."""
    cm = compute.make("universal:times=1,outage_worker=0,outage_start=2,outage_end=5")
    s = events.simulate(cm, 4)
    assert s.time.tolist() == [1.0, 2.0, 6.0, 7.0]
    tau = cm.base_times()
    assert time_models.arrivals_in_outage(s.time, s.worker, 0, 2.0, 5.0) == 0
    assert time_models.work_error(s.time, s.worker, tau, 0, 2.0, 5.0) == 0.0
    assert time_models.outage_verdict(0, True, 0.0) == evidence.PASS
    inside = np.array([1.0, 2.0, 3.0, 7.0])  # an arrival during the outage (and a computation of no work)
    assert time_models.arrivals_in_outage(inside, s.worker, 0, 2.0, 5.0) == 1
    assert time_models.work_error(inside, s.worker, tau, 0, 2.0, 5.0) == pytest.approx(1.0)
    late = np.array([1.0, 2.0, 6.5, 7.5])  # no arrival inside, but 1.5 units of work in the third computation
    assert time_models.arrivals_in_outage(late, s.worker, 0, 2.0, 5.0) == 0
    err = time_models.work_error(late, s.worker, tau, 0, 2.0, 5.0)
    assert err == pytest.approx(0.5) and time_models.outage_verdict(0, True, err) == evidence.FAIL
    # another worker's arrivals inside the interval are not the outage worker's
    assert time_models.arrivals_in_outage(inside, np.array([0, 0, 1, 0]), 0, 2.0, 5.0) == 0


def test_outage_verdict_boundary():
    tol = time_models.REL_TOL
    assert time_models.outage_verdict(0, True) == evidence.PASS
    assert time_models.outage_verdict(0, True, tol) == evidence.PASS
    assert time_models.outage_verdict(0, True, 2 * tol) == evidence.FAIL
    assert time_models.outage_verdict(1, True) == evidence.FAIL
    assert time_models.outage_verdict(0, False) == evidence.FAIL  # never past the outage: nothing was checked


def test_rejections_by_speed_by_hand():
    """Steps 1..6 from workers 0, 1, 1, 2, 2, 2; steps 3, 5, 6 rejected: worker 0 0/1, worker 1 1/2,
    worker 2 2/3 -- growing with tau = 1, 2, 3 (Spearman rho = 1)."""
    r = picky_seconds.rejections_by_speed(np.array([0, 1, 1, 2, 2, 2]), np.array([3, 5, 6]), np.array([1.0, 2.0, 3.0]),
                                          bins=3)
    assert [b["fraction"] for b in r["by_speed_quantile"]] == [0.0, 0.5, pytest.approx(2 / 3)]
    assert r["spearman_rho_fraction_vs_tau"] == pytest.approx(1.0) and (r["rejected"], r["arrivals"]) == (3, 6)
    # sorted by tau, not by index: the slowest worker first in the array
    r2 = picky_seconds.rejections_by_speed(np.array([0, 1, 1, 2, 2, 2]), np.array([3, 5, 6]), np.array([3.0, 2.0, 1.0]),
                                           bins=3)
    assert [b["fraction"] for b in r2["by_speed_quantile"]] == [pytest.approx(2 / 3), 0.5, 0.0]
    assert r2["spearman_rho_fraction_vs_tau"] == pytest.approx(-1.0)


def test_picky_seconds_verdict_boundary():
    assert picky_seconds.verdict({"slope": -0.1, "ci95": [-0.2, 0.0]}) == evidence.PASS
    assert picky_seconds.verdict({"slope": 3.0, "ci95": [2.0, 4.0]}) == evidence.PASS  # no outcome fails: measured
    assert picky_seconds.verdict({"slope": None, "ci95": None}) == evidence.INCONCLUSIVE
    assert picky_seconds.verdict(None) == evidence.INCONCLUSIVE


def test_method_list_has_every_method_of_issue_24():
    names = [m.name for m in picky_seconds.METHODS]
    assert names == ["picky", "delayed-sgd", "delay-adaptive", "stale-drop", "ringmaster", "rennala", "minibatch"]
    assert all(m.runner is not None for m in picky_seconds.METHODS if m.name in ("rennala", "minibatch"))


def test_time_lemmas_claim_fails_with_a_halved_bound(monkeypatch):
    """The claim end to end (profile test) with t(S) halved (a factor-2 error in the bound: the measured
    rounds and blocks reach 0.5-0.51 of t(S)): its verdict is fail. Without the planted bug it passes."""
    from verify.claims.common import PROFILES, Context

    assert time_lemmas.CLAIM.run(Context(PROFILES["test"])).verdict == evidence.PASS
    orig = theory.batch_time
    monkeypatch.setattr(theory, "batch_time", lambda S, /, *, worker_times: orig(S, worker_times=worker_times) / 2)
    ev = time_lemmas.CLAIM.run(Context(PROFILES["test"]))
    assert ev.error is None and ev.verdict == evidence.FAIL
    assert ev.measured["largest_ringmaster_block"] > 1


def test_outage_checks_fail_on_a_schedule_that_runs_through_the_outage(monkeypatch):
    """The sanity part of claim 19 on schedules whose clock is planted wrong (every arrival at half its
    time: some of the outage worker's arrivals after the outage move into it): it reports failures."""
    ok = time_models._outage_checks("test")
    assert ok and all(e["verdict"] == evidence.PASS for e in ok)
    orig = events.simulate

    def half_clock(*a, **kw):
        s = orig(*a, **kw)
        return events.Schedule(s.time / 2, s.worker, s.task, s.read, s.dropped_task, s.dropped_worker,
                               s.dropped_time / 2, s.starts)

    monkeypatch.setattr(time_models.events, "simulate", half_clock)
    bad = time_models._outage_checks("test")
    assert any(e["arrivals_inside_outage"] > 0 for e in bad)
    assert any(e["verdict"] == evidence.FAIL for e in bad if e["policy"] == "async")


def test_ordering_verdict_boundaries():
    """The time orderings on constructed CIs, at each edge (band 0.25): inside passes, entirely outside
    fails, across an edge is inconclusive; a growing method's CI must lie above 0."""
    ok = {"rennala": [-0.1, 0.1], "ringmaster": [-0.25, 0.25], "delayed-sgd": [0.01, 0.5], "minibatch": [1e-9, 0.3]}
    assert picky_seconds.ordering_verdict(ok)[0] == evidence.PASS
    assert picky_seconds.ordering_verdict({**ok, "rennala": [0.2, 0.3]})[0] == evidence.INCONCLUSIVE
    assert picky_seconds.ordering_verdict({**ok, "rennala": [0.26, 0.4]})[0] == evidence.FAIL
    assert picky_seconds.ordering_verdict({**ok, "ringmaster": [-0.5, -0.26]})[0] == evidence.FAIL
    assert picky_seconds.ordering_verdict({**ok, "minibatch": [0.0, 0.3]})[0] == evidence.INCONCLUSIVE
    assert picky_seconds.ordering_verdict({**ok, "delayed-sgd": [-0.2, 0.0]})[0] == evidence.FAIL
    assert picky_seconds.ordering_verdict({**ok, "minibatch": None})[0] == evidence.INCONCLUSIVE
    v, each = picky_seconds.ordering_verdict({**ok, "delayed-sgd": [-0.2, -0.1], "rennala": [0.2, 0.3]})
    assert v == evidence.FAIL and each["delayed-sgd"] == evidence.FAIL and each["rennala"] == evidence.INCONCLUSIVE


def test_real_trace_checks_pass_on_the_shipped_traces_and_fail_on_a_tampered_one(tmp_path, monkeypatch):
    """Claim 19 (c): the shipped Ringmaster and Rennala runs reproduce; the same run with one applied
    computation's recorded end moved by 1 ms (the schedule the simulation builds from the compute times
    then differs from the recorded one) fails."""
    import gzip
    import json

    shipped = time_models.real_trace_checks()
    assert sorted(e["policy"] for e in shipped) == ["rennala", "ringmaster-stops"]
    assert all(e["schedule_reproduced"] and e["verdict"] == evidence.PASS for e in shipped)
    assert all(e["cancelled"] > 0 for e in shipped)  # the cancellations are part of what is compared
    src = time_models.TIME_TRACES / "w4-rennala.async.json.gz"
    data = json.loads(gzip.decompress(src.read_bytes()))
    k = next(i for i, c in enumerate(data["computations"]) if c["status"] == "applied" and c["start_s"] > 0)
    data["computations"][k]["end_s"] += 1e-3
    (tmp_path / "w4-rennala.async.json.gz").write_bytes(gzip.compress(json.dumps(data).encode()))
    monkeypatch.setattr(time_models, "TIME_TRACES", tmp_path)
    (bad,) = time_models.real_trace_checks()
    assert not bad["schedule_reproduced"] and bad["verdict"] == evidence.FAIL


def test_picky_seconds_orderings_fail_when_rennala_is_not_optimal(monkeypatch):
    """A planted bug in a method (Rennala's runner replaced by minibatch SGD's, whose seconds / T_homog grow
    with n on tau_i = sqrt(i)) makes the time orderings fail: Rennala's slope CI leaves the band."""
    from dataclasses import replace

    from verify import claims

    ms = {m.name: m for m in picky_seconds.METHODS}
    broken = tuple(replace(m, runner=ms["minibatch"].runner) if m.name == "rennala" else m for m in picky_seconds.METHODS)
    monkeypatch.setattr(picky_seconds, "METHODS", broken)
    monkeypatch.setattr(picky_seconds.measure_fleet, "__defaults__", (broken,))
    ev = claims.run(["picky-seconds"], "test")[0]
    o = ev.measured["orderings"]
    assert o["per_method"]["rennala"] == evidence.FAIL and o["ci"]["rennala"][0] > picky_seconds.ORDER_BAND
    assert ev.verdict == evidence.FAIL

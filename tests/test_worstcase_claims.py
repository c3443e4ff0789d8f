"""The exact worst-case claims 13- (issue 25 (b), (e), (f)): each passes on the package and goes red
when one side is broken on purpose."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PEPit")
pytest.importorskip("cvxpy")

from verify import algorithms  # noqa: E402
from verify.claims.common import INSTANCES  # noqa: E402
from verify.worstcase import build_program  # noqa: E402


# --- claim 13: simulation never beats the worst case ------------------------------------------
def test_replay_by_hand_no_delay():
    from verify.claims.worst_case_simulation import replay

    prob = INSTANCES["quad"].problem()  # f = ||x||^2/2, x_1 = (1/2,)*4: ||x_1||^2 = 1
    alg = algorithms.resolve("sgd", beta=1.0, F=0.5, eps=0.5, sigma=0.0, eta=0.5)
    rp = replay(build_program(alg, np.zeros(5, dtype=np.int64), F=0.5), prob)
    # x_t = (1/2)^(t-1) x_1: ||grad f(x_t)||^2 = (1/4)^(t-1)
    np.testing.assert_allclose(rp["grad_norm2"], [1, 1 / 4, 1 / 16, 1 / 64, 1 / 256], rtol=1e-15)
    assert rp["initial_violation"] <= 1e-15  # at x_1: 0 - 0 + 1/2 - 1/2 = 0, tight


def test_replay_by_hand_delay_one():
    from verify.claims.worst_case_simulation import replay

    prob = INSTANCES["quad"].problem()
    eta = 0.3
    alg = algorithms.resolve("delayed-sgd", beta=1.0, F=0.5, eps=0.5, sigma=0.0, eta=eta)
    d = np.array([0, 1, 1, 1, 1, 1])
    rp = replay(build_program(alg, d, F=0.5), prob)
    c = [1.0, 1 - eta]  # x_t = c_t x_1; c_{t+1} = c_t - eta c_{t-1} (step t reads x_{t-1})
    for _ in range(4):
        c.append(c[-1] - eta * c[-2])
    np.testing.assert_allclose(rp["grad_norm2"], np.array(c) ** 2, rtol=1e-14)


def test_claim_worst_case_simulation_passes_and_can_fail(monkeypatch):
    from verify import claims, worstcase
    from verify.claims import worst_case_simulation as wcs
    from verify.models import delays

    ev = claims.run(["worst-case-simulation"], "test")[0]
    assert ev.verdict == "pass", [e for e in ev.instances if e["verdict"] != "pass"][:2]
    assert 0 < ev.ratio <= 1 + wcs.REL_TOL and ev.measured["replay_failures"] == 0
    assert len(ev.instances) == 3 * 2 * 5
    assert any("r" in e.get("pattern", "") for e in ev.instances)  # some Picky run rejected a step
    # (1) the SDP side wrong: a worst case 30% too small
    real_solve = worstcase.solve_program

    def low(prog, *a):
        wc = real_solve(prog, *a)
        wc.value *= 0.7
        wc.dual_value *= 0.7
        return wc

    monkeypatch.setattr(worstcase, "solve_program", low)
    assert claims.run(["worst-case-simulation"], "test")[0].verdict == "fail"
    monkeypatch.setattr(worstcase, "solve_program", real_solve)
    # (2) the simulation side wrong: the engine reads the iterate one step older than d_t says
    real_lanes = wcs.run_lanes

    def older(prob, seq, algs, seeds, T):
        idx = np.arange(1, seq.delays.size + 1)
        shifted = delays.DelaySequence(delays=np.minimum(seq.delays + 1, idx - 1), model=seq.model, params=seq.params,
                                       seed=seq.seed)
        return real_lanes(prob, shifted, algs, seeds, T=T)

    monkeypatch.setattr(wcs, "run_lanes", older)
    ev = claims.run(["worst-case-simulation"], "test")[0]
    assert ev.verdict == "fail" and ev.measured["replay_failures"] > 0


# --- claim 14: the worst delays ----------------------------------------------------------------
def test_repair_by_hand():
    from verify.search.worst_delays import repair

    # clipped to t - 1: [0, 1, 2, 3] (sum 6); then the largest lowered, the last among ties: [0, 1, 2, 2], [0, 1, 2, 1]
    assert repair([0, 5, 5, 5], 4).tolist() == [0, 1, 2, 1]
    assert repair([3, 0, 1, 0], 10).tolist() == [0, 0, 1, 0]
    assert repair([0, 1, 2, 3], 0).tolist() == [0, 0, 0, 0]


def test_search_worst_delays_is_reproducible_and_in_budget():
    from verify.search.worst_delays import search_worst_delays

    alg = algorithms.resolve("delayed-sgd", beta=1.0, F=1.0, eps=0.5, sigma=0.0, eta=1 / 9)
    a = search_worst_delays(alg, 6, 1.0, F=1.0, examples=6, seed=3)
    b = search_worst_delays(alg, 6, 1.0, F=1.0, examples=6, seed=3)
    assert a == b and a["evaluated"] >= 6
    d = np.array(a["delays"])
    assert d.sum() <= 6 and all(0 <= d[i] <= i for i in range(6))
    with pytest.raises(ValueError, match="tau_avg"):
        search_worst_delays(alg, 6, 4.0, F=1.0, examples=2)


def test_rejected_steps_are_lost_steps():
    # Picky with steps 6, 7 rejected and every other delay 0 visits the points of 9 gradient steps
    # (x_1..x_12 = 10 distinct points), plus two distance constraints: W <= gradient descent's at T = 10
    from verify.worstcase import solve_program
    from verify.worstcase.patterns import pattern_value

    pk = algorithms.resolve("picky", beta=1.0, F=1.0, eps=0.5, sigma=0.0)
    d = np.zeros(12, dtype=np.int64)
    d[5:7] = 5
    w, status = pattern_value(pk, d, "aaaaarraaaaa", F=1.0)
    gd = algorithms.resolve("sgd", beta=1.0, F=1.0, eps=0.5, sigma=0.0, eta=pk.eta)
    w_gd = solve_program(build_program(gd, np.zeros(10, dtype=np.int64), F=1.0), "clarabel", "direct").value
    assert w is not None and w <= w_gd * (1 + 1e-5)
    d[1] = 1  # step 2 reads x_1; step 3 (d_3 = 0) rejected: distance 0 < rho, no function realises it
    assert pattern_value(pk, d, "aaraaaaaaaaa", F=1.0) == (None, "structural")


def test_claim_worst_case_delays_passes_and_can_fail(monkeypatch):
    from verify import claims, worstcase
    from verify.worstcase import patterns

    ev = claims.run(["worst-case-delays"], "test")[0]
    assert ev.verdict == "pass" and len(ev.instances) == 2 and ev.ratio >= 1 - 1e-6
    assert all(e["backends_agree"] and e["certificate_instance"] and e["certificate_dual"] for e in ev.instances)
    # the search's backend 0.1% off the reference formulation must be caught
    real = worstcase.solve_program

    def off(prog, solver="clarabel", backend="pepit"):
        wc = real(prog, solver, backend)
        if backend == "direct":
            wc.value *= 1.001
        return wc

    monkeypatch.setattr(worstcase, "solve_program", off)
    monkeypatch.setattr(patterns, "solve_program", off)
    assert claims.run(["worst-case-delays"], "test")[0].verdict == "fail"


# --- claim 15: the headline at small T ----------------------------------------------------------
def test_block_family_by_hand():
    from verify.claims.worst_case_headline import block_family

    assert block_family(12, 10, 5).tolist() == [0, 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 0]
    assert block_family(12, 10, 1).tolist() == [0] + [1] * 10 + [0]
    with pytest.raises(ValueError, match="D"):
        block_family(12, 10, 3)


def test_claim_worst_case_headline_passes_and_can_fail(monkeypatch):
    from verify import claims

    ev = claims.run(["worst-case-headline"], "test")[0]
    assert ev.verdict == "pass" and len(ev.instances) == 3
    assert ev.measured["delayed-sgd eta=0.1111: W(tau_max 6)/W(1)"] > 0
    for e in ev.instances:
        assert e["picky all-accept"] <= e["delayed-sgd"] * (1 + 1e-5)
    # Picky's step in the program half the rule's (its worst case then exceeds delayed SGD's at eta): caught
    from verify.algorithms import rules

    real = rules.Algorithm.step
    monkeypatch.setattr(rules.Picky, "step", lambda self, d: real(self, d) / 2)
    assert claims.run(["worst-case-headline"], "test")[0].verdict == "fail"


def test_claim_13_catches_pattern_constraints_written_backwards(monkeypatch):
    # Picky's accept test written backwards in the SDP's program (accepted steps >= rho): claim 15's relation
    # cannot see it (any added constraint shrinks the feasible set), claim 13's real runs do
    from verify import claims
    from verify.worstcase import program

    real = program.Program.distance_constraints

    def flipped(self):
        return [(t, "ge" if k == "le" else "le") for t, k in real(self)]

    monkeypatch.setattr(program.Program, "distance_constraints", flipped)
    assert claims.run(["worst-case-headline"], "test")[0].verdict == "pass"
    ev = claims.run(["worst-case-simulation"], "test")[0]
    assert ev.verdict == "fail" and ev.measured["replay_failures"] > 0

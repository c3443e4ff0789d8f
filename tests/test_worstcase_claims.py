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

"""Exact worst cases (verify.worstcase): known values, relations between methods, certificates that
pass on solutions and fail on perturbed ones, infeasible patterns, bad input."""
from __future__ import annotations

import copy
import importlib.util

import numpy as np
import pytest

pytest.importorskip("PEPit")
pytest.importorskip("cvxpy")

from verify import algorithms
from verify.models import delays
from verify.worstcase import (WorstCaseError, build_program, require_pepit, solve_program, steps_to_eps,  # noqa: E402
                              worst_case)
from verify.worstcase.certificate import check_dual, check_instance  # noqa: E402


def alg_of(name, beta=1.0, F=1.0, eps=0.1, **kw):
    return algorithms.resolve(name, beta=beta, F=F, eps=eps, sigma=0.0, **kw)


# --- known exact value: gradient descent without delays ---------------------------------------
# Abbaszadehpeivasti, de Klerk & Zamani (2022): N steps of x_{k+1} = x_k - (h/L) grad f(x_k), 0 < h < sqrt(3),
# min_{1<=k<=N+1} ||grad f(x_k)||^2 <= 4 L (f(x_1) - f(x_{N+1})) / (N min{4h - h^3, 4h - h^2}), attained.
# Hand values (W = 4 L F / (N c), c = min{4h - h^3, 4h - h^2}):
KNOWN = [
    # (L, F, h, N, W)
    (1.0, 1.0, 1.0, 5, 4 / 15),       # c = 3: 4/(5*3); PEPit's docstring: 4L/(3N) = 0.2666...
    (1.0, 1.0, 0.5, 3, 16 / 21),      # c = 2 - 1/4 = 7/4: 4/(3*7/4) = 16/21
    (1.0, 1.0, 0.25, 4, 16 / 15),     # c = 1 - 1/16 = 15/16: 4/(4*15/16) = 16/15
    (1.0, 1.0, 1.5, 2, 16 / 21),      # c = 6 - 27/8 = 21/8 (the h^3 branch): 4/(2*21/8) = 16/21
    (2.0, 3.0, 1.0, 3, 8 / 3),        # L = 2, step 1/2, c = 3: 4*2*3/(3*3) = 8/3
]


@pytest.mark.parametrize("L,F,h,N,W", KNOWN)
def test_gradient_descent_known_value(L, F, h, N, W):
    alg = alg_of("sgd", beta=L, F=F, eta=h / L)
    wc = worst_case(alg, np.zeros(N, dtype=int), F=F, initial="final", count_last=True)
    assert wc.status == "optimal"
    assert wc.value == pytest.approx(W, rel=1e-6)
    assert wc.dual_value == pytest.approx(W, rel=1e-6)


def test_zero_delays_equal_sgd():
    d = np.zeros(6, dtype=int)
    a = worst_case(alg_of("sgd", eta=0.3), d, F=1.0).value
    b = worst_case(alg_of("delayed-sgd", eta=0.3), d, F=1.0).value
    assert a == pytest.approx(b, rel=1e-7)
    # and SGD ignores the delays it is given
    c = worst_case(alg_of("sgd", eta=0.3), delays.make("constant:tau=2", 6), F=1.0).value
    assert c == pytest.approx(a, rel=1e-7)


@pytest.mark.parametrize("eta", [1 / 9, 0.5, 1.0])
@pytest.mark.parametrize("T", [4, 8])
def test_constant_delay_not_better_than_none(eta, T):
    """Observed relation (not a theorem proved here): a stale gradient only adds an error the
    adversary controls (||grad f(x_{t-tau}) - grad f(x_t)|| <= L ||x_t - x_{t-tau}||), so delayed GD
    should not beat GD in the worst case at the same step."""
    alg = alg_of("delayed-sgd", eta=eta)
    w0 = worst_case(alg, np.zeros(T, dtype=int), F=1.0).value
    for tau in (1, 2, 4):
        wt = worst_case(alg, delays.make(f"constant:tau={tau}", T), F=1.0).value
        assert wt >= w0 * (1 - 1e-7)


def test_picky_all_accept_huge_rho_is_delayed_sgd():
    d = [0, 1, 1, 2, 3, 1, 0]
    a = worst_case(alg_of("picky", eta=0.2, rho=1e3), d, F=1.0, pattern="a" * 7).value
    b = worst_case(alg_of("delayed-sgd", eta=0.2), d, F=1.0).value
    assert a == pytest.approx(b, rel=1e-6)


def test_time_varying_eta():
    d = [0, 1, 2, 1]
    alg = alg_of("delayed-sgd", eta=0.2)
    const = worst_case(alg, d, F=1.0).value
    assert worst_case(alg, d, F=1.0, eta=[0.2] * 4).value == pytest.approx(const, rel=1e-7)
    # a larger first step changes the worst case (the array is used, not ignored)
    assert worst_case(alg, d, F=1.0, eta=[0.9, 0.2, 0.2, 0.2]).value != pytest.approx(const, rel=1e-3)


def test_every_is_tighter_than_final_and_capped():
    """'every' adds constraints to 'final' (smaller value); at k = 1 it caps W by 2 beta F."""
    alg = alg_of("delayed-sgd", beta=2.0, eta=0.1)
    d = [0, 1, 1, 1]
    every = worst_case(alg, d, F=0.5).value
    final = worst_case(alg, d, F=0.5, initial="final").value
    assert every <= final * (1 + 1e-7)
    assert every <= 2 * 2.0 * 0.5 * (1 + 1e-7)


# --- certificates ---------------------------------------------------------------------------------
CASES = [
    ("delayed-sgd", dict(eta=0.2), [0, 1, 2, 2, 1, 0], None),
    ("picky", dict(eps=0.1), [0, 0, 0, 3, 3, 3, 3, 3], "aaarraaa"),
    ("stale-drop", dict(delays=[0, 1, 2, 3, 4, 5]), [0, 1, 2, 3, 4, 5], None),
    ("delay-adaptive", dict(delays=[0, 1, 2, 3, 4, 5]), [0, 1, 2, 3, 4, 5], None),
]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def solved(request):
    name, kw, d, pattern = request.param
    return worst_case(alg_of(name, **kw), d, F=1.0, pattern=pattern)


def test_certificates_pass(solved):
    ci, cd = check_instance(solved), check_dual(solved)
    assert ci.ok, ci.residuals
    assert cd.ok, cd.residuals
    assert cd.residuals["dual_bound"] == pytest.approx(solved.value, rel=1e-6)


def test_instance_check_fails_on_perturbed_instance(solved):
    bad = copy.deepcopy(solved)
    f = np.array(bad.instance["f_points"], dtype=float)
    f[-1] += 0.05 * max(1.0, abs(f).max())  # a function value moved: some interpolation inequality breaks
    bad.instance["f_points"] = f
    assert not check_instance(bad).ok
    bad = copy.deepcopy(solved)
    x = np.array(bad.instance["x"], dtype=float)
    x[-1] += 0.05  # the last iterate off its update
    bad.instance["x"] = x
    r = check_instance(bad)
    assert not r.ok and r.residuals["updates"] > 1e-3


def test_dual_check_fails_on_perturbed_multipliers(solved):
    bad = copy.deepcopy(solved)
    init = np.array(bad.duals["initial"])
    if init.sum() > 1e-3:  # the bound's F term lowered by 10%: a smaller bound must not be provable
        bad.duals["initial"] = init * 0.9
    else:  # (Picky: the bound may come from the distance constraints) their multipliers lowered by 10%
        assert any(e["multiplier"] > 1e-3 for e in bad.duals["distance"])
        for e in bad.duals["distance"]:
            e["multiplier"] *= 0.9
    assert not check_dual(bad).ok
    bad = copy.deepcopy(solved)
    lam = np.array(bad.duals["interpolation"])
    i, j = np.unravel_index(np.argmax(lam), lam.shape)
    lam[i, j] *= 0.5  # one interpolation multiplier halved: the weighted sum no longer cancels
    bad.duals["interpolation"] = lam
    assert not check_dual(bad).ok


def test_value_is_attained_by_the_instance(solved):
    g2 = np.asarray(solved.instance["grad_norm2"])[: solved.T]
    assert g2.min() == pytest.approx(solved.value, rel=1e-6, abs=1e-9)
    assert g2[solved.instance["argmin"] - 1] == g2.min()


# --- Picky patterns --------------------------------------------------------------------------------
def test_infeasible_patterns_are_statuses_not_numbers():
    alg = alg_of("picky", eps=0.5)  # eta = 1/9, rho = 1/4
    with pytest.raises(WorstCaseError) as e:  # d_1 = 0 rejected: distance 0 < rho
        worst_case(alg, [0, 1, 1], F=1.0, pattern="raa")
    assert e.value.status == "infeasible"
    # step 3 rejected needs ||x_3 - x_2|| = eta ||g_1|| >= 1/4, but ||g_1||^2 <= 2 beta F gives eta ||g_1|| <= 0.157
    with pytest.raises(WorstCaseError) as e:
        worst_case(alg, [0, 1, 1, 2, 2, 2], F=1.0, pattern="aararr")
    assert e.value.status == "infeasible"
    assert "infeasible" in str(e.value)


def test_rejections_change_the_worst_case():
    alg = alg_of("picky", eps=0.1)  # rho = 0.05
    d = [0, 0, 0, 3, 3, 3, 3, 3]
    acc = worst_case(alg, d, F=1.0, pattern="a" * 8).value
    rej = worst_case(alg, d, F=1.0, pattern="aaarraaa").value
    assert rej != pytest.approx(acc, rel=1e-3)


def test_unbounded_is_reported():
    with pytest.raises(WorstCaseError) as e:  # never moves, and 'final' does not bound the gradient
        worst_case(alg_of("sgd", eta=1.0), [0, 0, 0], F=1.0, eta=[0.0, 0.0, 0.0], initial="final")
    assert e.value.status.startswith("unbounded")


# --- steps to eps -----------------------------------------------------------------------------------
def test_steps_to_eps_bisection_matches_scan():
    prog = build_program(alg_of("delayed-sgd", eta=0.5), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1], F=1.0)
    vals = [solve_program(prog.prefix(k)).value for k in range(1, 11)]
    assert all(b <= a * (1 + 1e-7) for a, b in zip(vals, vals[1:]))  # nonincreasing (nested classes)
    eps = float(np.sqrt(vals[5] * 1.0001))  # between W(5) and W(6)... exactly: W(6) <= eps^2 < W(5)
    assert vals[4] > eps ** 2 >= vals[5]
    out = steps_to_eps(prog, eps)
    assert out["steps"] == 6
    assert steps_to_eps(prog, float(np.sqrt(vals[-1])) / 2)["steps"] is None


# --- errors --------------------------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match="sigma = 0"):
        worst_case(algorithms.resolve("sgd", beta=1.0, F=1.0, eps=0.1, sigma=1.0, eta=0.1), [0], F=1.0)
    with pytest.raises(ValueError, match="pattern"):
        worst_case(alg_of("picky"), [0, 1], F=1.0)
    with pytest.raises(ValueError, match="Picky SGD only"):
        worst_case(alg_of("delayed-sgd", eta=0.1), [0, 1], F=1.0, pattern="aa")
    with pytest.raises(ValueError, match="'a'"):
        worst_case(alg_of("picky"), [0, 1], F=1.0, pattern="ax")
    with pytest.raises(ValueError, match="at least T"):
        worst_case(alg_of("picky"), [0, 1], F=1.0, pattern="a")
    with pytest.raises(ValueError, match="solver"):
        worst_case(alg_of("sgd", eta=0.1), [0], F=1.0, solver="mosek")
    with pytest.raises(ValueError, match="initial"):
        worst_case(alg_of("sgd", eta=0.1), [0], F=1.0, initial="inf")
    with pytest.raises(ValueError, match="d_t|delay"):
        worst_case(alg_of("delayed-sgd", eta=0.1), [0, 2], F=1.0)


def test_missing_pepit_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "PEPit" else real(name, *a))
    from verify.optional import MissingDependency

    with pytest.raises(MissingDependency, match=r"needs the worstcase extra: pip install -e '\.\[worstcase\]' \(no module named 'PEPit'\)"):
        require_pepit()


@pytest.mark.slow
def test_certificates_at_T40():
    d = delays.make("constant:tau=3", 40)
    wc = worst_case(alg_of("delayed-sgd", eta=1 / 9), d, F=1.0)
    assert check_instance(wc).ok and check_dual(wc).ok


def test_program_unrolls_by_hand():
    """x_{t+1} = x_t - eta g(x_{t-d_t}) with x_1 = 0, in the basis of the gradients at the points
    (g0 at x_1, g1 at x_2, ...); d = [0, 1, 1, 2], all accepted, eta = 0.5 (hand-unrolled):
    x_2 = -.5 g0; x_3 = x_2 - .5 g(x_1) = -g0; x_4 = x_3 - .5 g(x_2) = -g0 - .5 g1;
    x_5 = x_4 - .5 g(x_2) = -g0 - g1."""
    prog = build_program(alg_of("delayed-sgd", eta=0.5), [0, 1, 1, 2], F=1.0)
    want = np.array([[0, 0, 0, 0, 0], [-.5, 0, 0, 0, 0], [-1, 0, 0, 0, 0], [-1, -.5, 0, 0, 0], [-1, -1, 0, 0, 0]])
    np.testing.assert_array_equal(prog.X[1:], want)
    # Picky rejecting step 3: x_4 = x_3 (same point), x_5 = x_4 - eta g(x_2)
    prog = build_program(alg_of("picky", eta=0.5, rho=1.0), [0, 1, 1, 2], F=1.0, pattern="aara")
    np.testing.assert_array_equal(prog.point_of[1:], [0, 1, 2, 2, 3])
    np.testing.assert_array_equal(prog.X[5], [-1, -.5, 0, 0])


# --- the command line -----------------------------------------------------------------------------------
def test_cli_known_value_and_json(capsys):
    import json

    from verify.cli import main

    assert main(["worst-case", "--algorithm", "sgd", "--steps", "5", "--beta", "1", "--F", "1", "--eta", "1",
                 "--initial", "final", "--count-last", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["worst_case"]["value"] == pytest.approx(4 / 15, rel=1e-6)
    assert out["certificates"]["instance"]["ok"] and out["certificates"]["dual"]["ok"]


def test_cli_picky_table_and_save(tmp_path, capsys):
    from verify.cli import main

    code = main(["worst-case", "--algorithm", "picky", "--delays", "constant:tau=1", "--steps", "4", "--beta", "1",
                 "--F", "1", "--eps", "1.5", "--pattern", "all", "--save", str(tmp_path / "wc")])
    text = capsys.readouterr().out
    assert code == 0
    assert "worst case of min_t ||grad f(x_t)||^2 =" in text and "Theorem D'" in text
    assert "worst-case steps to eps = 1.5: 1" in text  # ||grad f(x_1)||^2 <= 2 beta F = 2 < 2.25
    assert {p.name for p in (tmp_path / "wc").iterdir()} == {"worst_case.json", "summary.json", "MANIFEST.json"}


@pytest.mark.parametrize("argv,msg", [
    (["--algorithm", "picky", "--delays", "constant:tau=1", "--steps", "6", "--eps", "0.5", "--pattern", "aararr"], "infeasible"),
    (["--algorithm", "picky", "--steps", "3", "--eps", "0.5"], "pattern"),
    (["--algorithm", "sgd", "--steps", "3", "--rho", "2"], "--rho"),
])
def test_cli_errors(argv, msg, capsys):
    from verify.cli import main

    code = main(["worst-case", *argv, "--beta", "1", "--F", "1"])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and len(err.strip().splitlines()) == 1


def test_cli_missing_pepit(capsys, monkeypatch):
    from verify.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "PEPit" else real(name, *a))
    code = main(["worst-case", "--algorithm", "sgd", "--steps", "3", "--beta", "1", "--F", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "needs the worstcase extra: pip install -e '.[worstcase]'" in err and len(err.strip().splitlines()) == 1


# --- the direct backend (the same SDP without PEPit's per-constraint compilation) --------------------------
def test_direct_backend_agrees_with_pepit(solved):
    wd = solve_program(solved.program, backend="direct")
    assert wd.value == pytest.approx(solved.value, rel=1e-6)
    assert check_instance(wd).ok and check_dual(wd).ok


@pytest.mark.parametrize("L,F,h,N,W", KNOWN[:2])
def test_direct_backend_known_value(L, F, h, N, W):
    wc = worst_case(alg_of("sgd", beta=L, F=F, eta=h / L), np.zeros(N, dtype=int), F=F, initial="final",
                    count_last=True, backend="direct")
    assert wc.value == pytest.approx(W, rel=1e-6)


# --- claim 11 (issue 25 (a)) ----------------------------------------------------------------------------------
def test_known_formula_hand_values():
    from verify.worstcase.known import gd_exact_worst_case

    for L, F, h, N, W in KNOWN:
        assert gd_exact_worst_case(L, F, h, N) == pytest.approx(W, rel=1e-15)
    with pytest.raises(ValueError, match="sqrt"):
        gd_exact_worst_case(1.0, 1.0, 1.8, 3)


def test_claim_worst_case_known_passes_and_can_fail(monkeypatch):
    from verify import claims
    from verify.worstcase import known

    ev = claims.run(["worst-case-known"], "test")[0]
    assert ev.verdict == "pass" and ev.measured["max_rel_error"] < 1e-6 and len(ev.instances) == 3
    real = known.gd_exact_worst_case
    monkeypatch.setattr(known, "gd_exact_worst_case", lambda *a: real(*a) * 1.001)  # a known value 0.1% off
    assert claims.run(["worst-case-known"], "test")[0].verdict == "fail"


def test_claim_worst_case_tightness_passes_and_can_fail(monkeypatch):
    import theory
    from verify import claims
    from verify.claims import worst_case_tightness as wct

    monkeypatch.setattr(wct, "SPECS", ("none", "constant:tau=1"))  # the full test profile runs in test_claims
    ev = claims.run(["worst-case-tightness"], "test")[0]
    assert ev.verdict == "pass" and ev.ratio is None and 0 < ev.worst_case_ratio <= 1 and len(ev.instances) == 4
    assert all(e["condition_at_T"] and e["certificates_ok"] for e in ev.instances)
    # a bound 1000x too small (a wrong constant in theory's accuracy) must be caught
    real = theory.accuracy
    monkeypatch.setattr(wct.theory, "accuracy", lambda *a, **k: real(*a, **k) / 1000)
    assert claims.run(["worst-case-tightness"], "test")[0].verdict == "fail"

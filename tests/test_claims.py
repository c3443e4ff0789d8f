"""The claims registry at a small budget (profile ``test``): the suite asserts on the same evidence
records that ``picky verify`` reports. One shared run of the registry (module-scoped fixture)."""
from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify.models import adversaries as adversary
from verify import claims
from verify.search import strategies as vst
from verify.claims import baselines, common, counting_lemma, evidence, report, theorem_d_stochastic, tightness
from verify.claims.theorem_d_deterministic import ADAPTIVE
from verify.cli import main


@pytest.fixture(scope="module")
def run_all(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    ev = claims.run(profile="test", out_dir=out)
    return {e.claim: e for e in ev}, out


def test_every_claim_has_an_evidence_record(run_all):
    ev, _ = run_all
    assert list(ev) == list(claims.CLAIMS)
    assert len(ev) == 19
    for cid, e in ev.items():
        c = claims.get(cid)
        assert e.claim == cid and e.verdict in evidence.VERDICTS and e.profile == "test"
        assert e.rerun == f"picky verify --profile test --only {cid}"
        st = (theory.get_time(c.result) if c.result in theory.TIME_RESULTS else theory.get(c.result)) if c.result else None
        assert e.status == (st.status.value if st else None)
        assert e.test.alpha >= 0 and e.test.name and e.what
        json.dumps(e.as_dict(), allow_nan=False)


def test_every_claim_passes_on_main(run_all):
    ev, _ = run_all
    assert {cid: e.verdict for cid, e in ev.items()} == {cid: evidence.PASS for cid in ev}


def test_theorem_d_deterministic_checks_real_horizons(run_all):
    e = run_all[0]["theorem-d-deterministic"]
    checked = [i for i in e.instances if i["verdict"] != evidence.NOT_MET]
    assert len(checked) >= 15 and e.measured["instances_checked"] == len(checked)
    for i in checked:
        assert i["horizon_D_prime"] is not None and i["first_hit"] is not None and i["first_hit"] <= i["horizon_D_prime"]
    # d_t = t - 1 never meets the condition: reported as condition-not-met, not as a pass
    assert any(i["verdict"] == evidence.NOT_MET and i["delays"].startswith("constant") for i in e.instances)
    adaptive = [i for i in e.instances if i.get("adaptive")]
    assert {i["delays"] for i in adaptive} == {f"adaptive adversary {s}" for s in ADAPTIVE}  # both adversaries ran
    for i in adaptive:
        assert i["note"].startswith(adversary.NOTE) and i["verdict"] == evidence.PASS and i["first_hit"] <= i["horizon_D_prime"]
    searched = {i["instance"] for i in e.instances if str(i["delays"]).startswith("targeted search")}
    assert searched == {"quad", "logsum"}  # every instance where the condition can hold (not chain)
    assert any("not on chain" in n for n in e.notes)
    assert 0 < e.ratio <= 1


def test_invariants_claim_pins_the_accept_test_from_both_sides(run_all):
    e = run_all[0]["invariants"]
    m = e.measured
    assert e.verdict == evidence.PASS and m["runs_checked"] >= 100 and m["runs_with_full_trace"] >= 50
    # the check is live: accepted distances come within 1e-4 of rho and rejections occur (the exact
    # natural ties, distance == rho, appear at the quick budget: report/results.json has 1.0)
    assert 1 - 1e-4 < m["largest_accepted_distance_over_rho"] <= 1.0
    assert m["smallest_rejected_distance_over_rho"] is not None and m["smallest_rejected_distance_over_rho"] > 1.0
    assert m["rejected_with_zero_delay"] == 0 and m["rejected_steps_with_moved_iterate"] == 0


def test_stochastic_claim_uses_an_exact_binomial_test(run_all):
    e = run_all[0]["theorem-d-stochastic"]
    assert "binomtest" in e.test.name and e.test.alpha == claims.PROFILES["test"].alpha
    for i in e.instances:
        if i["verdict"] == evidence.NOT_MET or i.get("part") == "power control":
            continue
        assert i["n"] == claims.PROFILES["test"].seeds
        lo, hi = i["ci95"]
        assert lo <= i["success_rate"] <= hi
        assert set(i["restarts"]) == {"2", "3"}


def test_counting_eps_stability_and_lower_bound_claims(run_all):
    ev = run_all[0]
    c = ev["counting-lemma"].measured
    assert c["bursty_exact_form_ratio"] and all(r == 1.0 for r in c["bursty_exact_form_ratio"])  # attained exactly
    assert 0 < c["largest_exact_form_ratio_random"] <= 1 and 0 < c["largest_rejections_over_bound_on_runs"] <= 1
    assert c["runs_checked"] >= 20
    e = ev["eps-scaling"].measured
    lo, hi = e["chain_sigma0_slope"]["ci95"]
    assert lo <= 2 + 0.25 and hi >= 2 - 0.25  # the chain's exponent is 2
    assert e["noise_dominated_slope"]["ci95"][1] <= 4 + 0.25
    st = ev["stability"].measured
    assert st["stable_up_to"] == theory.max_stable_delay(1 / 9, 1.0) == 13  # paper.md §8.2
    assert st["diverged_at"] and min(st["diverged_at"]) == 14 and st["picky_converged_at_all"] is True
    lb = ev["lower-bound"].measured
    assert lb["largest_coordinate_gain_per_gradient"] == 1 and lb["smallest_first_hit_minus_dim"] >= 1 and lb["runs"] >= 10


def test_headline_slopes(run_all):
    m = run_all[0]["headline"].measured
    assert m["picky"]["ci95"][1] <= 0.1
    assert m["delayed-sgd"]["ci95"][0] >= 0.5 and abs(m["delayed-sgd"]["slope"] - 1) < 0.1


def test_tightness_reports_the_lower_bound_on_C(run_all):
    e = run_all[0]["tightness"]
    c = e.measured["C_lower_bound_rate_form"]
    assert c is not None and c > 0
    assert e.measured["largest_ratio_theorem_D_prime"] <= 1
    assert "LOWER bound" in " ".join(e.notes)


def test_report_files(run_all):
    ev, out = run_all
    paths = report.write(out, list(ev.values()), {"command": "picky verify --profile test", "profile": "test",
                                                   "started": "now", "seconds": 1.0, "verdict": report.overall(list(ev.values()))})
    data = json.loads(paths[0].read_text())
    assert data["schema"] == "picky-verify/1" and len(data["claims"]) == 19 and "numba" in data["environment"]
    header = paths[1].read_text().splitlines()[0]
    assert header == "claim,algorithm,problem,delays,seed,metric,value"
    md = paths[2].read_text()
    for cid in ev:
        assert f"--only {cid}`" in md
    assert (out / "worst_sequence.json").exists()


def test_combine_and_overall():
    P, F, I, N = evidence.PASS, evidence.FAIL, evidence.INCONCLUSIVE, evidence.NOT_MET
    assert evidence.combine([P, N, P]) == P and evidence.combine([N, N]) == N and evidence.combine([]) == N
    assert evidence.combine([P, I]) == I and evidence.combine([I, F, P]) == F


@settings(max_examples=50)
@given(d=vst.causal_delays(max_T=59, max_delay=19), data=st.data())
def test_straddler_count_matches_a_direct_loop(d, data):
    T = d.size
    bps = np.array(data.draw(st.lists(st.integers(1, T), min_size=1, max_size=T, unique=True)))
    direct = sum(any(t - d[t - 1] <= p < t for p in bps) for t in range(1, T + 1))
    assert counting_lemma.straddlers(d, bps) == direct


def test_c_lower_bound_by_hand():
    # d = 0: rate(0) = beta F (1/eps^2) -> max_{T < h} T/rate = (h - 1) eps^2/(beta F)
    d = np.zeros(100, np.int64)
    assert tightness.c_lower_bound(d, 50, beta=2.0, F=3.0, eps=0.5) == pytest.approx(49 * 0.25 / 6)
    assert tightness.c_lower_bound(d, None, beta=2.0, F=3.0, eps=0.5) == 0.0
    d2 = np.array([0, 1, 2, 0])  # T = 3: tau = 1 -> rate = 6 * 4 * 2 = 48; T = 1: rate 24
    assert tightness.c_lower_bound(d2, 4, beta=2.0, F=3.0, eps=0.5) == pytest.approx(max(1 / 24, 2 / 36, 3 / 48))


def test_verify_cli_writes_the_report_and_exits_0(tmp_path, capsys):
    assert main(["verify", "--profile", "test", "--only", "stability", "lower-bound", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stability" in out and "verdict: pass" in out
    assert json.loads((tmp_path / "results.json").read_text())["verdict"] == "pass"


def test_verify_cli_bad_input(tmp_path, capsys):
    code = main(["verify", "--only", "nonsense", "--out", str(tmp_path)])
    assert code == 2 and "claim id must be one of" in capsys.readouterr().err


def test_statistics_helpers_against_known_values():
    from verify.claims import common

    # exact binomial: P(X <= 40 | n = 100, p = 1/2) = 0.02844 (scipy.stats.binom.cdf), one-sided "less"
    assert common.binom_less(40, 100, 0.5) == pytest.approx(0.028443966820490392, rel=1e-9)
    assert common.binom_less(60, 100, 0.5) > 0.9  # no evidence against p >= 1/2
    # P(X >= 3 | n = 10, p = 1/8)
    assert common.binom_greater(3, 10, 0.125) == pytest.approx(1 - sum(
        math.comb(10, k) * 0.125**k * 0.875 ** (10 - k) for k in range(3)), rel=1e-9)
    # Clopper-Pearson: k = 0 of n gives [0, 1 - (alpha/2)^(1/n)]; k = n gives [(alpha/2)^(1/n), 1]
    lo, hi = common.clopper_pearson(0, 200)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 200), rel=1e-9)
    lo, hi = common.clopper_pearson(200, 200)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 200), rel=1e-9)


def test_slope_helpers():
    from verify.claims import common

    x = [10, 100, 1000]
    s, (lo, hi) = common.slope_ci_ols(x, [3 * v for v in x])
    assert s == pytest.approx(1.0) and lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    groups = [list(v**2 * np.exp(rng.normal(0, 0.05, 30))) for v in x]
    s, (lo, hi) = common.slope_ci_bootstrap(x, groups, seed=1)
    assert lo < 2.0 < hi and hi - lo < 0.1


# ------------------------------------------------------------------------------------------
# the report: valid Markdown tables (issue 21), how strong each pass is (issue 25)
# ------------------------------------------------------------------------------------------
_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")


def _tables(md: str) -> list[list[str]]:
    """Every Markdown table of a document: runs of consecutive lines that start with '|'."""
    tables, cur = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            tables.append(cur)
            cur = []
    if cur:
        tables.append(cur)
    return tables


def _cells(line: str) -> int:
    assert line.startswith("|") and line.endswith("|") and not line.endswith("\\|"), line
    return len(_UNESCAPED_BAR.split(line)) - 2


def assert_valid_tables(md: str) -> int:
    tables = _tables(md)
    for t in tables:
        n = _cells(t[0])
        assert set(t[1].replace("|", "")) == {"-"} and _cells(t[1]) == n, t[:2]
        for row in t[2:]:
            assert _cells(row) == n, (t[0], row)
        assert len(set(t[2:])) == len(t[2:]), [r for r in t[2:] if t[2:].count(r) > 1][:2]
    return len(tables)


def test_report_tables_are_valid_markdown(run_all):
    ev, out = run_all
    md = report.markdown(list(ev.values()), {"command": "picky verify --profile test", "profile": "test",
                                             "started": "now", "seconds": 1.0, "verdict": "pass"})
    # the run has delay names with '|' (sequence programs) and long trace descriptions: the cases of issue 21
    names = [str(i.get("delays")) for i in ev["theorem-d-deterministic"].instances]
    assert any("|" in n for n in names) and "\\|" in md
    assert assert_valid_tables(md) >= 12
    assert max(len(line) for line in md.splitlines() if line.startswith("| ") and "rerun" not in line) < 1200
    summary = _tables(md)[0]
    assert "measured / bound" in summary[0] and "worst case / bound" in summary[0] and "family-wise" in summary[0]
    assert len(summary) == 2 + len(ev)
    worst_col = {r.split(" | ")[0].strip("| "): r.split(" | ")[5] for r in summary[2:]}  # '#' -> worst case / bound
    filled = {k for k, v in worst_col.items() if v != "--"}
    assert filled == {"9", "12"}, worst_col  # the exact worst case / Theorem D' (claim 12), shown beside claim 9's
    assert 0 < float(worst_col["12"]) <= 1 and worst_col["9"] == worst_col["12"]
    assert "Planted-bug kill rate" in md and "tools/mutants-report.md" in md


def test_committed_report_tables_are_valid_markdown():
    md = (Path(__file__).resolve().parents[1] / "report" / "report.md").read_text()
    assert assert_valid_tables(md) >= 12


def test_table_helpers_escape_and_drop_repeats():
    assert report.md_cell("ramp(D=50) x 20000 | zeros to 400000") == "ramp(D=50) x 20000 \\| zeros to 400000"
    assert report.md_cell("a\nb   c") == "a b c"
    assert report.md_cell("x" * 100, 20) == "x" * 17 + "..."
    lines = report.md_table(["a", "b"], [[1, "p|q"], [1, "p|q"], [2, None]])
    assert lines == ["| a | b |", "|---|---|", "| 1 | p\\|q |", "| 2 | - |"]
    assert assert_valid_tables("\n".join(lines)) == 1


def test_kill_rate_is_read_from_the_mutants_report(tmp_path):
    f = tmp_path / "m.md"
    f.write_text("Generated by `python tools/mutants.py --x` (2031-01-02). Each ...\n"
                 "- `picky verify --profile quick`: **7/30 killed (23%)** (more)\n")
    assert report.mutation_kill_rate(f) == {"killed": 7, "total": 30, "percent": 23, "command": "python tools/mutants.py --x",
                                            "date": "2031-01-02", "source": "tools/mutants-report.md"}
    assert report.mutation_kill_rate(tmp_path / "absent.md") is None
    real = report.mutation_kill_rate()  # the committed file
    assert real is not None and 0 <= real["killed"] <= real["total"] and real["date"]


# ------------------------------------------------------------------------------------------
# statistics: Holm, and every verdict rule at its boundary (constructed counts)
# ------------------------------------------------------------------------------------------
def test_holm_on_hand_computed_p_values():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06
    rej, adj = common.holm([0.01, 0.04, 0.03, 0.005], 0.05)
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02]) and rej == [True, False, False, True]
    # step-down stops at the first acceptance: 0.02 x 2 = 0.04 > 0.03, so 0.025 is not rejected either
    rej, adj = common.holm([0.02, 0.025], 0.03)
    assert adj == pytest.approx([0.04, 0.04]) and rej == [False, False]
    rej, adj = common.holm([0.5, 0.6], 0.05)  # capped at 1, monotone
    assert adj == [1.0, 1.0] and rej == [False, False]
    assert common.holm([], 0.05) == ([], [])
    # Holm rejects more than Bonferroni: 0.011 x 4 = 0.044 rejected by neither at 0.04; 0.012 x 3 = 0.036 by Holm only
    rej, _ = common.holm([0.001, 0.012, 0.013, 0.5], 0.04)
    assert rej == [True, True, True, False]
    with pytest.raises(ValueError, match="alpha"):
        common.holm([0.1], 0.0)


def test_interval_verdict_at_its_boundaries():
    P, F, I = evidence.PASS, evidence.FAIL, evidence.INCONCLUSIVE
    v = common.interval_verdict
    # claim "slope <= 0.1" (claim 5, Picky)
    assert v([0.0, 0.1], upper=0.1) == P
    assert v([0.05, 0.1000001], upper=0.1) == I  # point estimate inside, interval straddles: cannot decide
    assert v([0.1, 0.2], upper=0.1) == I
    assert v([0.1000001, 0.2], upper=0.1) == F
    # claim "slope >= 0.5" (claim 5, delayed SGD)
    assert v([0.5, 1.0], lower=0.5) == P and v([0.49, 1.0], lower=0.5) == I and v([0.2, 0.4999], lower=0.5) == F
    # claim "1.75 <= slope <= 2.25" (claim 6, chain)
    assert v([1.8, 2.2], 1.75, 2.25) == P and v([1.7, 2.0], 1.75, 2.25) == I and v([2.26, 2.4], 1.75, 2.25) == F
    with pytest.raises(ValueError, match="ci must be"):
        v([1.0, 0.0], upper=1.0)


def test_exceedance_verdict_at_its_boundary():
    P, F, I = evidence.PASS, evidence.FAIL, evidence.INCONCLUSIVE
    assert common.exceedance_verdict(True, 0.3, 0.5) == F
    assert common.exceedance_verdict(False, 0.495, 0.5) == I  # estimate below, test does not reject
    assert common.exceedance_verdict(False, 0.5, 0.5) == P


def _p_less(k: int, n: int) -> float:
    """P(X <= k), X ~ Binomial(n, 1/2), by hand."""
    return sum(math.comb(n, j) for j in range(k + 1)) / 2**n


def _p_greater(m: int, B: int, q: float) -> float:
    """P(X >= m), X ~ Binomial(B, q), by hand."""
    return sum(math.comb(B, j) * q**j * (1 - q) ** (B - j) for j in range(m, B + 1))


def _pair(k: int, n: int = 200, fail2: int = 0, fail3: int = 0) -> dict:
    B2, B3 = n // 2, n // 3
    return {"n": n, "successes": k, "success_rate": k / n, "p_value": _p_less(k, n), "latest_hit_over_horizon": 0.5,
            "restarts": {"2": {"failed": fail2, "blocks": B2, "failure_rate": fail2 / B2, "bound": 0.25,
                               "p_value": _p_greater(fail2, B2, 0.25)},
                         "3": {"failed": fail3, "blocks": B3, "failure_rate": fail3 / B3, "bound": 0.125,
                               "p_value": _p_greater(fail3, B3, 0.125)}}}


def test_claim2_verdicts_on_constructed_counts_at_the_boundary():
    alpha, n = 0.01, 200
    # one pair = a family of 3 tests: Holm's first step compares the smallest p-value with alpha/3
    kcrit = max(k for k in range(n + 1) if _p_less(k, n) <= alpha / 3)
    assert kcrit == 80  # by hand: P(X <= 80) = 0.00284 <= 0.00333 < P(X <= 81) = 0.00436
    assert theorem_d_stochastic.critical_successes(n, alpha / 3) == kcrit
    judge = theorem_d_stochastic.judge_family
    for k, want in ((kcrit, evidence.FAIL), (kcrit + 1, evidence.INCONCLUSIVE), (99, evidence.INCONCLUSIVE),
                    (100, evidence.PASS), (200, evidence.PASS)):
        e = _pair(k)
        assert judge([e], alpha) == 3 and e["verdict"] == want, (k, e["p_value"])
    # restart blocks: failure rate 0.27 > 1/4 but not rejected -> inconclusive; far above -> fail
    e = _pair(150, fail2=27)
    judge([e], alpha)
    assert e["verdict"] == evidence.INCONCLUSIVE
    m2 = min(m for m in range(101) if _p_greater(m, 100, 0.25) <= alpha / 3)
    e = _pair(150, fail2=m2)
    judge([e], alpha)
    assert e["verdict"] == evidence.FAIL
    e = _pair(150, fail2=m2 - 1)
    judge([e], alpha)
    assert e["verdict"] == evidence.INCONCLUSIVE
    # with 17 pairs (51 tests) the same count that failed alone is no longer rejected: family-wise control
    fam = [_pair(kcrit)] + [_pair(200) for _ in range(16)]
    assert judge(fam, alpha) == 51 and fam[0]["verdict"] == evidence.INCONCLUSIVE
    assert fam[1]["powerless"] and "fails only if" in fam[1]["power_note"] and not fam[0]["powerless"]


def test_claim2_measure_counts_by_hand():
    ok = np.array([True, False] * 5 + [False] * 2)  # n = 12: 5 successes; blocks of 2: 1 all-fail; of 3: 1
    e = theorem_d_stochastic._measure({}, ok, np.array([3.0, 5.0, 7.0, 9.0, 11.0]), t0=20)
    assert e["successes"] == 5 and e["n"] == 12 and e["median_hit_over_horizon"] == 7 / 20
    assert e["latest_hit_over_horizon"] == 11 / 20 and e["p_value"] == pytest.approx(_p_less(5, 12))
    assert e["restarts"]["2"]["failed"] == 1 and e["restarts"]["3"]["failed"] == 1


def test_claim2_reports_power_and_family(run_all):
    e = run_all[0]["theorem-d-stochastic"]
    assert "Holm" in e.test.correction and e.measured["tests"] == 3 * sum(1 for i in e.instances if "p_value" in i)
    assert e.powerless and e.measured["pairs_without_power"] >= 1
    controls = [i for i in e.instances if i.get("part") == "power control"]
    assert controls and all(c["verdict"] == evidence.PASS and c["success_rate"] < 0.5 for c in controls)
    assert e.not_met and set(e.not_met) <= {common.SHORTER_THAN_T0, common.DELAYS_TOO_LARGE}
    for i in e.instances:
        if i["verdict"] == evidence.NOT_MET:
            assert i["reason"] in e.not_met and "steps" in i["reason_detail"]


def test_not_met_instances_are_counted_with_reasons(run_all):
    e = run_all[0]["theorem-d-deterministic"]
    n = sum(1 for i in e.instances if i["verdict"] == evidence.NOT_MET)
    assert n >= 1 and sum(e.not_met.values()) == n
    # d_t = t - 1 (tau_avg ~ T/2): its delays are too large for any prefix; by hand, Theorem D' asks
    # 8960 beta F tau_avg/eps^2 = 8960 * 1 * 0.5 * 74999.5 / 0.25 steps on quad, > 150000
    (i,) = [i for i in e.instances if i["instance"] == "quad" and i["delays"] == "constant:tau=150000"]
    assert i["reason"] == common.DELAYS_TOO_LARGE and f"{8960 * 0.5 * 74999.5 / 0.25:.4g}" in i["reason_detail"]


# ------------------------------------------------------------------------------------------
# claim 10: the baselines
# ------------------------------------------------------------------------------------------
def test_baselines_claim_runs_every_other_algorithm(run_all):
    e = run_all[0]["baselines"]
    m = e.measured
    assert e.verdict == evidence.PASS and m["steps_off_rule"] == 0 and m["per_step_runs"] >= 10
    assert m["delay_adaptive_steps_above_tau_C"] > 0 and m["stale_drop_steps_with_d_equal_R"] > 0  # boundaries met
    assert m["sgd_largest_descent_ratio"] == pytest.approx(1.0, abs=1e-9)  # tight on the quadratic
    assert 0 < e.ratio <= 1 and m["delay_adaptive_converged"] == 6
    algs = {i.get("algorithm") for i in e.instances}
    assert {"sgd", "stale-drop", "delay-adaptive-ksj", "delay-adaptive-mishchenko"} <= algs


def test_step_check_sees_a_rule_that_differs_from_the_sources(monkeypatch):
    from verify import algorithms
    from verify.models import delays, problems

    prob = problems.make("logsum", 2)
    seq = delays.make("pareto:alpha=1.5,scale=3", 300, seed=2)
    alg = algorithms.resolve("delay-adaptive", beta=prob.beta, F=prob.F, eps=0.5, sigma=0.0, delays=seq)
    assert baselines.step_check(prob, seq, alg, 300)["verdict"] == evidence.PASS
    real = baselines.hand_rule
    # KSJ's cap without its 1/d_t (mutant M18's rule): the recorded steps no longer match
    monkeypatch.setattr(baselines, "hand_rule", lambda a, d, beta: (True, min(a.eta, 1 / (4 * beta))) if d > a.tau_C
                        else real(a, d, beta))
    got = baselines.step_check(prob, seq, alg, 300)
    assert got["verdict"] == evidence.FAIL and got["steps_off_rule"] == got["steps_above_tau_C"] > 0


# ------------------------------------------------------------------------------------------
# picky verify: a crash is the claim's failure; exit codes; progress lines when not a terminal
# ------------------------------------------------------------------------------------------
def _patched(monkeypatch, cid, check):
    monkeypatch.setitem(claims.CLAIMS, cid, dataclasses.replace(claims.CLAIMS[cid], check=check))


def test_a_claim_that_raises_is_its_failure_not_a_user_error(tmp_path, monkeypatch, capsys):
    def boom(ctx):
        raise ValueError("operands could not be broadcast together with shapes (3,) (4,)")

    _patched(monkeypatch, "tightness", boom)
    code = main(["verify", "--profile", "test", "--only", "stability", "tightness", "--out", str(tmp_path)])
    assert code == 1  # a claim failed (not 2, a user's mistake; not 3)
    data = json.loads((tmp_path / "results.json").read_text())
    got = {c["claim"]: c for c in data["claims"]}
    assert got["tightness"]["verdict"] == "fail" and "could not be broadcast" in got["tightness"]["error"]
    assert got["stability"]["verdict"] == "pass"  # the other claims still ran
    assert "ValueError" in (tmp_path / "report.md").read_text()
    assert "tightness finished: fail" in capsys.readouterr().err


def test_inconclusive_has_its_own_exit_code(tmp_path, monkeypatch, capsys):
    real = claims.CLAIMS["stability"].check

    def undecided(ctx):
        ev = real(ctx)
        ev.verdict = evidence.INCONCLUSIVE
        return ev

    _patched(monkeypatch, "stability", undecided)
    assert main(["verify", "--profile", "test", "--only", "stability", "lower-bound", "--out", str(tmp_path)]) == 4
    assert "could not decide (stability): exit 4" in capsys.readouterr().err
    from verify.cli import EXIT_INCONCLUSIVE, verify as vcli

    assert EXIT_INCONCLUSIVE == 4
    mk = lambda v: types.SimpleNamespace(verdict=v)  # noqa: E731
    assert vcli.exit_code([mk("pass"), mk("pass")]) == 0
    assert vcli.exit_code([mk("pass"), mk("condition-not-met")]) == 4
    assert vcli.exit_code([mk("inconclusive"), mk("fail")]) == 1


def test_verify_prints_a_line_per_claim_on_stderr_when_not_a_terminal(tmp_path, capsys):
    assert not sys.stderr.isatty()
    assert main(["verify", "--profile", "test", "--only", "stability", "lower-bound", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    for num, cid in ((7, "stability"), (8, "lower-bound")):
        assert any(f"claim {num} {cid} started" in line for line in err)
        assert any(re.search(rf"claim {num} {cid} finished: pass in \d+\.\d s", line) for line in err)


def test_every_rule_in_theory_is_run_by_some_claim(run_all):
    """Coverage: every algorithm rule of theory/rules.py appears in the rows of some claim (a bug in any
    of them can turn picky verify red). Statements without a rule of their own: counting-lemma (claim 3),
    lower-bound (claim 8), ksj-constant (delayed SGD's rule: claims 5, 7), quantile (its algorithm,
    asynchronous mini-batching, is not implemented in this package)."""
    from theory import rules as TR

    seen = {r.algorithm for e in run_all[0].values() for r in e.rows}
    assert set(TR.RULES) <= seen, set(TR.RULES) - seen


def test_time_claims_evidence(run_all):
    """Claims 17-19 on the test profile: the lemmas hold with room and are live (the asynchronous
    lower bound K H_n/n is attained on the two-speed fleet); Picky's slope and the rejections by
    speed are measured; no arrival falls in an outage, and every outage check saw past the outage."""
    ev = run_all[0]
    lem = ev["time-lemmas"]
    assert lem.verdict == evidence.PASS and lem.measured["fleets"] == 5
    assert 0.3 < lem.measured["largest_rennala"] <= 1 and 0.3 < lem.measured["largest_ringmaster_block"] <= 1
    assert lem.measured["async_min_arrival_over_lower"] == pytest.approx(1.0, abs=1e-12)
    ps = ev["picky-seconds"]
    assert ps.verdict == evidence.PASS and "OPEN QUESTION" in ps.notes[0]
    assert ps.measured["slope_in_n"]["picky"]["slope"] is not None and ps.ci == ps.measured["slope_in_n"]["picky"]["ci95"]
    assert set(ps.measured["orderings"]["per_method"]) == {"rennala", "ringmaster", "delayed-sgd", "minibatch",
                                                           "rennala (two-speed)", "ringmaster (two-speed)"}
    assert ps.measured["orderings"]["verdict"] == evidence.PASS and ps.measured["orderings"]["ci_level"] == 1 - 0.05 / 6
    fr = ps.measured["picky_rejection_fraction_by_speed_quantile"]["16"]
    assert len(fr) == 4 and all(f is not None for f in fr)
    tm = ev["time-models"]
    assert tm.verdict == evidence.PASS and tm.measured["arrivals_inside_outages"] == 0
    sanity = [i for i in tm.instances if i["part"] == "outage sanity"]
    assert len(sanity) == tm.measured["outage_checks"] == 24
    assert all(i["outage_worker_arrives_after_outage"] for i in sanity)

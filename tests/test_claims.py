"""The claims registry at a small budget (profile ``test``): the suite asserts on the same evidence
records that ``picky verify`` reports. One shared run of the registry (module-scoped fixture)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from verify import adversary, claims
from verify import strategies as vst
from verify.claims import counting_lemma, evidence, report, tightness
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
    assert len(ev) == 11
    for cid, e in ev.items():
        c = claims.get(cid)
        assert e.claim == cid and e.verdict in evidence.VERDICTS and e.profile == "test"
        assert e.rerun == f"picky verify --profile test --only {cid}"
        assert e.status == (theory.get(c.result).status.value if c.result else None)
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
    assert any(str(i["delays"]).startswith("targeted search") for i in e.instances)
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
        if i["verdict"] == evidence.NOT_MET:
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
    assert data["schema"] == "picky-verify/1" and len(data["claims"]) == 11 and "numba" in data["environment"]
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

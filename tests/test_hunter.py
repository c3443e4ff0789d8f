"""The conjecture hunter: it refutes a false conjecture (delayed SGD with a step scaled to tau_avg
instead of tau_max) with a replayable counterexample, and finds none for Theorem D'."""
from __future__ import annotations

import json

import pytest

from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.search import hunter
from verify.models import problems as P
from verify.cli import main

D_PRIME = "Max(512*beta*F/eps**2 + 128*beta*F*sigma**2/eps**4, 8960*beta*F*tau_avg/eps**2)"


def test_refutes_delayed_sgd_scaled_to_tau_avg(tmp_path, capsys):
    code = main(["hunt", "--algorithm", "delayed-sgd", "--eta", "1/(9*beta*(1+tau_avg))",
                 "--bound", "64*beta*F*(1+tau_avg)/eps**2", "--budget", "300", "--seed", "5", "--save", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "COUNTEREXAMPLE" in out, out
    trace = D.load_trace(tmp_path / "counterexample-delays.json")
    prog = json.loads((tmp_path / "counterexample-program.json").read_text())
    assert prog["segments"]
    # the counterexample, checked independently of the hunter: tau_max >> tau_avg over the horizon, and
    # delayed SGD with eta = 1/(9 beta (1 + tau_avg)) does not reach eps by it, while the same sequence
    # with the theorem's step (scaled to tau_max) is stable
    T = trace.size
    tau_avg, tau_max = trace.mean(), trace.max()
    assert tau_max > 10 * tau_avg
    line = next(l for l in out.splitlines() if l.strip().startswith("delays"))
    inst = next(name for name in hunter.INSTANCES if f"on {name}:" in line)
    spec, dim, eps = hunter.INSTANCES[inst]
    prob = P.make(spec, dim)
    seq = D.from_trace(trace)
    bad = A.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=eps, sigma=0.0, eta=1 / (9 * prob.beta * (1 + tau_avg)))
    (r,) = E.run_batch(prob, seq, bad, [0], T=T, stop_at_hit=True)
    assert r.first_hit is None
    assert T >= 64 * prob.beta * prob.F * (1 + tau_avg) / eps**2  # the conjecture's condition held at T
    good = A.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=eps, sigma=0.0, delays=seq)
    (g,) = E.run_batch(prob, seq, good, [0], T=T, stop_at_hit=True)
    assert not g.diverged
    assert "replay   picky simulate --algorithm delayed-sgd" in out


def test_no_counterexample_to_theorem_d_prime(capsys):
    assert main(["hunt", "--algorithm", "picky", "--bound", D_PRIME, "--budget", "40"]) == 0
    out = capsys.readouterr().out
    assert "no counterexample in 40 examples" in out


def test_rejections_metric_against_the_counting_bound():
    conj = hunter.Conjecture("picky", "(sqrt((24*beta*F/eps**2)**2 + 8*(24*beta*F/eps**2)*sum_d) - 24*beta*F/eps**2)/2",
                             metric="rejections")
    out = hunter.hunt(conj, budget=15)
    assert not out.found and out.examples >= 1


@pytest.mark.parametrize("kw, needle", [
    (dict(bound="beta*gamma"), "unknown name"),
    (dict(bound="(("), "cannot parse"),
    (dict(bound=""), "non-empty expression"),
    (dict(bound="1", metric="time"), "metric must be"),
    (dict(bound="1", eta="1/zeta"), "unknown name"),
    (dict(bound="1", sigma=-1.0), "sigma must be"),
])
def test_bad_conjectures_name_the_problem(kw, needle):
    with pytest.raises(ValueError, match=needle):
        hunter.Conjecture("picky", **kw)


def test_parse_uses_theory_symbols():
    e = hunter.parse("512*beta*F/eps**2 + tau_max + sum_d/T", "bound")
    assert {str(s) for s in e.free_symbols} == {"beta", "F", "epsilon", "tau_max", "sum_d", "T"}

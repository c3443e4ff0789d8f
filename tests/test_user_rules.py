"""Your own rules (verify.algorithms.define): a user rule runs in the reference loop and the compiled
kernel bit for bit, a user copy of Picky SGD is Picky SGD bit for bit, and malformed expressions are
one-line errors naming the symbol.

One module-level set of user rules, so the user kernel compiles once (~20-60 s) for the module."""
from __future__ import annotations

import numpy as np
import pytest

import theory
from verify import algorithms as A
from verify import engine as E
from verify.models import delays as D
from verify.models import problems as P
from verify.models.noise import make_noise

from test_engine import FLOAT_FIELDS, assert_same_run, same_float

# Picky SGD's own defaults (Theorem D's eta and rho), as SymPy, and the accept/step as text
PICKY_DEFAULTS = {p.name: p.default for p in theory.get_rule("picky").parameters}
A.define("my-picky", accept="dist <= rho", step="eta", params=PICKY_DEFAULTS)
# names of this module only: other tests (the README's snippet) define a "picky-2rho" of their own in the same
# process, and a definition replaces an earlier one of the same name
A.define("test-picky-2rho", accept="dist <= 2*rho", step="eta", params=PICKY_DEFAULTS)
# the rules the CLI and hunter tests below define (defined here too, so that the user kernel compiles once)
SPEC_2RHO = "cli-2rho:accept=dist <= 2*rho,step=eta,eta=1/(9*beta),rho=eps/(2*beta)"
A.user.parse_rule_spec(SPEC_2RHO)
A.user.with_accept("picky", "dist <= rho")
A.user.with_accept("picky", "dist <= 2*rho")

CASES = [  # problem, dim, delay spec, T, eps, sigma, noise, whether picky rejects some step
    ("logsum", 10, "pareto:alpha=1.5,scale=3", 2000, 0.1, 0.5, "gaussian", True),
    ("quadratic:spectrum=geometric,mu=0.01,rotate=true", 5, "bursty:m=7", 1500, 0.05, 1.0, "rademacher", False),
    ("chain", 6, "straggler", 1200, 0.1, 0.1, "student_t:df=3", True),
    ("logsum:width=0.5", 3, "constant:tau=3", 800, 0.5, 0.0, "gaussian", True),
]


def _resolve(name, prob, seq, eps, sigma):
    return A.resolve(name, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, delays=seq)


def _same_but_name(a, b):
    """Every field of two run records equal (floats with ==), but the algorithm's name and config."""
    for f in ("seed", "T", "steps_run", "first_hit", "min_grad_norm_step", "accepted", "rejected", "diverged",
              "diverged_step", "engine"):
        assert getattr(a, f) == getattr(b, f), f
    for f in FLOAT_FIELDS + ("min_f",):
        assert same_float(getattr(a, f), getattr(b, f)), f
    assert np.array_equal(a.rejected_steps, b.rejected_steps)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_user_picky_equals_builtin_picky_bit_for_bit(case):
    spec, dim, dspec, T, eps, sigma, noise, rejects = case
    prob, nz = P.make(spec, dim), make_noise(noise)
    seq = D.make(dspec, T, seed=7)
    mine, picky = _resolve("my-picky", prob, seq, eps, sigma), _resolve("picky", prob, seq, eps, sigma)
    assert (mine.eta, mine.rho) == (picky.eta, picky.rho)
    assert A.user.is_user(mine) and not A.user.is_user(picky)
    eng = E.run_batch(prob, seq, [mine, picky, mine], [3, 3, 4], T=T, noise=nz)
    _same_but_name(eng[0], eng[1])
    assert eng[1].accepted > 0 and (eng[1].rejected > 0) == rejects  # where stated, the filter acts
    ref_mine = A.reference_run(prob, seq, mine, seed=3, T=T, noise=nz)
    ref_picky = A.reference_run(prob, seq, picky, seed=3, T=T, noise=nz)
    _same_but_name(ref_mine, ref_picky)
    assert_same_run(ref_mine, eng[0])
    assert_same_run(A.reference_run(prob, seq, mine, seed=4, T=T, noise=nz), eng[2])


def test_user_rule_2rho_kernel_equals_reference_and_differs_from_picky():
    prob, nz = P.make("logsum", 10), make_noise("gaussian")
    T, eps, sigma = 2000, 0.1, 0.5
    seq = D.make("pareto:alpha=1.5,scale=3", T, seed=1)
    two, picky = _resolve("test-picky-2rho", prob, seq, eps, sigma), _resolve("picky", prob, seq, eps, sigma)
    assert two.rho == picky.rho and two.eta == picky.eta
    eng_two, eng_picky = E.run_batch(prob, seq, [two, picky], [5, 5], T=T, noise=nz)
    ref_two = A.reference_run(prob, seq, two, seed=5, T=T, noise=nz)
    assert_same_run(ref_two, eng_two)
    # the precondition: picky rejects some step with rho < dist <= 2 rho (there the rules differ)
    ref_picky = A.reference_run(prob, seq, picky, seed=5, T=T, noise=nz, trace_every=None)
    assert ref_picky.max_accepted_distance <= picky.rho
    assert picky.rho < ref_picky.min_rejected_distance <= 2 * picky.rho or _rejects_between(prob, seq, picky, nz, T)
    # the runs are identical up to the first step where the rules decide differently; there picky rejects
    # (rho < dist <= 2 rho) and the 2-rho rule accepts (its accept set contains picky's)
    r_two, r_picky = set(eng_two.rejected_steps.tolist()), set(eng_picky.rejected_steps.tolist())
    assert r_two != r_picky
    first = min(r_two ^ r_picky)
    assert first in r_picky and first not in r_two


def _rejects_between(prob, seq, picky, nz, T):
    """Some step of picky's run has rho < dist <= 2 rho (recorded by wrapping decide)."""
    seen = []

    class Spy(type(picky)):
        def decide(self, dist, d):
            seen.append(dist)
            return super().decide(dist, d)

    A.reference_run(prob, seq, Spy(**{k: getattr(picky, k) for k in ("eps", "sigma", "beta", "eta", "rho")}),
                    seed=5, T=T, noise=nz)
    return any(picky.rho < x <= 2 * picky.rho for x in seen)


def test_user_rule_decide_and_defaults_by_hand():
    alg = A.resolve("test-picky-2rho", beta=1.0, F=1.0, eps=0.1, sigma=0.0, delays=D.make("constant:tau=2", 10))
    assert alg.rho == 0.05 and alg.source["rho"].startswith("user rule test-picky-2rho")
    assert alg.decide(0.1, 3)[0] and not alg.decide(0.1000001, 3)[0]
    cls = A.define("capped", accept="d_t < R", step="Min(eta, 1/(4*beta*d_t))", params={"R": "3", "eta": "1/(2*beta)"})
    c = cls.resolve(beta=2.0, F=1.0, eps=0.1, sigma=0.0)
    assert (c.R, c.eta) == (3, 0.25)
    assert c.decide(0.0, 2) == (True, 1 / 16) and c.decide(0.0, 3) == (False, 1 / 24)
    with pytest.raises(ValueError, match="parameter 'R' of algorithm 'capped' must be"):
        cls.resolve(beta=2.0, F=1.0, eps=0.1, sigma=0.0, R=0)


@pytest.mark.parametrize("kw, symbol", [
    (dict(accept="dist <= 2*rhoo", step="eta"), "rhoo"),
    (dict(accept="dist <= rho", step="eta + dist"), "dist"),
    (dict(accept="dist <= rho", step="eta", extra={"c": "eps/gamma"}), "gamma"),
    (dict(accept="dist <= rho", step="foo(eta)"), "foo"),
    (dict(accept="dist <= tau_avg", step="eta"), "tau_avg"),
])
def test_malformed_expression_is_one_line_error_naming_the_symbol(kw, symbol):
    params = {"eta": "1/(9*beta)", "rho": "eps/(2*beta)", **kw.pop("extra", {})}
    with pytest.raises(ValueError) as e:
        A.define("bad", params=params, **kw)
    msg = str(e.value)
    assert "\n" not in msg and f"'{symbol}'" in msg and "allowed symbols:" in msg, msg


@pytest.mark.parametrize("kw, text", [
    (dict(accept="dist <=", step="eta"), "not an expression"),
    (dict(accept="rho", step="eta"), "must be a condition"),
    (dict(accept="dist <= rho", step="d_t <= rho"), "must be a number expression"),
])
def test_malformed_shape_is_one_line_error(kw, text):
    with pytest.raises(ValueError, match=text) as e:
        A.define("bad", params={"eta": "1", "rho": "1"}, **kw)
    assert "\n" not in str(e.value)


def test_builtin_name_and_unknown_algorithm():
    with pytest.raises(ValueError, match="built-in"):
        A.define("picky", accept="dist <= rho", step="eta", params={"eta": "1", "rho": "1"})
    with pytest.raises(ValueError, match="my-picky"):  # the error lists the user rules too
        A.resolve("nope", beta=1.0, F=1.0, eps=0.1, sigma=0.0)


# ---- the CLI ----------------------------------------------------------------------------------
def test_cli_simulate_user_rule_runs_the_rule(capsys):
    import json

    from verify.cli import main

    args = ["simulate", "--user-rule", SPEC_2RHO, "--algorithm", "cli-2rho", "--problem", "logsum", "--dim", "10",
            "--delays", "pareto:alpha=1.5,scale=3", "--delay-seed", "1", "--eps", "0.1", "--steps", "2000",
            "--seeds", "2", "--seed0", "5", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    prob = P.make("logsum", 10)
    seq = D.make("pareto:alpha=1.5,scale=3", 2000, seed=1)
    alg = A.resolve("cli-2rho", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0, delays=seq)  # defined by the CLI
    assert (alg.eta, alg.rho) == (1 / 18, 0.025)
    want = E.run_batch(prob, seq, [alg, alg], [5, 6], T=2000)
    got = out["runs"]
    assert [r["algorithm"] for r in got] == ["cli-2rho"] * 2
    assert [(r["first_hit"], r["accepted"], r["rejected"]) for r in got] == \
        [(w.first_hit, w.accepted, w.rejected) for w in want]
    assert want[0].rejected > 0


@pytest.mark.parametrize("spec, text", [
    ("q:accept=dist <= 2*rhoo,step=eta,eta=1,rho=1", "unknown symbol 'rhoo'"),
    ("q:step=eta,eta=1", "missing accept"),
    ("q:accept=dist <= rho,step=eta,eta=1,rho=eps/gamma", "unknown symbol 'gamma'"),
])
def test_cli_user_rule_errors_are_one_line(capsys, spec, text):
    from verify.cli import main

    assert main(["simulate", "--user-rule", spec, "--algorithm", "q", "--delays", "pareto", "--eps", "0.1",
                 "--steps", "100", "--seeds", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("picky simulate: error: --user-rule") and text in err and "\n" not in err, err


# ---- the hunter: --accept --------------------------------------------------------------------
def _evaluate(accept, metric, d, bound):
    from verify.search import hunter

    conj = hunter.Conjecture(algorithm="picky", bound=bound, metric=metric, problem="logsum", dim=10, eps=0.1,
                             accept=accept)
    res, why = hunter._Evaluator(conj)(conj.instances[0], d)
    assert why is None, why
    return conj, res


def test_hunter_accept_runs_the_user_rule():
    d = D.make("pareto:alpha=1.5,scale=3", 3000, seed=1).delays
    conj, same = _evaluate("dist <= rho", "rejections", d, "sqrt(2*B*sum_d)")
    _, plain = _evaluate(None, "rejections", d, "sqrt(2*B*sum_d)")
    assert conj.rule_name.startswith("picky-accept-") and A.user.is_user(A.USER_RULES[conj.rule_name])
    assert same == plain and plain["rejections"] > 0  # Picky's own test, as a user rule: the same run
    conj2, two = _evaluate("dist <= 2*rho", "rejections", d, "sqrt(2*B*sum_d)")
    assert "accept iff dist <= 2*rho" in conj2.statement()
    # an oracle: the reference loop of the independently defined picky-2rho, up to its first hit
    prob = P.make("logsum", 10)
    seq = D.from_trace(d)
    alg = _resolve("test-picky-2rho", prob, seq, 0.1, 0.0)
    ref = A.reference_run(prob, seq, alg, seed=0, T=d.size, stop_at_hit=True)
    assert ref.first_hit == two["first_hit"] and two["first_hit"] is not None
    assert two["rejections"] == int(np.count_nonzero(ref.rejected_steps < ref.first_hit))
    assert two["rejections"] != plain["rejections"]


def test_cli_hunt_accept_error_is_one_line(capsys):
    from verify.cli import main

    assert main(["hunt", "--algorithm", "picky", "--accept", "dist <= 10*rhoo", "--bound", "64*beta*F/eps**2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("picky hunt: error: accept:") and "unknown symbol 'rhoo'" in err and "\n" not in err, err


# ---- sweeps: [rules.NAME] ---------------------------------------------------------------------
def _sweep(rules):
    return {"sweep": {"algorithms": ["picky", "cli-2rho"], "delays": "pareto:alpha=1.5,scale=3", "delay_seed": 1,
                      "eps": 0.1, "steps": 1500, "seeds": 2}, **({"rules": rules} if rules is not None else {})}


def test_sweep_rules_table_runs_the_rule():
    from verify.runtime import simulation
    from verify.runtime.sweeps import spec

    rules = {"cli-2rho": {"accept": "dist <= 2*rho", "step": "eta", "params": {"eta": "1/(9*beta)",
                                                                                 "rho": "eps/(2*beta)"}}}
    (cell,) = spec.from_dict(_sweep(rules)).cells
    assert cell.params["user_rule"] == [SPEC_2RHO]
    (plain,) = spec.from_dict(_sweep(None)).cells
    assert "user_rule" not in plain.params and plain.key != cell.key  # sweeps without rules keep their keys
    lanes = simulation.build(dict(cell.params))
    got = simulation.execute(lanes, False)
    prob = P.make("logsum", 10)
    seq = D.make("pareto:alpha=1.5,scale=3", 1500, seed=1)
    alg = A.resolve("cli-2rho", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0, delays=seq)
    want = E.run_batch(prob, seq, [alg, alg], [0, 1], T=1500)
    mine = [r for r in got if r.algorithm == "cli-2rho"]
    assert len(mine) == 2
    for g, w in zip(mine, want):
        _same_but_name(g, w)
        assert (g.algorithm, g.config, g.seed) == (w.algorithm, w.config, w.seed)


@pytest.mark.parametrize("rules, text", [
    ({"q": {"accept": "dist <= 2*rhoo", "step": "eta", "params": {"rho": "1"}}}, "unknown symbol 'rhoo'"),
    ({"q": {"step": "eta"}}, "needs accept"),
    ({"q": {"accept": "True", "step": "eta", "eta": "1"}}, "unknown key(s) 'eta'"),
])
def test_sweep_rules_errors_are_one_line(rules, text):
    from verify.runtime.sweeps import spec

    with pytest.raises(ValueError) as e:
        spec.from_dict(_sweep(rules))
    msg = str(e.value)
    assert msg.startswith("sweep file: [rules.q]") and text in msg and "\n" not in msg, msg


def test_redefinition_replaces_the_rule_and_old_objects_refuse_to_run():
    try:
        old = A.define("redef", accept="dist <= rho", step="eta", params={"eta": "1", "rho": "1"})
        assert A.define("redef", accept="dist <= rho", step="eta", params={"eta": "1", "rho": "1"}) is old
        a = old.resolve(beta=1.0, F=1.0, eps=0.1, sigma=0.0)
        assert a.code == len(A.RULE_IDS) + list(A.USER_RULES).index("redef")
        new = A.define("redef", accept="dist < rho", step="eta", params={"eta": "1", "rho": "1"})
        assert new is not old and A.USER_RULES["redef"] is new
        assert not new.resolve(beta=1.0, F=1.0, eps=0.1, sigma=0.0).decide(1.0, 1)[0] and a.decide(1.0, 1)[0]
        with pytest.raises(ValueError, match="redefined"):
            a.code
    finally:  # the registry as it was (the module's kernel keeps its key)
        A.USER_RULES.pop("redef", None)

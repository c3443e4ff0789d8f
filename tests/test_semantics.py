"""The model's semantics, pinned against loops written here by hand (plain numpy, not the package's
compiled functions): which noise row each step consumes, ties at the threshold, what tau_avg in a
record averages over, the defaults from theory. The engine and the reference are both held to them.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P
from verify.models.noise import make_noise

ENGINES = {
    "numba": lambda prob, seq, alg, seed, **kw: E.run_batch(prob, seq, alg, [seed], **kw)[0],
    "reference": lambda prob, seq, alg, seed, **kw: A.reference_run(prob, seq, alg, seed=seed, **kw),
}


def hand_picky(x1, grad, delays, eta, rho, sigma, seed, T):
    """Algorithm 1 on f with gradient ``grad``, by hand: every iterate kept, the noise row of step t
    is row t of numpy's own ``default_rng(seed).standard_normal((T, d)) / sqrt(d)`` (drawn whether
    the step is accepted or not). Returns (iterates x_1..x_{T+1}, rejected steps)."""
    d = x1.size
    Z = np.random.default_rng(seed).standard_normal((T, d)) / math.sqrt(d) if sigma else np.zeros((T, d))
    xs = [np.array(x1, dtype=float)]
    rejected = []
    for t in range(1, T + 1):
        x, y = xs[-1], xs[t - 1 - delays[t - 1]]
        if np.linalg.norm(x - y) <= rho:
            xs.append(x - eta * (grad(y) + sigma * Z[t - 1]))
        else:
            xs.append(x.copy())
            rejected.append(t)
    return xs, rejected


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_noise_row_t_is_consumed_by_step_t_also_when_rejected(engine):
    # f = ||x||^2 / 2 (grad = x), a sequence with many rejections, sigma > 0
    prob = P.make("quadratic:spectrum=constant,L=1,scale=1", 4)
    T = 300
    seq = D.make("bursty:m=9", T)
    alg = A.resolve("picky", beta=1.0, F=prob.F, eps=1e-9, sigma=0.5, eta=0.05, rho=0.03)
    xs, rej = hand_picky(prob.x1, lambda x: x, seq.delays, 0.05, 0.03, 0.5, seed=11, T=T)
    assert 20 < len(rej) < T - 20  # both kinds of steps occur
    run = ENGINES[engine](prob, seq, alg, 11, trace_every=1)
    assert run.rejected_steps.tolist() == rej  # identical decisions at every step
    want = np.array([np.linalg.norm(x) for x in xs[:T]])  # ||grad f(x_t)|| = ||x_t||
    np.testing.assert_allclose(run.trace_grad_norm, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(run.final_grad_norm, np.linalg.norm(xs[T]), rtol=1e-12)
    # the other convention (noise drawn only on accepted steps) gives a different run: the pin bites
    rng, alt = np.random.default_rng(11), [np.array(prob.x1, dtype=float)]
    for t in range(1, T + 1):
        x, y = alt[-1], alt[t - 1 - seq.delays[t - 1]]
        ok = np.linalg.norm(x - y) <= 0.03
        alt.append(x - 0.05 * (y + 0.5 * rng.standard_normal(4) / 2.0) if ok else x.copy())
    assert abs(np.linalg.norm(alt[T]) - run.final_grad_norm) > 1e-6


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_distance_exactly_equal_to_rho_is_accepted(engine):
    # 1-d, f = x^2/2, x_1 = 1, eta = 1/2: x_2 = 1/2 exactly; at step 2 (d_2 = 1) the distance
    # |x_2 - x_1| = 1/2 exactly. With rho = 1/2 the test "<=" accepts; one ulp less rejects.
    prob = P.make("quadratic:spectrum=constant,L=1", 1, x1=np.array([1.0]))
    seq = D.from_trace(np.array([0, 1, 0, 0]))
    for rho, rejected in ((0.5, []), (float(np.nextafter(0.5, 0.0)), [2])):
        alg = A.resolve("picky", beta=1.0, F=prob.F, eps=1e-9, sigma=0.0, eta=0.5, rho=rho)
        run = ENGINES[engine](prob, seq, alg, 0)
        assert run.rejected_steps.tolist() == rejected, rho
        # by hand: accepted at step 2 -> x_3 = 1/2 - 1/2 * grad f(x_1) = 0
        x3 = 0.5 - 0.5 * 1.0 if not rejected else 0.5
        x5 = x3 * 0.25  # two more undelayed steps halve it twice
        assert run.final_grad_norm == abs(x5)
    assert A.resolve("picky", beta=1.0, F=1.0, eps=1.0, sigma=0.0, rho=0.5).accepts(0.5, 7)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_gradient_norm_exactly_equal_to_eps_is_a_hit(engine):
    # 1-d, f = x^2/2, x_1 = 1, eta = 1/2, no delays: ||grad f(x_t)|| = 2^-(t-1) exactly. With eps = 1/4
    # the first hit is t = 3 (a tie: success is ||grad f|| <= eps); with eps one ulp below 1/4 it is t = 4.
    prob = P.make("quadratic:spectrum=constant,L=1", 1, x1=np.array([1.0]))
    seq = D.from_trace(np.zeros(6, dtype=np.int64))
    for eps, hit in ((0.25, 3), (float(np.nextafter(0.25, 0.0)), 4)):
        alg = A.resolve("picky", beta=1.0, F=prob.F, eps=eps, sigma=0.0, eta=0.5, rho=1.0)
        run = ENGINES[engine](prob, seq, alg, 0)
        assert run.first_hit == hit, eps


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_stale_drop_rejects_a_delay_equal_to_R(engine):
    # Stale-drop's rule is "accept iff d_t < R": with R = 3 and the constant delay 3, steps 1..3
    # (d_t = 0, 1, 2) are accepted and every later step (d_t = 3) is rejected.
    prob = P.make("logsum", 2)
    seq = D.make("constant:tau=3", 40)
    alg = A.resolve("stale-drop", beta=prob.beta, F=prob.F, eps=1e-6, sigma=0.0, R=3)
    assert alg.accepts(0.0, 2) and not alg.accepts(0.0, 3)
    run = ENGINES[engine](prob, seq, alg, 0)
    assert run.accepted == 3 and run.rejected_steps.tolist() == list(range(4, 41))


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_tau_avg_in_a_record_is_over_the_steps_run(engine):
    prob = P.make("logsum", 3)
    seq = D.make("pareto:alpha=1.5,scale=3", 5000, seed=2)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.5, sigma=0.0)
    run = ENGINES[engine](prob, seq, alg, 0, stop_at_hit=True)
    n = run.steps_run
    assert 0 < n < 5000 and run.first_hit == n + 1  # stopped at the hit
    d = seq.delays[:n]
    assert run.delay_stats["T"] == n
    assert run.delay_stats["tau_avg"] == int(d.sum()) / n and run.delay_stats["tau_max"] == int(d.max())
    assert run.delay_stats["tau_avg"] != seq.stats().tau_avg  # the whole sequence's is different


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_sgd_sees_no_delays_whatever_the_sequence_says(engine):
    prob = P.make("logsum", 2)
    seq = D.make("constant:tau=7", 100)
    alg = A.resolve("sgd", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0)
    run = ENGINES[engine](prob, seq, alg, 0, trace_every=1)
    x = np.array(prob.x1)
    for t in range(100):  # plain gradient descent
        assert run.trace_grad_norm[t] == pytest.approx(np.linalg.norm(2 * x / (1 + x * x)), rel=1e-12)
        x = x - alg.eta * (2 * x / (1 + x * x))
    assert run.delay_stats["tau_max"] == 0


def test_default_steps_are_theorys():
    prob = P.make("logsum", 10)
    seq = D.make("pareto:alpha=1.5,scale=3", 20_000, seed=0)
    kw = dict(beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0)
    tm = int(seq.delays.max())
    assert tm > 1000
    dsgd = A.resolve("delayed-sgd", delays=seq, **kw)
    assert dsgd.eta == theory.step_size("delayed-sgd", beta=2.0, sigma=1.0, eps=0.1, tau_max=float(tm))
    assert dsgd.eta == 1 / (2.0 * max(9 * (1 + tm), 4 / 0.1**2, 16 / 0.1))  # by hand: 1/(beta max{...})
    picky = A.resolve("picky", delays=seq, **kw)
    assert picky.eta == theory.step_size("picky-explicit", beta=2.0, sigma=1.0, eps=0.1) == 1 / (2.0 * max(9, 4 / 0.1**2, 16 / 0.1))
    assert picky.rho == 0.1 / 4
    sd = A.resolve("stale-drop", delays=seq, **kw)
    assert sd.R == math.ceil(2 * seq.delays.mean()) + 1
    assert sd.eta == theory.step_size("delayed-sgd", beta=2.0, sigma=1.0, eps=0.1, tau_max=float(sd.R - 1))
    da = A.resolve("delay-adaptive", delays=seq, **kw)
    # tau_C: the sequence's maximum concurrency (KSJ Definition 1), by a literal count (not the package's
    # cumulative sum): the gradient applied at u is in flight at every step s_u = u - d_u .. u
    in_flight = np.zeros(len(seq) + 1, dtype=np.int64)
    for u, du in enumerate(seq.delays.tolist(), start=1):
        in_flight[u - du:u + 1] += 1
    assert da.tau_C == in_flight.max() > math.ceil(seq.delays.mean()) and da.rule == "ksj"
    assert da.eta == 1 / (2.0 * max(4 * da.tau_C, 4 / 0.1**2, 16 / 0.1))  # by hand: the noise cap 400 wins
    assert da.step(int(da.tau_C)) == da.eta and da.step(1000) == min(da.eta, 1 / (4 * 2.0 * 1000))
    mish = A.resolve("delay-adaptive", delays=seq, rule="mishchenko", **kw)
    assert mish.step(1000) == mish.eta * mish.tau_C / 1000


def test_rules_compile_from_theory():
    """Each algorithm's decide() is theory's SymPy rule, evaluated: compare with sympy.subs."""
    import sympy as sp
    from theory import rules as TR

    prob = P.make("logsum", 3)
    seq = D.make("bimodal:p=0.2,D=30", 500, seed=1)
    for name in A.ALGORITHMS:
        for extra in ([{}, {"rule": "mishchenko"}] if name == "delay-adaptive" else [{}]):
            alg = A.resolve(name, beta=prob.beta, F=prob.F, eps=0.3, sigma=0.2, delays=seq, **extra)
            rule = alg.update_rule
            env = {s: getattr(alg, s.name) for s in rule.inputs}
            for dist in (0.0, 0.01, float(getattr(alg, "rho", 0.5)), 0.5, 3.0):
                for dd in (0, 1, 5, 29, 30, 31):
                    a = bool(sp.sympify(rule.accept).subs({**env, TR.dist: dist, TR.d: dd}))
                    e = float(sp.sympify(rule.step).subs({**env, TR.d: dd}))
                    got = alg.decide(dist, dd)
                    assert got[0] == a and got[1] == pytest.approx(e, rel=1e-15), (name, dist, dd)


def test_noise_streams_are_numpys_own():
    """The compiled noise rows draw from the lane's Generator exactly as numpy does (numba shares
    the generator state): bit-identical to numpy's own standard_normal / random / standard_t."""
    for seed in range(4):
        g = make_noise("gaussian").sample(np.random.default_rng(seed), 500, 7)
        assert np.array_equal(g, np.random.default_rng(seed).standard_normal((500, 7)) * (1 / math.sqrt(7)))
        r = make_noise("rademacher").sample(np.random.default_rng(seed), 500, 7)
        u = np.random.default_rng(seed).random((500, 7))
        assert np.array_equal(r, np.where(u >= 0.5, 1.0, -1.0) * (1 / math.sqrt(7)))
        t = make_noise("student_t:df=3").sample(np.random.default_rng(seed), 500, 7)
        w = np.random.default_rng(seed).standard_t(3.0, (500, 7)) * (math.sqrt(1 / 3) / math.sqrt(7))
        assert np.array_equal(t, w)
    rng = np.random.default_rng(5)
    make_noise("gaussian").sample(rng, 10, 3)  # the Python generator object advanced with it
    assert rng.standard_normal() == np.random.default_rng(5).standard_normal(31)[30]


def test_delay_adaptive_base_step_is_one_over_four_beta_tau_c():
    """The delay-adaptive default eta = min{1/(4 beta tau_C), eps^2/(4 beta sigma^2), eps/(16 beta sigma)}
    (theory delay-adaptive step_size; the 1/tau_C is ours, see the next test), by hand."""
    prob = P.make("quadratic", 3)
    seq = D.make("constant:tau=16", 2000)
    da = A.resolve("delay-adaptive", beta=prob.beta, F=prob.F, eps=0.05, sigma=0.0, delays=seq)
    # tau_C = the maximum concurrency, by hand: with d_u = 16 for u > 16, the gradients in flight at a step
    # t >= 17 are those applied at u = t..t+16 (computed at u - 16 <= t): 17 of them (17 busy workers)
    assert da.tau_C == 17
    assert da.eta == 1 / (4 * prob.beta * 17)
    user = A.resolve("delay-adaptive", beta=prob.beta, F=prob.F, eps=0.05, sigma=0.0, delays=seq, tau_C=8)
    assert user.eta == 1 / (4 * prob.beta * 8)  # a tau_C given by the user sets eta's default too
    noisy = A.resolve("delay-adaptive", beta=2.0, F=1.0, eps=0.1, sigma=1.0, delays=seq)
    assert noisy.eta == 1 / (2.0 * max(4 * 17, 4 / 0.1**2, 16 / 0.1))


def test_delay_adaptive_base_step_is_below_delayed_gds_stability_limit():
    """Why 1/(4 beta tau_C) and not KSJ's cap 1/(4 beta) alone: every delay d_t <= tau_C keeps the base
    step, and delayed GD with constant delay tau on f = beta x^2/2 is stable iff eta beta < 2 sin(pi/(2(2 tau
    + 1))) (characteristic roots; written here by hand). 1/4 crosses that limit at tau = 6; 1/(4 tau) never."""
    limit = [2 * math.sin(math.pi / (2 * (2 * tau + 1))) for tau in range(0, 501)]
    assert all(1 / (4 * max(1, tau)) < limit[tau] for tau in range(0, 501))
    assert [tau for tau in range(0, 501) if 0.25 >= limit[tau]][0] == 6
    # the same limit from the characteristic polynomial z^(tau+1) - z^tau + a = 0 (numpy's roots)
    for tau in (5, 6, 16):
        coeffs = np.zeros(tau + 2)
        coeffs[0], coeffs[1], coeffs[-1] = 1.0, -1.0, 0.25
        assert (np.abs(np.roots(coeffs)).max() > 1) == (tau >= 6)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("rule", ["ksj", "mishchenko"])
def test_delay_adaptive_default_converges_on_a_constant_delay(engine, rule):
    """Noiseless, deterministic: on the quadratic with constant delay 16 the delay-adaptive default reaches
    eps and never diverges (with eta = 1/(4 beta) every lane diverged near step 686)."""
    prob = P.make("quadratic", 10)
    seq = D.make("constant:tau=16", 20_000)
    da = A.resolve("delay-adaptive", beta=prob.beta, F=prob.F, eps=0.05, sigma=0.0, delays=seq, rule=rule)
    run = ENGINES[engine](prob, seq, da, 0)
    assert not run.diverged
    assert run.first_hit is not None and run.first_hit < 20_000

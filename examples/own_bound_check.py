"""A bound check of your own: state a bound, run Picky SGD and delayed SGD on many seeds, and test the
bound with an exact binomial test at a stated false-alarm rate.

    python examples/own_bound_check.py              # 200 seeds, a few seconds (after the kernel compiled)
    python examples/own_bound_check.py --seeds 40   # fewer seeds (the test suite)

The bound (our conjecture, to be tested; not a theorem of the paper): on f(x) = sum_i log(1 + x_i^2)
(d = 10, x_1 = 3: beta = 2, F = 10 log 10, exact) with one Pareto(1.5) delay sequence, Gaussian noise
sigma = 0.5 and eps = 0.3, an algorithm reaches ||grad f(x_t)|| <= eps within

    T = C beta F (sigma^2/eps^4 + (1 + tau_avg)/eps^2),   C = 4

steps (Theorem 1's rate in the *average* delay, with a guessed constant) with probability at least
p0 = 1/2. Per algorithm: k of n seeds hit by T; H0 "P(hit by T) >= p0" is rejected when the one-sided
exact binomial p-value P(Bin(n, p0) <= k) is below alpha = 0.01 (scipy.stats.binomtest). Two tests:
the chance of a false rejection is at most 2 alpha = 0.02.
"""
from __future__ import annotations

import argparse
import math

from scipy import stats

from verify import algorithms, engine
from verify.models import delays, problems
from verify.models.noise import make_noise

C, EPS, SIGMA, P0, ALPHA = 4.0, 0.3, 0.5, 0.5, 0.01


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200, help="independent noise seeds per algorithm (default 200)")
    n = ap.parse_args().seeds

    prob = problems.make("logsum", 10)                  # beta = 2, F = 10 log 10
    seq = delays.make("pareto:alpha=1.5,scale=3", 100_000, seed=1)  # oblivious: fixed before the runs
    tau_avg = seq.stats().tau_avg                       # over the whole sequence (an upper bound would do too)
    T = math.ceil(C * prob.beta * prob.F * (SIGMA**2 / EPS**4 + (1 + tau_avg) / EPS**2))
    print(f"instance: logsum d=10 (beta={prob.beta:g}, F={prob.F:.6g}), sigma={SIGMA}, eps={EPS}, "
          f"delays pareto:alpha=1.5,scale=3 (tau_avg={tau_avg:.4f}, tau_max={seq.stats().tau_max})")
    print(f"bound: T = {C:g} beta F (sigma^2/eps^4 + (1 + tau_avg)/eps^2) = {T} steps, P(hit by T) >= {P0}")
    print(f"test: exact one-sided binomial test, {n} seeds per algorithm, alpha = {ALPHA}")

    for name in ("picky", "delayed-sgd"):
        # each algorithm with its default parameters from theory (delayed SGD's step uses tau_max)
        alg = algorithms.resolve(name, beta=prob.beta, F=prob.F, eps=EPS, sigma=SIGMA, delays=seq)
        runs = engine.run_batch(prob, seq, alg, seeds=range(n), T=T, noise=make_noise("gaussian"),
                                stop_at_hit=True, record_rejections=False)
        k = sum(r.first_hit is not None for r in runs)
        p = stats.binomtest(k, n, P0, alternative="less").pvalue
        verdict = "REJECTED" if p < ALPHA else "not rejected"
        print(f"{name:12s} hit by T in {k:3d}/{n} seeds  p-value {p:.3g}  -> bound {verdict}")


if __name__ == "__main__":
    main()

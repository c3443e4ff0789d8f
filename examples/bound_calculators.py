"""Theory's bound calculators: steps, accuracy, step size, threshold, a comparison of every result,
and the first horizon of Theorem D' on real delay sequences.

    python examples/bound_calculators.py            # about 3 s
    python examples/bound_calculators.py --small    # shorter delay sequences (the test suite)

Every number comes from the SymPy statements of theory/results.py (lambdified); nothing is retyped.
The constants 512, 128 and 8960 of Theorem D/D' are derived in this package, not the paper's.
"""
from __future__ import annotations

import argparse

import theory
from verify.models import delays, traces

# One instance: smoothness beta, initial gap F = f(x_1) - inf f, noise sigma, target ||grad f|| <= eps.
P = dict(beta=2.0, F=3.0, sigma=1.0)
EPS, TAU_AVG, TAU_MAX = 0.5, 1.0, 100.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="shorter delay sequences (for the tests)")
    T_seq = 100_000 if ap.parse_args().small else 400_000

    # 1. Steps T that Theorem D asks for: 2048 bF/e^2 + 128 bF s^2/e^4 + 8960 bF tau_avg/e^2
    #    = 49152 + 12288 + 215040 = 276480 at beta F = 6, eps = 0.5, sigma = 1, tau_avg = 1.
    T = theory.iterations("picky-explicit", eps=EPS, tau_avg=TAU_AVG, **P)
    print(f"steps (Theorem D, tau_avg={TAU_AVG:g}): {T:.0f}")
    # 2. Its inverse: the accuracy guaranteed after T steps (back to eps = 0.5), and after 10 T.
    print(f"accuracy after {T:.0f} steps: {theory.accuracy('picky-explicit', T=T, tau_avg=TAU_AVG, **P):.6g}")
    print(f"accuracy after {10 * T:.0f} steps: {theory.accuracy('picky-explicit', T=10 * T, tau_avg=TAU_AVG, **P):.6g}")
    # 3. Algorithm 1's step size 1/(beta max{9, 4 s^2/e^2, 16 s/e}) = 1/(2 * 32) and threshold e/(2 beta).
    eta = theory.step_size("picky-explicit", beta=P["beta"], sigma=P["sigma"], eps=EPS)
    rho = theory.threshold("picky-explicit", beta=P["beta"], eps=EPS)
    print(f"step size eta = {eta:g} (1/{1 / eta:g}), threshold rho = {rho:g}")

    # 4. Every iteration bound for this parameter set (what `picky bounds` prints): a small table.
    print(f"\n{'result':22s} {'status':16s} {'steps':>12s}")
    for row in theory.compare(eps=EPS, tau_avg=TAU_AVG, tau_max=TAU_MAX, **P):
        steps = "-" if row["steps"] is None else f"{row['steps']:.0f}"
        print(f"{row['id']:22s} {row['status']:16s} {steps:>12s}")
    ratio = theory.crossover_ratio(eps=EPS, tau_avg=TAU_AVG, **P)
    print(f"rate forms (C = 1): Picky's bound is below delayed SGD's once tau_max/tau_avg >= {ratio:g}")

    # 5. Theorem D' on a delay sequence: the first T at which its condition on (T, d_1..d_T) holds. A
    #    DelaySequence (what verify.models.delays.make returns) or a plain integer array both work. Here on a
    #    noiseless instance Q (beta = 1, F = 1/2, sigma = 0, eps = 1/2): T >= 512 bF/e^2 = 1024 and
    #    S_T = d_1 + ... + d_T <= e^2 T^2/(8960 bF) = T^2/17920. Constant delay 5 (d_t = min(t-1, 5),
    #    S_T = 5T - 15): T^2 - 89600 T + 268800 >= 0, i.e. T >= 89597.
    Q = dict(beta=1.0, F=0.5, sigma=0.0, eps=0.5)
    print(f"\nTheorem D' first horizon at {Q}:")
    print(f"{'delay sequence':34s} {'tau_avg':>8s} {'tau_max':>8s} {'first horizon':>14s}")
    seqs = {"constant:tau=5": delays.make("constant:tau=5", T_seq),
            "pareto:alpha=1.5,scale=3": delays.make("pareto:alpha=1.5,scale=3", T_seq, seed=0),
            **{f"recorded trace {k}": s for k, s in traces.async_traces().items()}}
    for name, seq in seqs.items():
        st = seq.stats()
        t0 = theory.first_horizon(seq, **Q)
        print(f"{name:34s} {st.tau_avg:8.3f} {st.tau_max:8d} {'never within ' + str(len(seq)) if t0 is None else t0:>14}")


if __name__ == "__main__":
    main()

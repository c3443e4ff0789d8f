"""Your own rules (issue 22): what a user rule costs in the compiled engine.

Prints (a) the time to define a rule and the first ``run_batch`` with it in this process (the user
kernel's compilation; not cached on disk), (b) lane-steps/s of the same run with the built-in
``picky`` (the disk-cached kernel) and with a user rule equal to Picky SGD (the recompiled kernel),
interleaved, best of ``--reps``, and whether their runs agree bit for bit.

    PYTHONPATH=. python benchmarks/bench_user_rules.py [--steps 100000] [--lanes 64] [--reps 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--lanes", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()

    import theory
    from verify import algorithms as A
    from verify import engine as E
    from verify.models import delays as D
    from verify.models import problems as P

    prob = P.make("logsum", 10)
    seq = D.make("pareto:alpha=1.5,scale=3", a.steps, seed=0)
    picky = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0, delays=seq)
    E.run_batch(prob, seq, picky, [0], T=100)  # the built-in kernel loaded (disk cache)

    t0 = time.perf_counter()
    A.define("bench-picky", accept="dist <= rho", step="eta",
             params={p.name: p.default for p in theory.get_rule("picky").parameters})
    mine = A.resolve("bench-picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0, delays=seq)
    t1 = time.perf_counter()
    E.run_batch(prob, seq, mine, [0], T=100)
    t2 = time.perf_counter()
    print(f"(a) define + resolve: {t1 - t0:.2f} s; first run_batch with the user rule (compiles the kernel): "
          f"{t2 - t1:.1f} s")

    seeds = list(range(a.lanes))
    best = {"built-in picky": np.inf, "user rule = picky": np.inf}
    runs = {}
    for _ in range(a.reps):
        for name, alg in (("built-in picky", picky), ("user rule = picky", mine)):
            t = time.perf_counter()
            runs[name] = E.run_batch(prob, seq, alg, seeds, T=a.steps)
            best[name] = min(best[name], time.perf_counter() - t)
    for name, s in best.items():
        print(f"(b) {name:18s} {a.lanes * a.steps / s:,.0f} lane-steps/s (best of {a.reps}: {s:.3f} s; "
              f"d = 10, {a.lanes} lanes, T = {a.steps:,}, sigma = 1)")
    print(f"    ratio user/built-in time: {best['user rule = picky'] / best['built-in picky']:.3f}")
    same = all(r.first_hit == q.first_hit and r.accepted == q.accepted and r.final_grad_norm == q.final_grad_norm
               and np.array_equal(r.rejected_steps, q.rejected_steps)
               for r, q in zip(runs["built-in picky"], runs["user rule = picky"]))
    print(f"    runs bit for bit equal (first hit, accepted, final ||grad||, rejected steps): {same}")


if __name__ == "__main__":
    main()

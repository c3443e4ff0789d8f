"""The hunter's power on the README's false example: hit rate over seeds at a fixed budget.

    python benchmarks/bench_hunter.py [--budget 300] [--seeds 8]

The conjecture: delayed SGD with a step scaled to the average delay, eta = 1/(9 beta (1 + tau_avg)),
reaches eps within 64 beta F (1 + tau_avg)/eps^2 steps on every delay sequence (false: the stable
step scales with tau_max). For each seed 0..N-1 it runs ``picky hunt`` twice -- as shipped (the
family examples first, then the generated search) and with the generated search alone
(``examples=False``) -- and prints whether a counterexample was found, after how many sequences
and how long, and the counterexample. Measured numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import time

from verify.search import hunter

ETA = "1/(9*beta*(1+tau_avg))"
BOUND = "64*beta*F*(1+tau_avg)/eps**2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--only", choices=("shipped", "generated"), default=None)
    args = ap.parse_args()
    conj = hunter.Conjecture("delayed-sgd", BOUND, eta=ETA)
    modes = [m for m in ("shipped", "generated") if args.only in (None, m)]
    for mode in modes:
        hits = 0
        for seed in range(args.seeds):
            t = time.perf_counter()
            out = hunter.hunt(conj, budget=args.budget, seed=seed, examples=mode == "shipped")
            hits += out.found
            what = f"{out.program.describe()} on {out.instance.spec}" if out.found else "-"
            print(f"{mode:9s} seed {seed}: found={out.found!s:5s} sequences={out.examples:4d} "
                  f"seconds={time.perf_counter() - t:6.1f}  {what}", flush=True)
        print(f"{mode}: found at {hits} of {args.seeds} seeds (budget {args.budget})", flush=True)


if __name__ == "__main__":
    main()

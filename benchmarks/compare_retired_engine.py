"""The compiled kernel against the retired numpy batched engine (commit 6b18a01), case by case.

    git worktree add /tmp/old 6b18a01
    python benchmarks/compare_retired_engine.py /tmp/old          # this checkout vs the old one

Each case runs in a fresh process per checkout (both packages are called ``verify``), alternating
old / new, and prints lane-steps/s, best of ``--reps`` after a warm-up: (a) logsum d = 10, sigma = 1,
T = 1e5, Pareto(1.5) x 3 delays, one shared sequence (256 lanes) and one sequence per lane (32 lanes:
the old engine falls back to one batch per sequence); (b) quadratic d = 1000, 256 lanes, T = 2000,
sigma = 0 and 1. Picky SGD with theory's defaults, eps = 0.1, no rejection records.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

CASE = r'''
import inspect, sys, time
root, case, L, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, root)
from verify import algorithms as A, engine as E
from verify.models import delays as D, problems as P
from verify.models.noise import make_noise

spec = "pareto:alpha=1.5,scale=3"
if case.startswith("a"):
    prob, T, sigma = P.make("logsum", 10), 100_000, 1.0
else:
    prob, T, sigma = P.make("quadratic", 1000), 2000, (0.0 if case == "b-sigma0" else 1.0)
per_lane = case == "a-per-lane"
seqs = [D.make(spec, T, seed=s) for s in range(L)] if per_lane else D.make(spec, T, seed=0)
alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=sigma, delays=seqs[0] if per_lane else seqs)
kw = dict(noise=make_noise("gaussian"))
if "record_rejections" in inspect.signature(E.run_batch).parameters:
    kw["record_rejections"] = False
E.run_batch(prob, seqs, [alg] * L, list(range(L)), **kw)  # warm-up (compilation)
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    E.run_batch(prob, seqs, [alg] * L, list(range(L)), **kw)
    best = min(best, time.perf_counter() - t0)
print(L * T / best)
'''

CASES = (("a-shared", 256), ("a-per-lane", 32), ("b-sigma0", 256), ("b-sigma1", 256))


def measure(root: Path, case: str, lanes: int, reps: int) -> float:
    out = subprocess.run([sys.executable, "-c", CASE, str(root), case, str(lanes), str(reps)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path, help="a checkout of the retired engine (commit 6b18a01)")
    ap.add_argument("--reps", type=int, default=2, help="timed repetitions per case (best is kept)")
    args = ap.parse_args()
    new = Path(__file__).resolve().parents[1]
    print(f"{'case':12s} {'lanes':>5s} {'old numpy engine':>18s} {'compiled kernel':>16s} {'kernel/old':>10s}")
    for case, lanes in CASES:
        old_r = measure(args.old, case, lanes, args.reps)
        new_r = measure(new, case, lanes, args.reps)
        print(f"{case:12s} {lanes:5d} {old_r:18.3e} {new_r:16.3e} {new_r / old_r:9.1f}x", flush=True)


if __name__ == "__main__":
    main()

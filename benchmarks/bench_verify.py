"""``picky verify`` on each executor: wall time of the claims registry, against one process.

    python benchmarks/bench_verify.py [--profile quick] [--workers 2]

Runs every claim of the registry (``verify.claims.run``) in this process (what ``picky verify`` does by
default, and what a user would run), then with the independent claims on local processes and on a Dask
LocalCluster with ``--workers`` workers (started inside the timing). The numba cache is warmed first by
a ``test``-profile run. Prints seconds, the ratio to the in-process run, the slowest claim (the
critical path of the distributed runs: claims 3, 4, 9 run after it, in the caller), and checks that
the verdicts agree.
"""
from __future__ import annotations

import argparse
import time

from verify import claims
from verify.runtime.executors import Executor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=("test", "quick", "full"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    claims.run(None, "test")  # warm the numba cache and the imports
    rows = []
    verdicts = {}
    for name, ex in (("this process", None), (f"local processes x{args.workers}", Executor("processes", args.workers)),
                     (f"LocalCluster x{args.workers}", Executor("local-cluster", args.workers))):
        t0 = time.perf_counter()
        ev = claims.run(None, args.profile, executor=ex)
        secs = time.perf_counter() - t0
        verdicts[name] = [e.verdict for e in ev]
        slowest = max((e for e in ev if e.claim not in claims.DEPENDENT), key=lambda e: e.seconds)
        rows.append((name, secs, slowest.claim, slowest.seconds))
        print(f"{name:24s} {secs:7.1f} s   slowest independent claim: {slowest.claim} {slowest.seconds:.1f} s", flush=True)
    base = rows[0][1]
    print(f"\nprofile {args.profile}: ratio to one process: " + ", ".join(f"{n} {s / base:.2f}x" for n, s, *_ in rows))
    same = len({tuple(v) for v in verdicts.values()}) == 1
    print(f"verdicts identical on every executor: {same}")


if __name__ == "__main__":
    main()

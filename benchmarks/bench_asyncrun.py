"""Server steps per second of ``picky async-run`` for N = 2, 4, 8 Dask workers, and the realised delays.

    python benchmarks/bench_asyncrun.py [--steps 400] [--base-seconds 0.002] [--workers 2 4 8] [--speeds M ...]

Each run: picky on logsum R^10, sigma = 0.5 (each worker draws its task's noise), each speed model
(the fastest worker's compute time is the base; default: uniform, lognormal, pareto, a 20x straggler),
a LocalCluster started outside the timing. Prints steps/s (server steps over wall-clock time of the run),
the realised tau_avg and tau_max, and the mean compute time per task for comparison: a server step costs
the Dask round trip plus the compute time of the gradient that arrives.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--base-seconds", type=float, default=0.002)
    ap.add_argument("--speeds", nargs="+", default=["uniform", "lognormal:s=1", "pareto:alpha=1.5", "straggler:factor=20"])
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    args = ap.parse_args()
    print(f"{'speeds':>22s} {'N':>3s} {'steps/s':>8s} {'tau_avg':>8s} {'tau_max':>8s} {'compute ms':>11s}")
    for speeds in args.speeds:
        for n in args.workers:
            _one(speeds, n, args)


def _one(speeds: str, n: int, args) -> None:
    from distributed import Client

    from verify.runtime import async_server as asyncrun
    from verify.runtime.executors import local_cluster

    with local_cluster(n) as cluster, Client(cluster) as client:
        asyncrun.run("picky", "logsum", 10, n, speeds, 20, eps=0.1, client=client)  # warm the workers
        t0 = time.perf_counter()
        rec = asyncrun.run("picky", "logsum", 10, n, speeds, args.steps, eps=0.1, sigma=0.5, client=client,
                           base_seconds=args.base_seconds)
        secs = time.perf_counter() - t0
    d = rec.result.delays.delays
    comp = np.mean([s["compute_s"] for s in rec.steps]) * 1e3
    assert rec.gradient_mismatches == 0
    print(f"{speeds:>22s} {n:3d} {args.steps / secs:8.1f} {d.mean():8.2f} {d.max():8d} {comp:11.2f}", flush=True)


if __name__ == "__main__":
    main()

"""Server steps per second of ``picky async-run`` for N = 2, 4, 8 Dask workers, and the realised delays.

    python benchmarks/bench_asyncrun.py [--steps 400] [--base-seconds 0.002]

Each run: picky on logsum R^10, uniform worker speeds (the fastest worker's compute time is the base),
a LocalCluster started outside the timing. Prints steps/s (server steps over wall-clock time of the run),
the realised tau_avg and tau_max, and the mean compute time per task for comparison: a server step costs
the Dask round trip plus the compute time of the gradient that arrives.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from distributed import Client, LocalCluster

    from verify import asyncrun

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--base-seconds", type=float, default=0.002)
    ap.add_argument("--speeds", default="uniform")
    args = ap.parse_args()
    print(f"{'N':>3s} {'steps/s':>8s} {'tau_avg':>8s} {'tau_max':>8s} {'compute ms':>11s}")
    for n in (2, 4, 8):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            asyncrun.run("picky", "logsum", 10, n, args.speeds, 20, eps=0.1, client=client)  # warm the workers
            t0 = time.perf_counter()
            rec = asyncrun.run("picky", "logsum", 10, n, args.speeds, args.steps, eps=0.1, client=client,
                               base_seconds=args.base_seconds)
            secs = time.perf_counter() - t0
        d = rec.result.delays.delays
        comp = np.mean([s["compute_s"] for s in rec.steps]) * 1e3
        print(f"{n:3d} {args.steps / secs:8.1f} {d.mean():8.2f} {d.max():8d} {comp:11.2f}")


if __name__ == "__main__":
    main()

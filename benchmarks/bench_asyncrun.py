"""Server steps per second of ``picky async-run`` for N = 2, 4, 8 Dask workers, and the realised delays.

    python benchmarks/bench_asyncrun.py [--steps 400] [--base-seconds 0.002] [--workers 2 4 8] [--speeds M ...]
                                        [--algorithm picky|ringmaster|rennala|minibatch] [--R N] [--batch S]

Each run: picky on logsum R^10, sigma = 0.5 (each worker draws its task's noise), each speed model
(the fastest worker's compute time is the base; default: uniform, lognormal, pareto, a 20x straggler),
a LocalCluster started outside the timing. Prints steps/s (server steps over wall-clock time of the run),
the realised tau_avg and tau_max, and the mean compute time per task for comparison: a server step costs
the Dask round trip plus the compute time of the gradient that arrives. Also: the cancelled computations
(``--algorithm ringmaster``: Ringmaster ASGD with stops, R from theory unless ``--R``; eps = 0.1, so
R = ceil(0.25/0.01) = 25 by default), the mean service time end - start on the server's event clock
(what the trace model holds), the server's own overhead (submission time - start: the update between an
arrival and the next hand-out), and whether the event simulation on the recorded times reproduced the
run's schedule. ``--algorithm rennala`` (Rennala SGD, S from theory unless ``--batch``; eps = 0.1 gives
S = 25): a server step is a round of S kept arrivals, so ``steps/s`` counts rounds and ``grads/s`` the
gradients averaged (the other algorithms: one gradient per step); ``cancelled`` the work in flight
discarded at the rounds' ends.
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
    ap.add_argument("--algorithm", default="picky", choices=["picky", "ringmaster", "rennala", "minibatch"])
    ap.add_argument("--R", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    args = ap.parse_args()
    print(f"{'speeds':>22s} {'N':>3s} {'steps/s':>8s} {'grads/s':>8s} {'tau_avg':>8s} {'tau_max':>8s} {'compute ms':>11s} "
          f"{'service ms':>11s} {'overhead ms':>12s} {'cancelled':>10s} {'replayed':>9s}")
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
        rec = asyncrun.run(args.algorithm, "logsum", 10, n, speeds, args.steps, eps=0.1, sigma=0.5, client=client,
                           base_seconds=args.base_seconds,
                           overrides={k: v for k, v in (("R", args.R), ("m" if args.algorithm == "minibatch" else "S", args.batch))
                                      if v is not None})
        secs = time.perf_counter() - t0
    d = rec.result.delays.delays
    comp = np.mean([s["compute_s"] for s in rec.steps]) * 1e3
    applied = [c for c in rec.computations if c["status"] == "applied"]
    service = np.mean([c["end_s"] - c["start_s"] for c in applied]) * 1e3
    overhead = np.mean([c["submitted_s"] - c["start_s"] for c in rec.computations]) * 1e3
    cancelled = sum(c["status"] == "cancelled" for c in rec.computations)
    same = asyncrun.schedule_reproduced(rec)
    assert rec.gradient_mismatches == 0
    print(f"{speeds:>22s} {n:3d} {rec.server_steps / secs:8.1f} {len(rec.steps) / secs:8.1f} {d.mean():8.2f} {d.max():8d} {comp:11.2f} {service:11.2f} "
          f"{overhead:12.3f} {cancelled:10d} {str(same):>9s}", flush=True)


if __name__ == "__main__":
    main()

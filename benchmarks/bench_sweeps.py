"""Sweep throughput: cells per second on each executor, against a plain loop in one process.

    python benchmarks/bench_sweeps.py [--cells 16] [--steps 20000]

One sweep of ``cells`` small cells (2 algorithms x 4 seeds, logsum R^10, Pareto delays) is run from an
empty output directory on: a plain loop (``compute_cell`` one cell after the other, in this process --
what a user would write), local processes with 1 and 2 workers, and a Dask LocalCluster with 1 and 2
workers (started inside the timing: that is what ``picky sweep --local-cluster N`` costs). The numba
cache is warmed first. Prints seconds, cells/s and the ratio to the plain loop and, for Dask, to local
processes with the same number of workers.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from verify.runtime import sweeps
from verify.runtime.sweeps import runner


def _sweep(cells: int, steps: int) -> sweeps.Sweep:
    eps = [round(0.5 - 0.02 * i, 4) for i in range(cells // 2)]
    return sweeps.from_dict({"sweep": {"name": "bench", "algorithms": ["picky", "delayed-sgd"], "problems": ["logsum"],
                                       "dim": 10, "delays": ["pareto:alpha=1.5,scale=3", "straggler"], "eps": eps,
                                       "steps": steps, "seeds": 4}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    sw = _sweep(args.cells, args.steps)
    root = Path(tempfile.mkdtemp(prefix="picky-bench-sweeps-"))
    try:
        runner.compute_cell(sw.cells[0].params, str(root / "warm"), sw.cells[0].key, threads=1)  # compile once
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        for c in sw.cells:
            runner.compute_cell(c.params, str(root / "loop"), c.key, threads=1)
        times["plain loop"] = time.perf_counter() - t0
        for name, executor, n in (("processes x1", "processes", 1), ("processes x2", "processes", 2),
                                  ("local-cluster x1", "local-cluster", 1), ("local-cluster x2", "local-cluster", 2)):
            t0 = time.perf_counter()
            out = sweeps.run(sw, root / name.replace(" ", ""), executor=executor, workers=n)
            times[name] = time.perf_counter() - t0
            assert out["computed"] == len(sw.cells)
        ref = (root / "processesx1" / "results.csv").read_bytes()
        same = all((root / n.replace(" ", "") / "results.csv").read_bytes() == ref for n in times if n != "plain loop")
        print(f"sweep: {len(sw.cells)} cells x 8 lanes x {args.steps} steps; results identical on every executor: {same}")
        print(f"{'executor':18s} {'seconds':>8s} {'cells/s':>8s} {'vs loop':>8s} {'vs processes':>13s}")
        for name, secs in times.items():
            vs_proc = ""
            if name.startswith("local-cluster"):
                vs_proc = f"{secs / times['processes x' + name[-1]]:.2f}x time"
            print(f"{name:18s} {secs:8.2f} {len(sw.cells) / secs:8.2f} {times['plain loop'] / secs:7.2f}x {vs_proc:>13s}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

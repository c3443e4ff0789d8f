"""The durations the README quotes, measured: wall time and CPU time (user + sys) of each command.

    python benchmarks/bench_readme_timings.py [--skip-verify] [--skip-sweeps]

Each command runs as a subprocess from the repository root (outputs into a temporary directory); its
CPU time is the child's rusage (``resource.getrusage(RUSAGE_CHILDREN)`` before and after), which counts
every thread of it. A sweep's cells run in pool processes that rusage does not see, so for the sweeps
the CPU time is measured separately: the same cells computed one after the other in this process
(``time.process_time``). On a shared machine the wall time moves with the load (printed: the load
average before each command); the CPU time much less. The numba cache is warmed first.

Commands: ``picky verify --profile test`` and ``--profile quick`` (seeds 40 and 200: the scaling in the
seeds), ``picky figures --reuse-data`` (the committed figures, into a new directory), the examples.
Never ``--profile full`` (5x quick's seeds and a longer search).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(label: str, argv: list[str]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    load = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
    print(f"{label:48s} wall {wall:7.1f} s   cpu {cpu:7.1f} s   (load {load:4.1f})  {status}", flush=True)
    return wall, cpu


def sweep_cpu(path: Path) -> float:
    """CPU seconds of a sweep's cells computed in this process, one after the other."""
    from verify.runtime import sweeps
    from verify.runtime.sweeps.runner import compute_cell

    sw = sweeps.load(path)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "cells").mkdir()
        c0 = time.process_time()
        for c in sw.cells:
            compute_cell(c.params, d, c.key)
        return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-verify", action="store_true", help="skip picky verify (the longest)")
    ap.add_argument("--skip-sweeps", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    tmp = Path(tempfile.mkdtemp(prefix="picky-bench-"))
    timed("warm-up (simulate, numba cache)", ["-m", "verify.cli", "simulate", "--algorithm", "picky", "--problem",
                                               "logsum", "--delays", "constant", "--eps", "0.1", "--steps", "100",
                                               "--seeds", "1"])
    if not args.skip_verify:
        timed("picky verify --profile test", ["-m", "verify.cli", "verify", "--profile", "test", "--out", str(tmp / "vt")])
        timed("picky verify --profile quick", ["-m", "verify.cli", "verify", "--profile", "quick", "--out", str(tmp / "vq")])
    timed("picky figures --reuse-data (8 figures)", ["-m", "verify.cli", "figures", "--reuse-data", "--out", str(tmp / "f"),
                                                     "--no-progress"])
    timed("python examples/bound_calculators.py", ["examples/bound_calculators.py"])
    timed("python examples/own_bound_check.py", ["examples/own_bound_check.py"])
    timed("python examples/rate_comparison_figure.py", ["examples/rate_comparison_figure.py", str(tmp / "rates.png")])
    if not args.skip_sweeps:
        for name in ("sweep-small.toml", "sweep-realistic.toml"):
            timed(f"picky sweep examples/{name} (2 processes)", ["-m", "verify.cli", "sweep", f"examples/{name}", "--out",
                                                                 str(tmp / name)])
            print(f"{'  the same cells in one process: cpu':48s} {sweep_cpu(ROOT / 'examples' / name):7.1f} s", flush=True)


if __name__ == "__main__":
    main()

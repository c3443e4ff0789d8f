"""Start-up times of the commands a new user types first (issue 21), against their targets.

    python benchmarks/bench_startup.py [--runs 5] [--baseline REV]

Runs each command ``--runs`` times in a fresh subprocess (warm caches: one untimed run first, which
also fills theory's and the catalog's caches and the numba cache) and prints min and median wall
time, the target (on the minimum) and PASS/FAIL. Timings on a shared machine are noisy: the
minimum is the number the targets are stated for. The "before" numbers (the same commands before
the start-up work) are constants below, labelled with where and when they were measured. With
``--baseline REV`` the same commands also run on that git revision's ``theory/`` and ``verify/``
(extracted to a temporary directory), interleaved run by run with this tree's, so that both see
the same load: the fair before/after on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PICKY = [PY, "-m", "verify.cli"]

#: (label, command, target in seconds on the minimum)
COMMANDS: list[tuple[str, list[str], float]] = [
    ("picky --version", [*PICKY, "--version"], 0.5),
    ("picky --help", [*PICKY, "--help"], 0.5),
    ("picky list", [*PICKY, "list"], 0.5),
    ("picky bounds", [*PICKY, "bounds", "--beta", "1", "--F", "1", "--sigma", "1", "--eps", "0.1"], 1.0),
    ("picky simulate (100 steps)", [*PICKY, "simulate", "--algorithm", "picky", "--problem", "quadratic", "--delays",
                                    "constant:tau=3", "--eps", "0.1", "--steps", "100", "--seeds", "1"], 2.0),
    ("import theory; iterations", [PY, "-c", "import theory; theory.iterations('picky-explicit', beta=1, F=1, sigma=1, "
                                             "eps=0.1, tau_avg=1)"], 1.0),
]

#: min of 5 runs of the same commands at commit 300540b (before this work), measured 2026-12-05 15:36 UTC
#: on the 2-core project machine at load average 0.3 (numba cache warm)
BEFORE = {
    "picky --version": 1.39,
    "picky --help": 1.40,
    "picky list": 1.40,
    "picky bounds": 1.41,
    "picky simulate (100 steps)": 2.41,
    "import theory; iterations": 0.63,
}


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "PICKY_BENCH_TREE": str(tree)}


def _extract(rev: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="picky-baseline-"))
    arch = subprocess.run(["git", "archive", rev, "theory", "verify"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(d)], input=arch, check=True)
    return d


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    # run in the tree itself: ``-m`` puts the working directory first on sys.path
    p = subprocess.run(cmd, capture_output=True, env=env, cwd=env["PICKY_BENCH_TREE"])
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.decode()[-400:]}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", metavar="REV", default=None,
                    help="also time git revision REV, interleaved with this tree (e.g. 300540b, before this work)")
    args = ap.parse_args()
    env = _env(ROOT)
    base_env = _env(_extract(args.baseline)) if args.baseline else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"start-up times, {args.runs} fresh processes each (warm caches); load average {load:.2f}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    extra = f"  {args.baseline + ' min/median':>18s}" if args.baseline else ""
    print(f"{'command':28s} {'min':>7s} {'median':>7s} {'target':>7s}  {'':4s}  {'before (min)':>12s}{extra}")
    failed = 0
    for label, cmd, target in COMMANDS:
        _time(cmd, env)  # warm-up: caches
        ts, bs = [], []
        for _ in range(args.runs):
            ts.append(_time(cmd, env))
            if base_env is not None:
                if not bs:
                    _time(cmd, base_env)  # the baseline's warm-up (its own numba cache key)
                bs.append(_time(cmd, base_env))
        lo, med = min(ts), statistics.median(ts)
        ok = lo <= target
        failed += not ok
        base = f"  {min(bs):8.2f}s/{statistics.median(bs):.2f}s" if bs else ""
        print(f"{label:28s} {lo:6.2f}s {med:6.2f}s {target:6.1f}s  {'PASS' if ok else 'FAIL'}  {BEFORE[label]:11.2f}s{base}")
    print(f"{len(COMMANDS) - failed} of {len(COMMANDS)} targets met (on the minimum; a loaded machine inflates all of them)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

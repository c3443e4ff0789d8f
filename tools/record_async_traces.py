"""Record real asynchronous delay traces for ``picky verify`` (claim 1 checks Theorem D' on them).

    python tools/record_async_traces.py            # writes verify/data/async_traces/*.json.gz (about 30 min)

Each trace is the realised delay sequence of a ``picky async-run`` (picky on logsum R^10, sigma = 0) on a
Dask LocalCluster on this machine: arrival order and delays come from real worker processes, so a trace
is a measurement (not reproducible bit for bit; its provenance is stored with it). Lengths are chosen so
that Theorem D''s condition is met within the trace on claim 1's ``quad`` and ``logsum`` instances
(logsum's first horizon is about 54,000 steps at tau_avg = 1 and 108,000 at tau_avg = 2). Each trace
also holds every step's arrival time and task, so task-keyed noise replays too.
"""
from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "verify" / "data" / "async_traces"
#: (name, workers, speed model, steps)
TRACES = [("w2-uniform", 2, "uniform", 60_000), ("w3-pareto", 3, "pareto:alpha=1.5", 120_000)]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from verify.runtime import async_server as asyncrun
    from verify.models import delays
    from verify.io.output import atomic_write_bytes
    from verify.io.provenance import environment

    OUT.mkdir(parents=True, exist_ok=True)
    for name, n, speeds, steps in TRACES:
        t0 = time.perf_counter()
        rec = asyncrun.run("picky", "logsum", 10, n, speeds, steps, eps=1e-9, seed=0)
        secs = time.perf_counter() - t0
        rec_seq = rec.result.delays  # delays, arrival times and the task of every step
        seq = delays.DelaySequence(rec_seq.delays, "async-run", {
            "workers": n, "speeds": speeds, "steps_per_second": round(steps / secs, 1),
            "gradient_mismatches": rec.gradient_mismatches,
            "command": f"asyncrun.run('picky', 'logsum', 10, {n}, {speeds!r}, {steps}, eps=1e-9, seed=0)",
            "recorded": environment()["timestamp"]}, None, wall_clock=rec_seq.wall_clock, tasks=rec_seq.tasks)
        atomic_write_bytes(OUT / f"{name}.json.gz", gzip.compress(json.dumps(seq.to_json_dict()).encode(), mtime=0))
        st = seq.stats()
        print(f"{name}: {steps} steps in {secs:.0f} s; tau_avg {st.tau_avg:.3f}, tau_max {st.tau_max}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

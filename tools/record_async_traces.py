"""Record real asynchronous delay traces for ``picky verify`` (claim 1 checks Theorem D' on them).

    python tools/record_async_traces.py            # writes verify/data/async_traces/*.json.gz (about 30 min)
    python tools/record_async_traces.py --time     # only the two time traces (Ringmaster, Rennala; about 2 min)

Each trace is the realised delay sequence of a ``picky async-run`` (picky on logsum R^10, sigma = 0) on a
Dask LocalCluster on this machine: arrival order and delays come from real worker processes, so a trace
is a measurement (not reproducible bit for bit; its provenance is stored with it). Lengths are chosen so
that Theorem D''s condition is met within the trace on claim 1's ``quad`` and ``logsum`` instances
(logsum's first horizon is about 54,000 steps at tau_avg = 1 and 108,000 at tau_avg = 2). Each trace
also holds every step's arrival time and task, so task-keyed noise replays too.

The TIME traces (``verify/data/time_traces/*.async.json.gz``, not beside the delay traces: those are
every ``*.json.gz`` of their folder) are the whole ``async.json`` of ``picky async-run --save`` (every
computation's worker, start and end on the server's clock, status): a Ringmaster ASGD run (with stops)
and a Rennala SGD run on a straggler fleet; claim 19 checks that the event simulation on their recorded
compute times (the ``trace:`` computation model) reproduces their schedules bit for bit.
"""
from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "verify" / "data" / "async_traces"
TIME_OUT = ROOT / "verify" / "data" / "time_traces"  # not in OUT: the delay traces are every *.json.gz there
#: (name, workers, speed model, steps)
TRACES = [("w2-uniform", 2, "uniform", 60_000), ("w3-pareto", 3, "pareto:alpha=1.5", 120_000)]
#: (name, algorithm, workers, speed model, server steps, sigma): logsum R^10, eps 0.1, seed 0
TIME_TRACES = [("w4-ringmaster", "ringmaster", 4, "straggler:factor=10", 1500, 0.2),
               ("w4-rennala", "rennala", 4, "straggler:factor=10", 300, 0.2)]


def record_time_traces() -> int:
    """The time traces: the async.json content of each run, gzipped (module docstring)."""
    from verify.runtime import async_server as asyncrun
    from verify.io.output import atomic_write_bytes
    from verify.io.provenance import environment

    TIME_OUT.mkdir(parents=True, exist_ok=True)
    for name, alg, n, speeds, steps, sigma in TIME_TRACES:
        t0 = time.perf_counter()
        rec = asyncrun.run(alg, "logsum", 10, n, speeds, steps, eps=0.1, sigma=sigma, seed=0)
        secs = time.perf_counter() - t0
        command = f"asyncrun.run({alg!r}, 'logsum', 10, {n}, {speeds!r}, {steps}, eps=0.1, sigma={sigma}, seed=0)"
        data = {**rec.summary(), "command": command, "recorded": environment()["timestamp"],
                "schedule_reproduced": asyncrun.schedule_reproduced(rec), "result": rec.result.summary(),
                "steps_detail": rec.steps, "computations": rec.computations}
        atomic_write_bytes(TIME_OUT / f"{name}.async.json.gz", gzip.compress(json.dumps(data).encode(), mtime=0))
        print(f"{name}: {steps} server steps in {secs:.0f} s; {len(rec.computations)} computations, "
              f"{data['cancelled']} cancelled; schedule reproduced: {data['schedule_reproduced']}", flush=True)
    return 0


def main() -> int:
    sys.path.insert(0, str(ROOT))
    if "--time" in sys.argv[1:]:
        return record_time_traces()
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

"""``picky async-run``: a real asynchronous parameter server on a Dask LocalCluster (:mod:`verify.runtime.async_server`).

``picky async-run --algorithm A --problem P --workers N --speeds MODEL --steps T --eps E [--sigma S]
[--noise NOISE] [--seed K] [--eta X] [--rho X] [--tau-max X] [--base-seconds X] [--save DIR] [--json]``. Prints the realised
tau_avg and tau_max, the run's outcome and whether replaying the recorded trace in the simulator reproduces
it exactly (exit 1 if not). ``--save DIR`` writes the run (verify.io.runstore's layout, atomically) plus
``async.json`` (per step: worker, task, issue step, compute time, arrival time; workers lost or restarted)
and ``trace.json``, the realised delays with each step's arrival time and task (the noise is keyed by
task, so a replay reproduces it), which ``picky simulate --delays replay:path=DIR/trace.json`` reads.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..catalog import catalog
from .common import dim_int, dump, fmt, nonneg_float, positive_float, positive_int, seed_int, steps_int

SCHEMA = "picky-async-run/1"


def add_parser(sub: Any) -> None:
    a = sub.add_parser("async-run", help="a real asynchronous parameter server on Dask workers (replayable trace)",
                       description=__doc__.split("\n\n", 1)[0])
    a.add_argument("--algorithm", required=True, choices=[n for n in catalog()["algorithms"] if n != "stale-drop"])
    a.add_argument("--problem", default="logsum", metavar="P[:k=v]")
    a.add_argument("--dim", type=dim_int, default=10, metavar="D")
    a.add_argument("--workers", type=positive_int, default=4, metavar="N", help="Dask worker processes (default 4)")
    a.add_argument("--speeds", default="pareto:alpha=1.5", metavar="MODEL[:k=v]",
                   help=f"per-worker slowdowns and load jitter: {', '.join(catalog()['speeds'])} (default pareto:alpha=1.5)")
    a.add_argument("--steps", type=steps_int, required=True, metavar="T")
    a.add_argument("--eps", type=positive_float, required=True, metavar="E")
    a.add_argument("--sigma", type=nonneg_float, default=0.0, metavar="S")
    a.add_argument("--noise", default="gaussian", metavar="NOISE[:k=v]",
                   help="the workers' gradient noise, drawn per task (default gaussian)")
    a.add_argument("--seed", type=seed_int, default=0, metavar="K")
    a.add_argument("--eta", type=positive_float, default=None, metavar="X")
    a.add_argument("--rho", type=positive_float, default=None, metavar="X")
    a.add_argument("--tau-max", type=positive_float, default=None, metavar="X",
                   help="a bound on the delays known in advance (for defaults that need tau_max)")
    a.add_argument("--base-seconds", type=positive_float, default=0.002, metavar="X",
                   help="compute time of the fastest worker (default 0.002 s)")
    a.add_argument("--save", default=None, metavar="DIR")
    a.add_argument("--force", action="store_true")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..optional import check
    from verify.io.output import OutputDir

    check("distributed", "picky async-run")  # before any work (the Dask workers are the point)
    out = OutputDir(args.save, force=args.force, flag="--save") if args.save else None
    overrides = {k: v for k, v in (("eta", args.eta), ("rho", args.rho)) if v is not None}
    try:
        from verify.runtime import async_server as asyncrun
        from verify.io import runstore
        from verify.io.provenance import environment

        rec = asyncrun.run(args.algorithm, args.problem, args.dim, args.workers, args.speeds, args.steps, eps=args.eps,
                           sigma=args.sigma, seed=args.seed, base_seconds=args.base_seconds, overrides=overrides,
                           tau_max=args.tau_max, noise=args.noise)
        rep = asyncrun.replay(rec, args.problem, args.dim)
        same = all(getattr(rep, f) == getattr(rec.result, f) for f in ("first_hit", "accepted", "rejected", "steps_run",
                                                                           "final_grad_norm", "min_grad_norm"))
        summary = {"schema": SCHEMA, "command": args.argv, **rec.summary(), "replay_reproduced": same,
                   "result": rec.result.summary()}
        if out is not None:
            runstore.write(out, [rec.result], {"schema": SCHEMA, "command": args.argv, "environment": environment()})
            out.write_json("async.json", {**summary, "steps_detail": rec.steps})
            out.write_text("trace.json", json.dumps(rec.result.delays.to_json_dict()))  # --delays replay:path=...
            out.commit({"command": args.argv})
    except BaseException:
        if out is not None:
            out.abort()
        raise
    if args.json:
        dump(summary)
    else:
        s = summary
        print(f"picky async-run  {args.algorithm} on {args.problem} (dim {args.dim}), {args.workers} Dask workers, "
              f"speeds {args.speeds}: {s['steps']} server steps")
        print(f"  realised delays: tau_avg = {fmt(s['tau_avg'], 4)}, tau_max = {s['tau_max']}; "
              f"accepted {s['accepted']}, rejected {s['rejected']}; first hit {s['first_hit'] or '-'}")
        w = s["workers"]
        print(f"  workers: {len(w['requested'])} started, lost {len(w['lost'])}, restarted/new {len(w['restarted_or_new'])}; "
              f"gradients checked against the snapshot: {s['gradient_mismatches']} mismatches")
        print(f"  replay of the trace in the simulator: {'reproduced exactly' if same else 'DIFFERS'}")
    return 0 if same and not rec.gradient_mismatches else 1

"""``picky async-run``: a real asynchronous parameter server on a Dask LocalCluster (:mod:`verify.runtime.async_server`).

``picky async-run --algorithm A --problem P --workers N --speeds MODEL --steps T --eps E [--sigma S]
[--noise NOISE] [--seed K] [--eta X] [--rho X] [--R N] [--batch S] [--tau-max X] [--base-seconds X] [--save DIR]
[--json]``.
``--algorithm ringmaster``: Ringmaster ASGD with stops (the server cancels a computation whose delay
reaches R and restarts its worker at the current iterate; R and the step from theory.timing's
ringmaster_parameters unless ``--R``/``--eta``). ``--algorithm rennala``: Rennala SGD (rounds: every
worker computes at x_k, the first S arrivals are averaged into one step, the work still in flight is
cancelled; S and the step from theory.timing's rennala_parameters unless ``--batch``/``--eta``).
``--algorithm minibatch``: minibatch SGD in rounds over the m fastest workers (``--batch m``, default
all), one gradient each, averaged (step from theory.timing's minibatch_parameters unless ``--eta``).
Prints the realised tau_avg and tau_max, the run's outcome and whether replaying it in the simulator reproduces it exactly (exit 1 if not): the recorded
trace through the reference loop, and the recorded compute times through the event simulation (the
``trace`` computation model): the same schedule (arrival times, workers, tasks, delays, cancellations).
Rennala, minibatch: the recorded rounds through the batch loop, and the compute times through the event
simulation's ``rennala`` / ``minibatch`` policy.
``--save DIR`` writes the run (verify.io.runstore's layout, atomically) plus ``async.json`` (format 2:
per step: worker, task, issue step, compute time, arrival time; ``computations``: every computation
started, cancelled ones too, with its start and end on the server's event clock; workers lost or
restarted) and ``trace.json``, the realised delays with each step's arrival time and task (the noise is
keyed by task, so a replay reproduces it), which ``picky simulate --delays replay:path=DIR/trace.json``
reads (Rennala: its rounds, one row per gradient averaged, in the format of ``picky simulate --compute
--save``'s ``trace-rennala.json``, :meth:`verify.algorithms.batch.BatchSchedule.from_trace_dict`);
``trace:path=DIR`` is its computation model.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..catalog import catalog
from .common import dim_int, dump, fmt, nonneg_float, positive_float, positive_int, seed_int, steps_int

SCHEMA = "picky-async-run/2"  # 2: + computations (every computation, on the event clock)


def add_parser(sub: Any) -> None:
    a = sub.add_parser("async-run", help="a real asynchronous parameter server on Dask workers (replayable trace)",
                       description=__doc__.split("\n\n", 1)[0])
    a.add_argument("--algorithm", required=True, choices=catalog()["async_algorithms"],
                   help="picky, delayed-sgd, delay-adaptive, sgd, ringmaster (Ringmaster ASGD with stops), rennala "
                        "(Rennala SGD: rounds, work in flight discarded) or minibatch (rounds over m workers)")
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
    a.add_argument("--R", type=positive_int, default=None, metavar="N",
                   help="ringmaster: the delay threshold (default: theory.timing's ringmaster_parameters)")
    a.add_argument("--batch", type=positive_int, default=None, metavar="S",
                   help="rennala: gradients averaged per step (default: theory.timing's rennala_parameters); "
                        "minibatch: workers per round m (the m fastest; default all)")
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
    batch_key = "m" if args.algorithm == "minibatch" else "S"  # --batch: minibatch's m, else Rennala's S
    overrides = {k: v for k, v in (("eta", args.eta), ("rho", args.rho), ("R", args.R), (batch_key, args.batch))
                 if v is not None}
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
        schedule = asyncrun.schedule_reproduced(rec)
        summary = {"schema": SCHEMA, "command": args.argv, **rec.summary(), "replay_reproduced": same,
                   "schedule_reproduced": schedule, "result": rec.result.summary()}
        if out is not None:
            runstore.write(out, [rec.result], {"schema": SCHEMA, "command": args.argv, "environment": environment()})
            out.write_json("async.json", {**summary, "steps_detail": rec.steps, "computations": rec.computations})
            if rec.policy in ("rennala", "minibatch"):  # its rounds (BatchSchedule.from_trace_dict reads them)
                rounds = asyncrun.recorded_batch_schedule(rec)
                trace = rounds.trace_dict("async-run", dict(rec.result.delays.params), None)
            else:
                trace = rec.result.delays.to_json_dict()  # --delays replay:path=...
            out.write_text("trace.json", json.dumps(trace))
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
        if rec.policy in ("rennala", "minibatch"):
            what = (f"S = {s['batch']} kept arrivals" if rec.policy == "rennala" else
                    f"one gradient from each of m = {s['batch']} workers")
            print(f"  rounds of {what} ({s['gradients_applied']} gradients averaged, all computed at the round's "
                  f"iterate); first hit {s['first_hit'] or '-'}")
        else:
            print(f"  realised delays: tau_avg = {fmt(s['tau_avg'], 4)}, tau_max = {s['tau_max']}; "
                  f"accepted {s['accepted']}, rejected {s['rejected']}; first hit {s['first_hit'] or '-'}")
        w = s["workers"]
        print(f"  workers: {len(w['requested'])} started, lost {len(w['lost'])}, restarted/new {len(w['restarted_or_new'])}; "
              f"gradients checked against the snapshot: {s['gradient_mismatches']} mismatches")
        print(f"  replay of the trace in the simulator: {'reproduced exactly' if same else 'DIFFERS'}")
        print(f"  its compute times (trace model) through the event simulation ({rec.policy}"
              f"{'' if rec.R is None else f', R = {rec.R}'}{'' if rec.batch is None else f', B = {rec.batch}'}): "
              f"{'the same schedule' if schedule else 'DIFFERS'}; "
              f"{s['cancelled']} of {s['computations_started']} computations cancelled")
    return 0 if same and schedule and not rec.gradient_mismatches else 1

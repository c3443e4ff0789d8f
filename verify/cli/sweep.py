"""``picky sweep FILE [--out DIR] [--workers N] [--local-cluster N | --scheduler tcp://HOST:PORT]``:
run a sweep file's grid of simulations (:mod:`verify.runtime.sweeps`), each cell cached under ``DIR/cells/``,
and write ``DIR/results.csv`` (long format) and ``DIR/sweep.json``. Rerunning computes only the
missing cells (resume after an interruption)."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .common import EXECUTOR_HELP, add_executor_options, check_destination, executor_from, positive_int


def add_parser(sub: Any) -> None:
    s = sub.add_parser(
        "sweep", help="run a grid of simulations (TOML) with cached, resumable cells",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=("Every combination of the sweep file's lists is one cell: one simulation (every algorithm x "
                     "every seed, one engine call). Cells are cached under DIR/cells/<key>/ and written "
                     "atomically; a rerun computes only the missing ones."),
        epilog=(EXECUTOR_HELP +
                "example sweep file:\n"
                "  [sweep]\n"
                "  algorithms = [\"picky\", \"delayed-sgd\"]\n"
                "  delays = [\"pareto:alpha=1.5,scale=3\", \"straggler\"]\n"
                "  eps = [0.5, 0.2]\n"
                "  steps = 20000\n"
                "  seeds = 8"),
    )
    s.add_argument("file", metavar="FILE", help="the sweep file (TOML)")
    s.add_argument("--out", default="sweep-out", metavar="DIR", help="output directory (default sweep-out/)")
    add_executor_options(s, "the cells", default="2 local processes")
    s.add_argument("--workers", type=positive_int, default=2, metavar="N",
                   help="local worker processes (default 2; the same as --processes N)")
    s.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a line per cell on stderr (default: when stderr is a terminal)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ex = executor_from(args, default="processes", default_workers=args.workers)  # checks Dask is there, if asked for
    check_destination(args.out, "--out")  # before the simulation code is imported
    from verify.runtime import sweeps

    sweep = sweeps.load(args.file)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    t0 = time.perf_counter()

    def on_cell(cell: Any, how: str, done: int, total: int) -> None:
        if show:
            print(f"[{done}/{total}] {how:8s} {cell.key}  {cell.label()}", file=sys.stderr, flush=True)

    try:
        out = sweeps.run(sweep, args.out, executor=ex.kind, workers=ex.workers, scheduler=ex.scheduler,
                         on_cell=on_cell, command=args.argv)
    except KeyboardInterrupt as exc:
        exc.kept = f"finished cells are kept in {args.out!r}/cells; rerun the same command to resume"
        raise
    secs = time.perf_counter() - t0
    print(f"picky sweep  {sweep.name}: {out['cells']} cells ({out['computed']} computed, {out['cached']} cached) "
          f"on {ex.describe()} in {secs:.1f} s; wrote {out['results']} ({out['rows']} rows)")
    return 0

"""``picky figures``: regenerate every figure into one directory (default ``figures/``).

Parses and prints only; the figures live in :mod:`verify.figures`. Output: one line per figure on
stdout (name, seconds, files) and the directory; progress on stderr (``--progress``, default when
stderr is a terminal). Exit 0; bad arguments exit 2 with one line (the CLI's error policy).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXECUTOR_HELP, add_executor_options, check_destination, executor_from


def add_parser(sub: Any) -> None:
    from ..figures import NAMES

    f = sub.add_parser(
        "figures",
        help="regenerate the figures (PNG + SVG + CSV each, and an index README.md)",
        description="Regenerate every figure: each as PNG and SVG with the CSV of exactly the plotted data "
                    "beside it, and README.md, the index. Deterministic given the seeds. The output directory "
                    "belongs to picky figures: an existing one written by it is replaced atomically.",
        epilog="figures: " + ", ".join(NAMES) + ".\nexamples:\n  picky figures --profile quick\n"
               "  picky figures --only digits theory-iterations\n  picky figures --reuse-data   # replot from the CSVs\n"
               "  picky figures --reuse-data --data figures --out /tmp/figs   # replot the committed data elsewhere\n\n"
               + EXECUTOR_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures)")
    f.add_argument("--only", nargs="+", metavar="NAME", help="regenerate only these figures (the others are kept)")
    f.add_argument("--reuse-data", action="store_true",
                   help="replot from CSVs (no computation; seconds): those of --data, else of --out if it holds "
                        "figures, else the checkout's committed figures/")
    f.add_argument("--data", metavar="DIR", default=None,
                   help="with --reuse-data: the figures directory whose CSVs are replotted (default: see --reuse-data)")
    f.add_argument("--profile", default="quick", choices=("quick", "full", "test"),
                   help="budget: quick (default, minutes), full (more seeds and steps), test (tiny, for the test "
                        "suite; its figures are not meaningful)")
    g = f.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show progress on stderr (default: when stderr is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_false")
    add_executor_options(f, "the claims and the figures' computations")
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_destination(args.out, "--out")  # before matplotlib and the claims
    ex = executor_from(args)  # checks Dask is there, if asked for
    from ..figures import generate

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    res = generate(args.out, only=args.only, reuse_data=args.reuse_data, profile=args.profile, progress=progress,
                   command=getattr(args, "argv", None), executor=ex, data=args.data)
    for name, info in res["figures"].items():
        how = "replotted" if info["reused"] else "computed"
        print(f"{name:22s} {how} in {info['seconds']:6.1f}s  {', '.join(info['files'])}")
    src = f"; data from {res['data']}/" if res["data"] is not None and res["data"] != res["out"] else ""
    print(f"wrote {res['out']}/ ({len(res['figures'])} figure(s) in {res['seconds']:.1f}s{src}; index README.md)")
    return 0

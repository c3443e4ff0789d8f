"""``picky verify``: run the claims registry and write the verification report.

``picky verify [--profile quick|full] [--only ID ...] [--out DIR]`` runs every claim of
:mod:`verify.claims` (or those given), prints one line per claim, and writes ``report.md``,
``results.json`` and ``results.csv`` into DIR (default ``report/``; schema in
:mod:`verify.claims.report`). Exit code 0 if no claim fails, 1 if one does.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from .. import claims
from ..claims import report
from ..progress import Progress


def add_parser(sub: Any) -> None:
    v = sub.add_parser(
        "verify", help="check every claim of the paper and of this package; write a report",
        description="Run the claims registry (Theorem D/D', the counting lemma, the invariants, the headline tau_avg "
                    "not tau_max, eps-scaling, stability, the lower-bound construction, tightness) and write "
                    "report.md, results.json and results.csv. Exit 1 if any claim fails.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="claims:\n" + "\n".join(f"  {c.id:26s} {c.title}" for c in claims.CLAIMS.values()),
    )
    v.add_argument("--profile", choices=[p for p in claims.PROFILES if p != "test"] + ["test"], default="quick",
                   help="quick: a few minutes on 2 cores (default); full: every budget raised (longer)")
    v.add_argument("--only", nargs="+", metavar="ID", default=None, help="run only these claims (ids above)")
    v.add_argument("--out", default="report", metavar="DIR", help="output directory (default report/)")
    v.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: only when stderr is a terminal)")
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ids = None
    if args.only:
        ids = [claims.get(i).id for i in args.only]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {args.out!r} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    n = len(ids) if ids else len(claims.CLAIMS)
    bar = Progress(n, f"picky verify ({args.profile})", enabled=args.progress)
    done = [0]
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()

    def on_done(ev: claims.Evidence) -> None:
        done[0] += 1
        bar.update(done[0], force=True)
        if bar.enabled:
            sys.stderr.write("\n")
        c = claims.get(ev.claim)
        print(f"{c.number}. {ev.claim:26s} {ev.verdict:18s} {ev.seconds:6.1f} s  {report._key_numbers(ev)}", flush=True)

    evidence = claims.run(ids, args.profile, out_dir=out, on_done=on_done)
    bar.close()
    verdict = report.overall(evidence)
    meta = {"command": " ".join(args.argv), "profile": args.profile, "started": started,
            "seconds": time.perf_counter() - t0, "verdict": verdict}
    paths = report.write(out, evidence, meta)
    print(f"verdict: {verdict}  ({len(evidence)} claims, {meta['seconds']:.0f} s); wrote "
          + ", ".join(str(p) for p in paths))
    return 1 if verdict == claims.FAIL else 0

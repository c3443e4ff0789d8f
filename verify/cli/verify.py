"""``picky verify``: run the claims registry and write the verification report.

``picky verify [--profile quick|full] [--only ID ...] [--out DIR]`` runs every claim of
:mod:`verify.claims` (or those given), prints one line per claim, and writes ``report.md``,
``results.json``, ``results.csv`` (and the search's ``worst_sequence.json``) into DIR (default
``report/``; schema in :mod:`verify.claims.report`), atomically with a ``MANIFEST.json``
(:mod:`verify.output`): an interrupted run leaves the previous report. Exit code 0 if no claim
fails, 1 if one does.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from ..catalog import catalog
from .common import EXECUTOR_HELP, add_executor_options, executor_from

#: the manifest kind of a report directory (replaced by the next run without --force)
KIND = "picky-verify-report"


def add_parser(sub: Any) -> None:
    v = sub.add_parser(
        "verify", help="check every claim of the paper and of this package; write a report",
        description="Run the claims registry (Theorem D/D', the counting lemma, the invariants, the headline tau_avg "
                    "not tau_max, eps-scaling, stability, the lower-bound construction, tightness) and write "
                    "report.md, results.json and results.csv. Exit 1 if any claim fails.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="claims:\n" + "\n".join(f"  {cid:26s} {title}" for cid, title in catalog()["claims"].items()) + "\n\n"
               + EXECUTOR_HELP + "  (claims 3, 4 and 9 read the others' runs: they always run in this process, last)",
    )
    v.add_argument("--profile", choices=[p for p in catalog()["claim_profiles"] if p != "test"] + ["test"], default="quick",
                   help="quick: a few minutes on 2 cores (default); full: every budget raised (longer)")
    v.add_argument("--only", nargs="+", metavar="ID", default=None, help="run only these claims (ids above)")
    v.add_argument("--out", default="report", metavar="DIR",
                   help="output directory (default report/), written atomically with a MANIFEST.json; a previous "
                        "report there is replaced once the new one is complete")
    v.add_argument("--force", action="store_true", help="replace DIR even if it holds something other than a report")
    v.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: only when stderr is a terminal)")
    add_executor_options(v, "the claims")
    v.set_defaults(func=run)


def _claim_ids(only: list[str]) -> list[str]:
    """The claims ``--only`` names, checked against the catalog (before any heavy import)."""
    known = list(catalog()["claims"])
    for i in only:
        if i not in known:
            raise ValueError(f"claim id must be one of {known}; got {i!r}")
    return list(only)


def run(args: argparse.Namespace) -> int:
    from ..output import MANIFEST, OutputDir
    from ..progress import Progress

    ids = _claim_ids(args.only) if args.only else None
    ex = executor_from(args)  # checks Dask is there, if asked for
    out = OutputDir(args.out, force=args.force, flag="--out", kind=KIND)
    n = len(ids) if ids else len(catalog()["claims"])
    bar = Progress(n, f"picky verify ({args.profile})", enabled=args.progress)
    done = [0]
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()

    def on_done(ev: Any) -> None:
        done[0] += 1
        bar.update(done[0], force=True)
        if bar.enabled:
            sys.stderr.write("\n")
        c = claims.get(ev.claim)
        print(f"{c.number}. {ev.claim:26s} {ev.verdict:18s} {ev.seconds:6.1f} s  {report._key_numbers(ev)}", flush=True)

    with out:
        try:
            from .. import claims
            from ..claims import report

            evidence = claims.run(ids, args.profile, out_dir=out.tmp, on_done=on_done, executor=ex)
            bar.close()
            verdict = report.overall(evidence)
            meta = {"command": " ".join(args.argv), "profile": args.profile, "started": started,
                    "seconds": time.perf_counter() - t0, "verdict": verdict}
            paths = report.write(out.tmp, evidence, meta)
            out.commit({"command": args.argv})
        except KeyboardInterrupt as exc:
            exc.kept = (f"the report in {args.out!r} is complete" if out.committed else
                        f"nothing written ({args.out!r} is as it was)")
            raise
    print(f"verdict: {verdict}  ({len(evidence)} claims, {meta['seconds']:.0f} s); wrote "
          + ", ".join(str(Path(args.out) / p.relative_to(out.tmp)) for p in paths) + f", {Path(args.out) / MANIFEST}")
    return 1 if verdict == claims.FAIL else 0

"""``picky verify``: run the claims registry and write the verification report.

``picky verify [--profile quick|full] [--only ID ...] [--out DIR]`` runs every claim of
:mod:`verify.claims` (or those given), prints one line per claim, and writes ``report.md``,
``results.json``, ``results.csv`` (and the search's ``worst_sequence.json``) into DIR (default
``report/``; schema in :mod:`verify.claims.report`), atomically with a ``MANIFEST.json``
(:mod:`verify.io.output`): an interrupted run leaves the previous report.

Progress: one line per claim on stderr as it starts and as it ends (verdict, seconds), also when
stderr is not a terminal (a log, CI); ``--progress`` adds the bar. The summary lines go to stdout.

Exit codes: 0 every claim passed; 1 a claim failed (a check that raised is its claim's failure, the
error in its evidence); 4 no claim failed but some claim is inconclusive or condition-not-met (a pass
that turned into "cannot decide" must not look like a pass to a script or CI: a distinct code rather
than an opt-in flag, so that the default cannot hide it, and distinct from 1 so that "the science is
wrong" and "the measurement could not decide" stay apart); 2 bad input; 3 internal error; 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.catalog import catalog
from . import EXIT_INCONCLUSIVE
from .common import EXECUTOR_HELP, add_executor_options, executor_from

if TYPE_CHECKING:
    from verify import claims

#: a claim failed
EXIT_FAIL = 1

EXIT_HELP = ("exit status: 0 every claim passed; 1 a claim failed (also a check that raised: its error is in the "
             "report); 4 no claim failed but some claim is inconclusive or condition-not-met; 2 bad input; "
             "3 internal error; 130 interrupted")

#: the manifest kind of a report directory (replaced by the next run without --force)
KIND = "picky-verify-report"


def add_parser(sub: Any) -> None:
    v = sub.add_parser(
        "verify", help="check every claim of the paper and of this package; write a report",
        description="Run the claims registry (Theorem D/D', the counting lemma, the invariants, the headline tau_avg "
                    "not tau_max, eps-scaling, stability, the lower-bound construction, tightness, the baselines: SGD without "
                    "delays, stale-drop, delay-adaptive) and write "
                    "report.md, results.json and results.csv. One progress line per claim on stderr (started, "
                    "finished with its verdict and seconds). " + EXIT_HELP + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="claims:\n" + "\n".join(f"  {cid:26s} {title}" for cid, title in catalog()["claims"].items()) + "\n\n"
               + EXECUTOR_HELP + "  (claims 3, 4 and 9 read the others' runs: they always run in this process, last)\n\n"
               + EXIT_HELP,
    )
    v.add_argument("--profile", choices=[p for p in catalog()["claim_profiles"] if p != "test"] + ["test"], default="quick",
                   help="quick: a few minutes on 2 cores (default); full: every budget raised (longer)")
    v.add_argument("--only", nargs="+", metavar="ID", default=None, help="run only these claims (ids above)")
    v.add_argument("--out", default="report", metavar="DIR",
                   help="output directory (default report/), written atomically with a MANIFEST.json; a previous "
                        "report there is replaced once the new one is complete")
    v.add_argument("--force", action="store_true", help="replace DIR even if it holds something other than a report")
    v.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar on stderr (default: only when stderr is a terminal); the per-claim lines "
                        "on stderr are always printed")
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
    from verify.io.output import MANIFEST, OutputDir
    from verify.io.progress import Progress

    ids = _claim_ids(args.only) if args.only else None
    ex = executor_from(args)  # checks Dask is there, if asked for
    out = OutputDir(args.out, force=args.force, flag="--out", kind=KIND)
    n = len(ids) if ids else len(catalog()["claims"])
    bar = Progress(n, f"picky verify ({args.profile})", enabled=args.progress)
    done = [0]
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()

    def log(msg: str) -> None:  # one line on stderr, also when it is not a terminal
        if bar.enabled and bar.last:
            sys.stderr.write("\n")
        sys.stderr.write(f"picky verify: {msg}\n")
        sys.stderr.flush()

    def on_start(cid: str) -> None:
        c = claims.get(cid)
        log(f"[{done[0]}/{n} done] claim {c.number} {cid} started ({time.perf_counter() - t0:.0f} s)")

    def on_done(ev: Any) -> None:
        done[0] += 1
        c = claims.get(ev.claim)
        log(f"[{done[0]}/{n} done] claim {c.number} {ev.claim} finished: {ev.verdict} in {ev.seconds:.1f} s"
            + (f" (error: {ev.error})" if ev.error else ""))
        bar.update(done[0], force=True)
        print(f"{c.number}. {ev.claim:26s} {ev.verdict:18s} {ev.seconds:6.1f} s  {report._key_numbers(ev)}", flush=True)

    with out:
        try:
            # the input and the destination are checked: now the heavy imports
            from verify import claims
            from verify.claims import report

            evidence = claims.run(ids, args.profile, out_dir=out.tmp, on_done=on_done, on_start=on_start,
                                  executor=ex, progress=log)
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
    code = exit_code(evidence)
    if code == EXIT_INCONCLUSIVE:
        undecided = [e.claim for e in evidence if e.verdict != claims.PASS]
        log(f"no claim failed, but {len(undecided)} could not decide ({', '.join(undecided)}): exit {code}")
    return code


def exit_code(evidence: list[claims.Evidence]) -> int:
    """0 all pass; 1 some claim failed; 4 none failed but some is inconclusive or condition-not-met."""
    from verify import claims

    vs = {e.verdict for e in evidence}
    if claims.FAIL in vs:
        return EXIT_FAIL
    if vs - {claims.PASS}:
        return EXIT_INCONCLUSIVE
    return 0

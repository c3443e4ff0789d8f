"""The ``picky`` command line: one module per command; this module assembles them and owns the
error policy.

Commands: ``picky verify`` (:mod:`.verify`, the main job), ``picky bounds`` (:mod:`.bounds`),
``picky simulate`` (:mod:`.simulate`), ``picky hunt`` (:mod:`.hunt`), ``picky figures``
(:mod:`.figures`), ``picky sweep`` (:mod:`.sweep`), ``picky async-run`` (:mod:`.async_run`), ``picky worst-case`` (:mod:`.worst_case`), ``picky list`` (:mod:`.listing`). Each module documents its JSON output.
Commands print, they do not compute science (that lives in :mod:`theory`, :mod:`verify.simulation`, ...).

Error policy (one path, here):

- a user error (bad input: a ``ValueError``, or an ``OSError`` on a file the user named) ends in one
  line ``picky CMD: error: ...`` naming the parameter or file, its value and what is allowed; exit 2;
- Ctrl-C: one line saying how far the run got and what was kept ("nothing written" unless a
  command says otherwise); exit 130;
- a closed output pipe (``picky list | head -1``): quiet, exit 0;
- anything else is an internal error: a short message and where to report it, exit 3; the
  traceback only with ``--debug`` or ``PICKY_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence

import theory

from ..engine import Interrupted
from . import async_run, bounds, figures, hunt, listing, simulate, sweep, verify, worst_case

__all__ = ["main", "build_parser", "REPORT_TO", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_INTERNAL"]

REPORT_TO = "the picky-sgd issue tracker (the project's repository)"
EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="picky",
        description="Checkable science for Picky SGD (Cohen et al., NeurIPS 2021): bounds, simulations, checks.",
    )
    p.add_argument("--version", action="version", version=f"picky-sgd {theory.__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an internal error (or set PICKY_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)
    for mod in (verify, hunt, bounds, simulate, sweep, async_run, figures, listing, worst_case):
        mod.add_parser(sub)
    return p


def _quiet_broken_pipe() -> int:
    """stdout's reader went away: discard what is still buffered, exit quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
    return 0


def _interrupted(command: str, exc: BaseException) -> str:
    kept = getattr(exc, "kept", None) or "nothing written"
    if isinstance(exc, Interrupted):
        return f"picky {command}: interrupted after {exc.done} of {exc.total} lane-steps; {kept}"
    return f"picky {command}: interrupted; {kept}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("PICKY_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]  # accepted before or after the command
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    args.argv = ["picky", *argv]
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt as exc:
        print(_interrupted(args.command, exc), file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:  # bad input: one clear line, exit code 2 (as argparse does)
        if debug:
            traceback.print_exc()
        print(f"picky {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file the user named: not found, not readable, disk full, ...
        if debug:
            traceback.print_exc()
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"picky {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # an internal error: short, and where to report it
        if debug:
            traceback.print_exc()
        print(f"picky {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"  please report it at {REPORT_TO} with the command line"
              + ("" if debug else " and the output of the same command with --debug"), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

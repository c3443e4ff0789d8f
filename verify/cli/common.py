"""What every ``picky`` command shares: argparse types, number formatting, tables, JSON output.

The argument types describe their ranges with :mod:`theory.validation`'s words, so that the CLI and
the API reject a value with the same message ("must be a positive integer; got ...")."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Callable, Sequence


from theory.validation import describe_int, describe_real

from verify.io import jsonsafe
from ..params import MAX_SEED, MAX_STEPS
from verify.io.jsonsafe import plain_json

__all__ = ["positive_int", "nonneg_int", "positive_float", "nonneg_float", "fmt", "print_table", "flagged",
           "plain_json", "dump", "kv"]


def int_at_least(low: int, what: str, high: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer >= low (and <= high, if given)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = low - 1
        if v < low or (high is not None and v > high):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
        return v

    return parse


positive_int = int_at_least(1, describe_int(1))
nonneg_int = int_at_least(0, describe_int(0))
#: the limits of the engine: T fits its int32 slot plan; a seed fits numpy's 64-bit seeding
MAX_LANES = 10**6
MAX_DIM = 10**7
steps_int = int_at_least(1, describe_int(1, MAX_STEPS), MAX_STEPS)
seed_int = int_at_least(0, describe_int(0, MAX_SEED), MAX_SEED)
lanes_int = int_at_least(1, describe_int(1, MAX_LANES), MAX_LANES)
dim_int = int_at_least(1, describe_int(1, MAX_DIM), MAX_DIM)


def real(low_ok: Callable[[float], bool], what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and low_ok(v)):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
        return v

    return parse


positive_float = real(lambda v: v > 0, describe_real(0.0, low_open=True))
nonneg_float = real(lambda v: v >= 0, describe_real(0.0, low_open=False))


def fmt(x: Any, digits: int = 6) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x:.{digits}g}"
    return str(x)


def print_table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())


def flagged(flag: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    """``fn(*a, **kw)``, with a ValueError's message prefixed by the CLI parameter it concerns."""
    try:
        return fn(*a, **kw)
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


def dump(obj: Any, stream: Any = None) -> None:
    """``obj`` as standard JSON (the package's policy, :mod:`verify.io.jsonsafe`: non-finite floats are
    ``null``, listed under ``nonfinite``)."""
    (stream or sys.stdout).write(jsonsafe.dumps(obj, indent=2) + "\n")


def kv(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'-' if v is None else fmt(v)}" for k, v in params.items()) or "no parameters"


EXECUTOR_HELP = (
    "on several machines: start `dask scheduler` on one (it prints tcp://HOST:8786) and\n"
    "`dask worker tcp://HOST:8786` on each of the others (each with this package installed and the\n"
    "output directory on a shared filesystem); then pass --scheduler tcp://HOST:8786\n"
)


def add_executor_options(p: argparse.ArgumentParser, what: str, default: str = "this process") -> None:
    """``--processes N | --local-cluster N | --scheduler ADDR`` (mutually exclusive): where ``what`` runs."""
    g = p.add_argument_group(f"where {what} run (default: {default})")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--processes", type=positive_int, default=None, metavar="N", help=f"run {what} on N local processes")
    x.add_argument("--local-cluster", type=positive_int, default=None, metavar="N",
                   help=f"run {what} on a Dask LocalCluster of N worker processes (loopback)")
    x.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help=f"run {what} on an existing Dask cluster")


def check_destination(path: str, flag: str) -> None:
    """Fail fast: ValueError naming ``flag`` if ``path`` cannot be written (checked as
    :class:`verify.io.output.OutputDir` checks it, by making and removing its temporary sibling), before a
    command's heavy imports. The command's own OutputDir decides later about an existing result."""
    from verify.io.output import OutputDir

    OutputDir(path, force=True, flag=flag).abort()


def executor_from(args: argparse.Namespace, default: str = "inline", default_workers: int = 2) -> Any:
    """The :class:`verify.runtime.executors.Executor` that :func:`add_executor_options`' flags name; a Dask one
    only if Dask is installed (else :class:`verify.optional.MissingDependency`, naming the extra)."""
    from verify.runtime.executors import Executor
    from ..optional import check

    if args.local_cluster:
        check("distributed", "--local-cluster")
        return Executor("local-cluster", args.local_cluster)
    if args.scheduler:
        check("distributed", "--scheduler")
        return Executor("scheduler", scheduler=args.scheduler)
    if args.processes:
        return Executor("processes", args.processes)
    return Executor(default, default_workers)


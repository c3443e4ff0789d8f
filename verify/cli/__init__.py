"""The ``picky`` command line: one module per command; this module assembles them and owns the
error policy.

Commands: ``picky verify`` (:mod:`.verify`, the main job), ``picky bounds`` (:mod:`.bounds`),
``picky simulate`` (:mod:`.simulate`), ``picky hunt`` (:mod:`.hunt`), ``picky list`` (:mod:`.listing`). Each module documents its JSON output. A user error (bad input) ends in one
line naming the parameter, its value and what is allowed, exit code 2; commands print, they do not
compute science (that lives in :mod:`theory`, :mod:`verify.simulation`, ...).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import theory

from . import bounds, hunt, listing, simulate, verify

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="picky",
        description="Checkable science for Picky SGD (Cohen et al., NeurIPS 2021): bounds, simulations, checks.",
    )
    p.add_argument("--version", action="version", version=f"picky-sgd {theory.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for mod in (verify, hunt, bounds, simulate, listing):
        mod.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = ["picky", *argv]
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # bad input: one clear line, exit code 2 (as argparse does)
        parser.exit(2, f"picky {args.command}: error: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

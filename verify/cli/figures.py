"""``picky figures``: regenerate every figure into ``figures/`` (being built; see issue 13)."""
from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    f = sub.add_parser("figures", help="regenerate the figures (work in progress)")
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise ValueError("picky figures is not built yet")

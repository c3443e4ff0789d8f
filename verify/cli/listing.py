"""``picky list``: the algorithms, problems, delay models and noise models (with defaults).

``--json``: schema ``picky-list/1``, keys ``schema, algorithms`` ({name: {overrides}}),
``compute_algorithms`` ({name: {overrides}}: the methods with their own schedule, ``--compute`` only),
``problems, delay_models, compute_models, noises`` ({name: {description, defaults}}).
"""
from __future__ import annotations

import argparse
from typing import Any

from ..catalog import catalog
from .common import dump, kv, print_table
from .simulate import FLAGS

SCHEMA = "picky-list/1"


def add_parser(sub: Any) -> None:
    ls = sub.add_parser("list", help="algorithms, problems, delay models and noise models (with defaults)",
                        description="List what picky simulate accepts: algorithms (and the overrides each takes), "
                        "problems, delay models and noise models, with their default parameters.")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=run)


def _listing() -> dict[str, Any]:
    """From the registries, through :mod:`verify.catalog` (cached on disk: no numba, SciPy or SymPy import)."""
    cat = catalog()
    return {
        "schema": SCHEMA,
        "algorithms": {a: {"overrides": [FLAGS[k] for k in cat["overrides"][a]]} for a in cat["algorithms"]},
        "compute_algorithms": {a: {"overrides": [FLAGS[k] for k in v]} for a, v in cat["compute_algorithms"].items()},
        "problems": cat["problems"],
        "delay_models": cat["delay_models"],
        "noises": cat["noises"],
        "compute_models": cat["compute_models"],
    }


def run(args: argparse.Namespace) -> int:
    data = _listing()
    if args.json:
        dump(data)
        return 0
    print("algorithms (picky simulate --algorithm A[,A...]; parameters from the theory unless overridden):")
    print_table(("  name", "overrides"), [(f"  {a}", " ".join(v["overrides"])) for a, v in data["algorithms"].items()])
    print()
    print("with --compute only (each on the schedule its policy induces; --eta is rennala's and minibatch's gamma):")
    print_table(("  name", "overrides"), [(f"  {a}", " ".join(v["overrides"])) for a, v in data["compute_algorithms"].items()])
    sections = (("problems", "--problem NAME[:k=v,...], with --dim D"), ("delay_models", "--delays MODEL[:k=v,...]"),
                ("compute_models", "--compute MODEL[:k=v,...], instead of --delays"), ("noises", "--noise NAME[:k=v,...]"))
    titles = {"problems": "problems", "delay_models": "delay models", "compute_models": "computation-time models",
              "noises": "noise models"}
    for key, how in sections:
        print()
        print(f"{titles[key]} ({how}):")
        print_table(("  name", "defaults", "description"),
                     [(f"  {n}", kv(v["defaults"]), v["description"]) for n, v in data[key].items()])
    return 0

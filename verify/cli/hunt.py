"""``picky hunt``: search delay sequences for a counterexample to a claimed bound (:mod:`verify.hunter`).

``picky hunt --algorithm A [--eta EXPR] --bound EXPR [--metric steps|rejections] [--sigma S]
[--budget N] [--seed K] [--save DIR]``. EXPRs are over beta, F, eps, sigma, tau_avg, tau_max, T,
sum_d. Prints the shrunk counterexample (the sequence as a program, the run, the margin, a replay
command) and exits 1, or prints "no counterexample in N examples" and exits 0.
"""
from __future__ import annotations

import argparse
import tempfile
from typing import Any

from ..catalog import catalog
from .common import fmt, nonneg_float, positive_int


def add_parser(sub: Any) -> None:
    h = sub.add_parser(
        "hunt", help="search delay sequences for a counterexample to a claimed bound",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=("The claim: for every delay sequence, METRIC <= BOUND. steps: every sequence d_1..d_T with\n"
                     "T >= BOUND(d_1..d_T) lets the algorithm reach eps by step T (with sigma > 0: with probability\n"
                     ">= 1/2, by an exact binomial test); rejections: gradients rejected before the first hit <= BOUND.\n"
                     "Expressions over: " + ", ".join(catalog()["hunt_symbols"]) + "."),
        epilog=("examples:\n"
                "  picky hunt --algorithm picky --bound 'Max(512*beta*F/eps**2, 8960*beta*F*tau_avg/eps**2)'  # Theorem D'\n"
                "  picky hunt --algorithm delayed-sgd --eta '1/(9*beta*(1+tau_avg))' --bound '64*beta*F*(1+tau_avg)/eps**2'"),
    )
    h.add_argument("--algorithm", required=True, choices=list(catalog()["algorithms"]))
    h.add_argument("--bound", required=True, metavar="EXPR", help="the claimed bound (see above)")
    h.add_argument("--eta", default=None, metavar="EXPR", help="step size expression (default: the theory's)")
    h.add_argument("--metric", choices=("steps", "rejections"), default="steps")
    h.add_argument("--sigma", type=nonneg_float, default=0.0, metavar="S", help="noise level (default 0)")
    h.add_argument("--seeds", type=positive_int, default=32, metavar="K", help="runs per sequence when sigma > 0")
    h.add_argument("--budget", type=positive_int, default=200, metavar="N", help="sequences to search (default 200)")
    h.add_argument("--seed", type=int, default=0, metavar="K", help="seed of the search (default 0)")
    h.add_argument("--save", default=None, metavar="DIR", help="where to write the counterexample (default: a temp dir)")
    h.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import hunter

    conj = hunter.Conjecture(algorithm=args.algorithm, bound=args.bound, eta=args.eta, metric=args.metric,
                             sigma=args.sigma, seeds=args.seeds)
    out = hunter.hunt(conj, budget=args.budget, seed=args.seed)
    print(f"picky hunt  {args.algorithm}: {args.metric} <= {args.bound}" + (f"  (eta = {args.eta})" if args.eta else ""))
    if not out.found:
        print(f"no counterexample in {out.examples} examples ({out.discarded} sequences discarded: the bound's "
              "condition never held)")
        return 0
    d = out.detail
    directory = args.save or tempfile.mkdtemp(prefix="picky-hunt-")
    path = hunter.save_counterexample(out, directory)
    print(f"COUNTEREXAMPLE (shrunk; {out.examples} sequences evaluated, shrinking included):")
    print(f"  delays   {out.program.describe()}  (then zeros), on {out.instance}: tau_avg = {fmt(d['tau_avg'], 4)}, "
          f"tau_max = {d['tau_max']}")
    if args.metric == "steps":
        print(f"  horizon  T = {d['T']} (the first T >= bound; bound there = {fmt(d['bound_at_T'])})")
        print(f"  run      eta = {fmt(d['eta'])}: hit eps in {d['hits']} of {d['runs']} runs by T"
              + (f" (binomial p = {d['p_value']:.3g})" if d.get("p_value") is not None else "")
              + f"; median first hit {fmt(d['median_first_hit'])}; margin {fmt(d['margin'], 4)} x T")
    else:
        print(f"  run      eta = {fmt(d['eta'])}: {d['rejections']} rejections before the first hit > bound {fmt(d['bound'])}"
              f" (margin {fmt(d['margin'], 4)})")
    print(f"  saved    {path}")
    print(f"  replay   {out.replay_command(str(path))}")
    return 1

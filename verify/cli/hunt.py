"""``picky hunt``: search delay sequences for a counterexample to a claimed bound (:mod:`verify.search.hunter`).

``picky hunt --algorithm A [--eta EXPR] [--param NAME=EXPR ...] --bound EXPR [--metric steps|rejections]
[--problem SPEC --eps E [--dim D]] [--sigma S] [--budget N] [--max-seconds S] [--seed K] [--save DIR]``.
Prints the instance(s) searched, progress on stderr, then the shrunk counterexample (the sequence as
a program, the run, the measured margin, a replay command with an absolute path) and exits 1, or
"no counterexample among N sequences" and exits 0. A bound that cannot hold is refused (exit 2).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any

from verify.catalog import catalog
from .common import dim_int, fmt, nonneg_float, positive_float, positive_int

_DEFAULTS = "\n".join(f"  {name:7s} {inst['spec']}, dim {inst['dim']}, eps {inst['eps']:g}"
                      for name, inst in catalog()["hunt_instances"].items())


def add_parser(sub: Any) -> None:
    h = sub.add_parser(
        "hunt", help="search delay sequences for a counterexample to a claimed bound",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "The claim: for every delay sequence, METRIC <= BOUND.\n"
            "  steps: every sequence d_1..d_T with T >= BOUND(d_1..d_T) lets the algorithm reach eps by step T\n"
            "    (with sigma > 0: with probability >= 1/2, by an exact binomial test);\n"
            "  rejections: the gradients rejected before the first eps-stationary iterate x_h <= BOUND, with\n"
            "    every statistic of the bound taken over the same prefix, steps 1..h-1 (the whole run if it\n"
            "    never hits).\n"
            "Expressions over: " + ", ".join(catalog()["hunt_symbols"]) + " (statistics of the prefix; B = 24*beta*F/eps**2,\n"
            "the counting lemma's breakpoint count for Picky SGD at sigma = 0), and in a rejections bound also\n"
            "the run's counts over the prefix: " + ", ".join(catalog()["hunt_run_symbols"]) + ".\n"
            "Instances (problem specs as `picky list` names them; beta and F exact). Default: every sequence on\n"
            "each of\n" + _DEFAULTS + "\n"
            "(--dim/--eps without --problem replace theirs); --problem SPEC --eps E [--dim D] searches one.\n"
            "A bound that cannot hold (NaN, negative, 0 everywhere, or for steps <= 1 at T = 1) is refused.\n"
            "Work: at most --budget sequences are evaluated (shrinking included) and, with --max-seconds, no\n"
            "new one after that time; progress goes to stderr every few seconds."),
        epilog=("examples:\n"
                "  picky hunt --algorithm picky --bound 'Max(512*beta*F/eps**2, 8960*beta*F*tau_avg/eps**2)'  # Theorem D'\n"
                "  picky hunt --algorithm delayed-sgd --eta '1/(9*beta*(1+tau_avg))' --bound '64*beta*F*(1+tau_avg)/eps**2'\n"
                "  picky hunt --algorithm picky --metric rejections --bound 'sqrt(2*B*sum_d)' --problem logsum --eps 0.5\n"
                "  picky hunt --algorithm picky --param 'rho=10*eps/(2*beta)' --bound '2048*beta*F*(1+tau_avg)/eps**2'\n"
                "  picky hunt --algorithm picky --accept 'dist <= 10*rho' --bound '2048*beta*F*(1+tau_avg)/eps**2'"),
    )
    h.add_argument("--algorithm", required=True, choices=list(catalog()["algorithms"]))
    h.add_argument("--bound", required=True, metavar="EXPR", help="the claimed bound (see above)")
    h.add_argument("--eta", default=None, metavar="EXPR", help="step size expression (default: the theory's)")
    h.add_argument("--accept", default=None, metavar="EXPR",
                   help="replace the algorithm's accept test (a user rule, README: Your own rules): a condition in dist "
                        "(= ||x_t - x_{t-d_t}||), d_t, the rule's parameters (rho, R, tau_C, eta), beta, eps, sigma; "
                        "e.g. 'dist <= 10*rho'")
    h.add_argument("--param", action="append", default=[], metavar="NAME=EXPR",
                   help="another rule parameter (rho, R, tau_C: an expression; rule: a name), repeatable "
                        "(default: the theory's)")
    h.add_argument("--metric", choices=("steps", "rejections"), default="steps")
    h.add_argument("--problem", default=None, metavar="SPEC",
                   help="search this problem only (a spec of `picky list`, e.g. logsum or quadratic:mu=0.01); needs --eps")
    h.add_argument("--dim", type=dim_int, default=None, metavar="D",
                   help=f"dimension (default: {catalog()['hunt_default_dim']} with --problem, else each default instance's)")
    h.add_argument("--eps", type=positive_float, default=None, metavar="E",
                   help="target ||grad f(x_t)|| <= E (required with --problem; default: each default instance's)")
    h.add_argument("--sigma", type=nonneg_float, default=0.0, metavar="S", help="noise level (default 0)")
    h.add_argument("--seeds", type=positive_int, default=32, metavar="K", help="runs per sequence when sigma > 0")
    h.add_argument("--budget", type=positive_int, default=200, metavar="N",
                   help="the most sequences evaluated, shrinking included (default 200)")
    h.add_argument("--max-seconds", type=positive_float, default=None, metavar="S",
                   help="evaluate no new sequence after S seconds (default: no limit; the result then depends on "
                        "the machine's speed, while --seed and --budget alone reproduce it)")
    h.add_argument("--seed", type=int, default=0, metavar="K", help="seed of the search (default 0)")
    h.add_argument("--save", default=None, metavar="DIR", help="where to write the counterexample (default: a temp dir)")
    h.set_defaults(func=run)


def _params(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--param must be NAME=EXPR (e.g. rho=10*eps/(2*beta)); got {item!r}")
        out.append((name.strip(), value.strip()))
    return out


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from verify.search import hunter

    conj = hunter.Conjecture(algorithm=args.algorithm, bound=args.bound, eta=args.eta, metric=args.metric,
                             sigma=args.sigma, seeds=args.seeds, problem=args.problem, dim=args.dim, eps=args.eps,
                             params=_params(args.param), accept=args.accept)
    print(f"picky hunt  {conj.statement()}")
    for inst in conj.instances:
        print(f"  on {inst.describe()}")
    sys.stdout.flush()
    out = hunter.hunt(conj, budget=args.budget, seed=args.seed, max_seconds=args.max_seconds, progress=_progress)
    stop = {"budget": f"stopped at the budget of {args.budget}", "time": f"stopped at --max-seconds {args.max_seconds}",
            None: "the search ended on its own"}[out.stopped]
    work = f"{out.examples} sequence{'s' if out.examples != 1 else ''} evaluated in {out.seconds:.0f} s ({stop}"
    if out.skipped:
        work += "; " + "; ".join(f"{n} skipped: {why}" for why, n in out.skipped.items())
    work += ")"
    if not out.found:
        print(f"no counterexample among {work}")
        return 0
    d = out.detail
    directory = args.save or tempfile.mkdtemp(prefix="picky-hunt-")
    path = hunter.save_counterexample(out, directory)
    how = "shrunk" if out.shrunk else "a family example, checked first, not shrunk"
    print(f"COUNTEREXAMPLE ({how}; {work}):")
    print(f"  delays   {out.program.describe()}  (then zeros): tau_avg = {fmt(d['tau_avg'], 4)}, "
          f"tau_max = {d['tau_max']}, sum_d = {d['sum_d']} over the first {d['T']} steps")
    print(f"  on       {out.instance.describe()}")
    params = ", ".join(f"{k} = {fmt(v)}" for k, v in d["parameters"].items())
    if args.metric == "steps":
        print(f"  horizon  T = {d['T']} (the first T >= bound; bound there = {fmt(d['bound_at_T'])})")
        runs = f"hit eps in {d['hits']} of {d['runs']} runs by T" + (
            f" (binomial p = {d['p_value']:.3g})" if d.get("p_value") is not None else "")
        if d["median_first_hit"] is None:
            runs += f"; {'it' if d['runs'] == 1 else 'the median run'} never hit eps within T = {d['T']} steps"
        else:
            runs += f"; median first hit {d['median_first_hit']:g} = {d['margin']:.4g} x T"
        if d.get("diverged"):
            runs += f"; {d['diverged']} diverged"
        print(f"  run      {params}: {runs}")
    else:
        hit = (f"first hit at step {d['first_hit']}" if d["first_hit"] is not None
               else f"never hit eps within the {d['T']} steps run")
        print(f"  run      {params}: {hit}; {d['rejections']} rejections (and {d['accepted']} accepted) before it "
              f"> bound {fmt(d['bound'])} (rejections/bound = {d['margin']:.6g})")
    print(f"  saved    {path}")
    print(f"  replay   {out.replay_command(path)}")
    return 1

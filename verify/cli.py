"""The ``picky`` command line.

Subcommands
-----------
``picky bounds``     the iteration bounds of every applicable result for one parameter set.
``picky simulate``   run algorithms x seeds on one problem and one delay sequence (or ``--replay``
                     a saved run) and compare with Theorem D'.
``picky list``       the algorithms, problems, delay models and noise models (with defaults);
                     ``--json``: schema ``picky-list/1``, keys ``schema, algorithms`` ({name:
                     {overrides}}), ``problems, delay_models, noises`` ({name: {description,
                     defaults}}).

JSON output of ``picky bounds --json`` (schema ``picky-bounds/1``; keys are stable):

- ``schema``, ``version``: format and package version;
- ``parameters``: the inputs (beta, F, sigma, eps, tau_avg, tau_max, workers, q, tau_q, delta,
  convention, constants);
- ``results``: one object per result with keys ``id, title, status, kind, convention,
  source_convention, applicable, missing, iterations, restarts, iterations_with_restarts,
  step_size, threshold, success_probability, constant, delay_parameters, notes`` and, with
  ``--latex``, ``latex``. ``iterations`` is the real-valued bound on the number of steps (take the
  ceiling for an integer horizon); ``null`` when the result is not applicable (see ``missing``).

JSON output of ``picky simulate --json`` (schema ``picky-simulate/1``; keys are stable;
non-finite floats are written as ``null``):

- ``schema``, ``version``; ``command``: the argument list (``["picky", "simulate", ...]``);
- ``parameters``: every CLI parameter, defaults filled in: ``algorithms`` (list), ``problem``,
  ``dim``, ``noise``, ``sigma``, ``delays`` (spec), ``delay_seed``, ``eps``, ``steps`` (T),
  ``seeds`` (K), ``seed0``, ``eta``, ``rho``, ``R``, ``tau_C``, ``rule`` (``null`` = default from
  :func:`verify.algorithms.resolve`), ``stop_at_hit``, ``trace_every``, ``engine``;
- ``problem``, ``noise``: ``describe()`` of the problem (beta, F, exactness flags) and noise;
- ``delay_stats``: ``model``, ``params``, ``seed``, ``clipped`` and the statistics ``T, tau_avg,
  tau_max, sum, n_nonzero, quantiles`` (``q50, q90, q99``) of the shared delay sequence;
- ``theory``: Theorem D' (``result`` = ``picky-explicit-sharp``): ``result, title, guarantee,
  success_probability, T, first_horizon`` (first horizon <= T at which the theorem guarantees
  success probability >= 1/2, ``null`` if the condition is not met within T),
  ``condition_met_within_T``, ``applies_to_picky`` (``true`` if picky ran with the theorem's eta
  and rho, ``false`` if the user overrode them, ``null`` without a picky lane);
- ``runs``: one object per lane (lane = algorithm x seed, algorithm-major): ``lane`` plus
  :meth:`verify.records.RunResult.summary`;
- ``aggregate``: one object per algorithm: ``algorithm, config`` (resolved parameters and their
  sources), ``eta, rho, R, tau_C, rule, lanes, successes, success_fraction`` (first_hit not None),
  ``first_hit_median, first_hit_min, first_hit_max`` (over successful lanes; ``null`` if none),
  ``accepted_mean, rejected_mean, diverged`` and, for picky, ``hit_by_first_horizon`` (lanes with
  first_hit <= theory.first_horizon; ``null`` if the condition is not met within T);
- with ``--replay`` also ``replay``: ``{"directory", "lanes", "reproduced", "mismatches"}``.

A directory written by ``picky simulate --save DIR`` holds ``run.json`` (``schema``, ``command``,
``parameters`` as above, ``lanes`` (their number), ``version``), ``delays.json`` (the delay sequence,
:func:`verify.delays.save_trace`) and ``runs/lane-XXXX.json`` (:meth:`RunResult.save`, one per
lane): ``picky simulate --replay DIR`` reruns it from these files alone and compares every lane.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import theory

from . import algorithms, engine, problems
from . import delays as delay_models
from .progress import Progress
from .records import RunResult

__all__ = ["main", "build_parser"]

BOUNDS_SCHEMA = "picky-bounds/1"
SIMULATE_SCHEMA = "picky-simulate/1"
LIST_SCHEMA = "picky-list/1"
#: the statement compared with the picky lanes (Theorem D', derived in this package)
THEOREM = "picky-explicit-sharp"
#: the command-line flag that supplies each parameter
_FLAG = {"tau_C": "--workers", "q": "--quantile", "tau_q": "--tau-q", "tau_avg": "--tau-avg", "tau_max": "--tau-max"}


def _int_at_least(low: int, what: str):
    """argparse type: an integer >= low."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = low - 1
        if v < low:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
        return v

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def _real(low_ok: Callable[[float], bool], what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and low_ok(v)):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
        return v

    return parse


_positive_float = _real(lambda v: v > 0, "a finite number > 0")
_nonneg_float = _real(lambda v: v >= 0, "a finite number >= 0")


def _constant(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"must look like RESULT_ID=VALUE (e.g. picky=2); got {text!r}")
    key, val = text.split("=", 1)
    try:
        return key.strip(), float(val)
    except ValueError:
        raise argparse.ArgumentTypeError(f"value of {key} must be a number; got {val!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="picky",
        description="Checkable science for Picky SGD (Cohen et al., NeurIPS 2021): bounds, simulations, checks.",
    )
    p.add_argument("--version", action="version", version=f"picky-sgd {theory.__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser(
        "bounds",
        help="iteration bounds of every applicable result for one parameter set",
        description=(
            "Print, for one parameter set, the steps each result asks for (norm convention ||grad f|| <= eps "
            "unless --convention squared), with its provenance label, step size and threshold. "
            "Rate-only results carry an unknown absolute constant C (default 1, a placeholder: set it with --constant)."
        ),
    )
    b.add_argument("--beta", type=float, required=True, help="smoothness constant beta > 0")
    b.add_argument("--F", type=float, required=True, help="initial gap F = f(x_1) - inf f > 0")
    b.add_argument("--sigma", type=float, required=True, help="noise standard deviation sigma >= 0")
    b.add_argument("--eps", type=float, required=True, help="target accuracy eps > 0")
    b.add_argument("--tau-avg", type=float, default=None, help="average delay (1/T) sum d_t >= 0")
    b.add_argument("--tau-max", type=float, default=None, help="maximal delay max d_t >= tau_avg")
    b.add_argument("--workers", type=_positive_int, default=None, help="number of workers n (concurrency tau_C = n)")
    b.add_argument("--quantile", type=float, default=None, dest="q", help="quantile level q in (0, 1] (with --tau-q)")
    b.add_argument("--tau-q", type=float, default=None, help="q-quantile of the delays (with --quantile)")
    b.add_argument("--delta", type=float, default=None, help="failure probability in (0,1): adds ceil(log2(1/delta)) restarts")
    b.add_argument("--convention", choices=theory.CONVENTIONS, default="norm", help="norm: ||grad f|| <= eps; squared: ||grad f||^2 <= eps")
    b.add_argument("--constant", type=_constant, action="append", default=[], metavar="ID=C", help="set a result's unknown constant C (repeatable)")
    b.add_argument("--json", action="store_true", help="machine-readable output (schema picky-bounds/1)")
    b.add_argument("--latex", action="store_true", help="include the LaTeX of every bound")
    b.set_defaults(func=_cmd_bounds)
    _add_simulate(sub)
    ls = sub.add_parser("list", help="algorithms, problems, delay models and noise models (with defaults)",
                        description="List what picky simulate accepts: algorithms (and the overrides each takes), "
                        "problems, delay models and noise models, with their default parameters.")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_cmd_list)
    return p


#: simulate options that describe a run (not allowed with --replay): dest -> flag
_RUN_FLAGS = {
    "algorithm": "--algorithm", "problem": "--problem", "delays": "--delays", "eps": "--eps", "steps": "--steps",
    "seeds": "--seeds", "sigma": "--sigma", "dim": "--dim", "noise": "--noise", "seed0": "--seed0",
    "delay_seed": "--delay-seed", "eta": "--eta", "rho": "--rho", "R": "--R", "tau_C": "--tau-C", "rule": "--rule",
    "stop_at_hit": "--stop-at-hit", "trace_every": "--trace-every", "engine": "--engine", "save": "--save",
    "force": "--force",
}
#: required unless --replay
_REQUIRED = ("algorithm", "delays", "eps", "steps", "seeds")
#: algorithm parameters the user may override (dest = resolve() keyword); which algorithm takes
#: which is algorithms.OVERRIDES
_OVERRIDES = tuple(dict.fromkeys(n for names in algorithms.OVERRIDES.values() for n in names))


def _add_simulate(sub: Any) -> None:
    s = sub.add_parser(
        "simulate",
        usage=("%(prog)s --algorithm A[,A...] --delays MODEL[:k=v,...] --eps E --steps T --seeds K [options]\n"
               "       %(prog)s --replay DIR [--json] [--progress | --no-progress]"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  picky simulate --algorithm picky,delayed-sgd --delays pareto:alpha=1.5,scale=3 --eps 0.5 --steps 20000 --seeds 10\n"
            "  picky simulate --algorithm picky --problem quadratic:scale=0.1 --dim 2 --delays straggler --eps 0.05 \\\n"
            "                 --steps 2000 --seeds 4 --save out/run1\n"
            "  picky simulate --replay out/run1        # exit 0 iff every lane is reproduced"
        ),
        help="run algorithms x seeds on one problem and one delay sequence; compare with Theorem D'",
        description=(
            "Run every --algorithm on the same delay sequence and the same seeds seed0..seed0+K-1\n"
            "(common random numbers) and report, per algorithm, how often and how early\n"
            "||grad f(x_t)|| <= eps was reached; for picky, also the first horizon at which Theorem D'\n"
            "guarantees success probability >= 1/2. Step sizes and thresholds default to the theory's\n"
            "(verify.algorithms.resolve). See `picky list` for the names and their defaults."
        ),
    )
    run = s.add_argument_group("run")
    run.add_argument("--algorithm", action="append", default=None, metavar="A[,A...]",
                     help=f"(required) algorithm(s), repeatable or comma-separated: {', '.join(algorithms.ALGORITHMS)}")
    run.add_argument("--problem", default="logsum", metavar="P[:k=v,...]", help="problem spec (default logsum)")
    run.add_argument("--delays", default=None, metavar="MODEL[:k=v,...]", help="(required) delay model spec, e.g. pareto:alpha=1.5,scale=3; one sequence shared by all lanes")
    run.add_argument("--eps", type=_positive_float, default=None, metavar="E", help="(required) target accuracy: success iff ||grad f(x_t)|| <= eps")
    run.add_argument("--steps", type=_positive_int, default=None, metavar="T", help="(required) horizon T (number of steps)")
    run.add_argument("--seeds", type=_positive_int, default=None, metavar="K", help="(required) number of seeds per algorithm: seed0..seed0+K-1")
    run.add_argument("--sigma", type=_nonneg_float, default=0.0, metavar="S", help="noise standard deviation (default 0)")
    run.add_argument("--dim", type=_positive_int, default=10, metavar="D", help="problem dimension (default 10)")
    run.add_argument("--noise", default="gaussian", metavar="N[:k=v]", help="noise model spec (default gaussian)")
    run.add_argument("--seed0", type=_nonneg_int, default=0, metavar="S0", help="first seed (default 0)")
    run.add_argument("--delay-seed", type=_nonneg_int, default=0, metavar="S", help="seed of a random delay model (default 0)")
    par = s.add_argument_group("algorithm parameters (default: from the theory via verify.algorithms.resolve)")
    par.add_argument("--eta", type=_positive_float, default=None, metavar="X", help="step size (every algorithm)")
    par.add_argument("--rho", type=_positive_float, default=None, metavar="X", help="picky: accept iff ||x_t - x_{t-d_t}|| <= rho")
    par.add_argument("--R", type=_positive_int, default=None, metavar="N", help="stale-drop: accept iff d_t < R")
    par.add_argument("--tau-C", type=_positive_float, default=None, metavar="X", help="delay-adaptive: delays <= tau_C keep eta")
    par.add_argument("--rule", choices=algorithms.RULES, default=None, help="delay-adaptive: step rule for d_t > tau_C")
    out = s.add_argument_group("execution and output")
    out.add_argument("--stop-at-hit", action="store_true", help="stop each lane at its first hit")
    out.add_argument("--trace-every", type=_positive_int, default=None, metavar="N", help="record ||grad f|| and f every N steps")
    out.add_argument("--engine", choices=("numpy", "reference"), default="numpy",
                     help="numpy: all lanes in one batch (default); reference: the literal loop, lane by lane")
    out.add_argument("--json", action="store_true", help=f"machine-readable output (schema {SIMULATE_SCHEMA})")
    out.add_argument("--save", default=None, metavar="DIR", help="write run.json, delays.json and runs/lane-XXXX.json to DIR")
    out.add_argument("--force", action="store_true", help="with --save: allow a non-empty DIR (its run files are replaced)")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: only when stderr is a terminal)")
    out.add_argument("--replay", default=None, metavar="DIR",
                     help="rerun a --save directory and check every lane is reproduced (exit 1 if not)")
    s.set_defaults(func=_cmd_simulate, run_defaults={d: s.get_default(d) for d in _RUN_FLAGS})


def _fmt(x: Any, digits: int = 6) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x:.{digits}g}"
    return str(x)


def _cmd_bounds(args: argparse.Namespace) -> int:
    constants = dict(args.constant)
    rows = theory.compare(
        beta=args.beta,
        F=args.F,
        eps=args.eps,
        sigma=args.sigma,
        tau_avg=args.tau_avg,
        tau_max=args.tau_max,
        workers=args.workers,
        q=args.q,
        tau_q=args.tau_q,
        delta=args.delta,
        convention=args.convention,
        constants=constants,
    )
    if args.latex:
        for r in rows:
            r["latex"] = theory.latex(r["id"])
    params = {
        "beta": args.beta,
        "F": args.F,
        "sigma": args.sigma,
        "eps": args.eps,
        "tau_avg": args.tau_avg,
        "tau_max": args.tau_max,
        "workers": args.workers,
        "q": args.q,
        "tau_q": args.tau_q,
        "delta": args.delta,
        "convention": args.convention,
        "constants": constants,
    }
    if args.json:
        json.dump({"schema": BOUNDS_SCHEMA, "version": theory.__version__, "parameters": params, "results": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    conv = "||grad f|| <= eps" if args.convention == "norm" else "||grad f||^2 <= eps"
    given = ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, {}) and k != "convention")
    print(f"picky bounds  ({conv};  {given})")
    head = ("result", "status", "kind", "steps T", "x restarts", "step size", "threshold", "note")
    table = []
    for r in rows:
        note = []
        if not r["applicable"]:
            note.append("needs " + ", ".join(_FLAG.get(m, "--" + m.replace("_", "-")) for m in r["missing"]))
        if r["constant"] is not None:
            c = r["constant"]
            note.append(f"C={_fmt(c['value'])} ({c['status']})")
        for k, v in r["delay_parameters"].items():
            note.append(f"{k} := {v}")
        rest = "-" if r["iterations_with_restarts"] is None else f"{_fmt(r['iterations_with_restarts'])} ({r['restarts']})"
        table.append((r["id"], r["status"], r["kind"], _fmt(r["iterations"]), rest, _fmt(r["step_size"]), _fmt(r["threshold"]), "; ".join(note)))
    _print_table(head, table)
    print()
    print("status: paper-rate-only = the source's rate, constant C unknown (placeholder); derived = proved here, not the paper's constants.")
    print("kind: upper = T steps suffice; lower = T steps are necessary for some instance.")
    if args.latex:
        print()
        for r in rows:
            print(f"{r['id']}: T = {r['latex']}")
    return 0


# ------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------
def _print_table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())


def _flagged(flag: str, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    """``fn(*a, **kw)``, with a ValueError's message prefixed by the CLI parameter it concerns."""
    try:
        return fn(*a, **kw)
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


def _plain_json(x: Any) -> Any:
    """JSON-ready copy: numpy scalars -> Python, non-finite floats -> None."""
    if isinstance(x, dict):
        return {str(k): _plain_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain_json(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _dump(obj: Any, stream: Any = None) -> None:
    json.dump(_plain_json(obj), stream or sys.stdout, indent=2, allow_nan=False)
    (stream or sys.stdout).write("\n")


def _kv(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'-' if v is None else _fmt(v)}" for k, v in params.items()) or "no parameters"


# ------------------------------------------------------------------------------------------
# picky simulate: building a run
# ------------------------------------------------------------------------------------------
@dataclass
class _Run:
    """One simulation: its CLI parameters and what they build. Lanes are algorithm-major."""

    params: dict[str, Any]
    problem: Any
    noise: Any
    seq: delay_models.DelaySequence
    configs: list[algorithms.Config]  # one per lane
    seeds: list[int]  # one per lane


def _algorithm_names(values: Sequence[str]) -> list[str]:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    allowed = ", ".join(algorithms.ALGORITHMS)
    if not names:
        raise ValueError(f"--algorithm: no algorithm given; allowed: {allowed}")
    for n in names:
        if n not in algorithms.ALGORITHMS:
            raise ValueError(f"--algorithm: unknown algorithm {n!r}; allowed: {allowed}")
    return list(dict.fromkeys(names))  # each once, in the order given


def _accepts(algorithm: str, name: str) -> bool:
    return name in algorithms.OVERRIDES[algorithm]


def _resolve_configs(names: Sequence[str], problem: Any, seq: Any, p: dict[str, Any]) -> dict[str, algorithms.Config]:
    """Each algorithm's Config; an override goes to the algorithms that take it, and one that no
    algorithm takes goes to all of them, so that ``resolve`` reports it."""
    given = {k: p[k] for k in _OVERRIDES if p[k] is not None}
    orphans = {k for k in given if not any(_accepts(a, k) for a in names)}
    out = {}
    for a in names:
        kw = {k: v for k, v in given.items() if k in orphans or _accepts(a, k)}
        out[a] = _flagged(f"--algorithm {a}", algorithms.resolve, a, beta=problem.beta, F=problem.F, eps=p["eps"],
                          sigma=p["sigma"], delays=seq, **kw)
    return out


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The run's parameters (all of them, defaults filled in), as saved in run.json."""
    missing = [_RUN_FLAGS[d] for d in _REQUIRED if getattr(args, d) is None]
    if missing:
        raise ValueError(
            f"missing {', '.join(missing)} (required unless --replay DIR); algorithms: {', '.join(algorithms.ALGORITHMS)}; "
            f"delay models: {', '.join(delay_models.MODELS)}"
        )
    p = {d: getattr(args, d) for d in _RUN_FLAGS if d not in ("algorithm", "save", "force")}
    return {"algorithms": _algorithm_names(args.algorithm), **p}


def _problem_and_noise(p: dict[str, Any]) -> tuple[Any, Any]:
    problem = _flagged("--problem", problems.make, p["problem"], p["dim"])
    noise = _flagged("--noise", problems.make_noise, p["noise"])
    return problem, noise


def _new_run(p: dict[str, Any]) -> _Run:
    problem, noise = _problem_and_noise(p)
    seq = _flagged("--delays", delay_models.make, p["delays"], p["steps"], seed=p["delay_seed"])
    cfg = _resolve_configs(p["algorithms"], problem, seq, p)
    seeds = list(range(p["seed0"], p["seed0"] + p["seeds"]))
    return _Run(p, problem, noise, seq, [cfg[a] for a in p["algorithms"] for _ in seeds],
                [s for _ in p["algorithms"] for s in seeds])


def _execute(run: _Run, progress: bool | None) -> list[RunResult]:
    """All lanes: one ``engine.run_batch`` call, or ``reference_run`` lane by lane."""
    kw = dict(T=run.params["steps"], noise=run.noise, trace_every=run.params["trace_every"],
              stop_at_hit=run.params["stop_at_hit"])
    if run.params["engine"] == "numpy":
        return engine.run_batch(run.problem, run.seq, run.configs, run.seeds, progress=progress, **kw)
    bar = Progress(len(run.seeds), f"reference {len(run.seeds)} lanes", enabled=progress)
    out = []
    for cfg, seed in zip(run.configs, run.seeds):
        out.append(algorithms.reference_run(run.problem, run.seq, cfg, seed=seed, **kw))
        bar.update(len(out))
    bar.close()
    return out


# ------------------------------------------------------------------------------------------
# picky simulate: the report (one dict; the text output is printed from it)
# ------------------------------------------------------------------------------------------
def _delay_stats(seq: delay_models.DelaySequence) -> dict[str, Any]:
    return {"model": seq.model, "params": dict(seq.params), "seed": seq.seed, "clipped": seq.clipped,
            **seq.stats().as_dict()}


def _theory(run: _Run) -> dict[str, Any]:
    """Theorem D' for this delay sequence and problem: the first horizon with guaranteed success
    probability >= 1/2 (from ``theory.first_horizon``)."""
    p = run.params
    st = theory.get(THEOREM)
    horizon = theory.first_horizon(run.seq.delays[: p["steps"]], result=THEOREM, beta=run.problem.beta,
                                   F=run.problem.F, sigma=p["sigma"], eps=p["eps"])
    picky = [c for c in run.configs if c.algorithm == "picky"]
    applies = all(c.source.get(k) != "user" for c in picky for k in ("eta", "rho")) if picky else None
    return {
        "result": THEOREM,
        "title": st.title,
        "guarantee": st.guarantee,
        "success_probability": float(st.success_probability),
        "T": p["steps"],
        "first_horizon": horizon,
        "condition_met_within_T": horizon is not None,
        "applies_to_picky": applies,
    }


def _aggregate(name: str, runs: list[RunResult], th: dict[str, Any]) -> dict[str, Any]:
    hits = [r.first_hit for r in runs if r.first_hit is not None]
    cfg = runs[0].config
    row = {
        "algorithm": name,
        "config": cfg,
        **{k: cfg.get(k) for k in ("eta", "rho", "R", "tau_C", "rule")},
        "lanes": len(runs),
        "successes": len(hits),
        "success_fraction": len(hits) / len(runs),
        "first_hit_median": statistics.median(hits) if hits else None,
        "first_hit_min": min(hits, default=None),
        "first_hit_max": max(hits, default=None),
        "accepted_mean": statistics.fmean(r.accepted for r in runs),
        "rejected_mean": statistics.fmean(r.rejected for r in runs),
        "diverged": sum(r.diverged for r in runs),
    }
    if name == "picky":
        h = th["first_horizon"]
        row["hit_by_first_horizon"] = None if h is None else sum(t <= h for t in hits)
    return row


def _report(run: _Run, results: list[RunResult], command: list[str]) -> dict[str, Any]:
    th = _theory(run)
    by_alg: dict[str, list[RunResult]] = {}
    for r in results:
        by_alg.setdefault(r.algorithm, []).append(r)
    return {
        "schema": SIMULATE_SCHEMA,
        "version": theory.__version__,
        "command": command,
        "parameters": run.params,
        "problem": run.problem.describe(),
        "noise": run.noise.describe(),
        "delay_stats": _delay_stats(run.seq),
        "theory": th,
        "runs": [{"lane": i, **r.summary()} for i, r in enumerate(results)],
        "aggregate": [_aggregate(a, rs, th) for a, rs in by_alg.items()],
    }


def _theory_cell(row: dict[str, Any], th: dict[str, Any]) -> str:
    if row["algorithm"] != "picky":
        return "-"
    if th["first_horizon"] is None:
        return f"condition not met within T = {th['T']}"
    return f"{th['first_horizon']} (hit by then: {row['hit_by_first_horizon']}/{row['lanes']})"


def _table_row(row: dict[str, Any], th: dict[str, Any]) -> tuple[str, ...]:
    other = [f"{k}={_fmt(row[k])}" for k in ("R", "tau_C", "rule") if row[k] is not None]
    med, lo, hi = row["first_hit_median"], row["first_hit_min"], row["first_hit_max"]
    return (
        row["algorithm"], _fmt(row["eta"]), _fmt(row["rho"]), " ".join(other) or "-",
        f"{row['success_fraction']:.2f} ({row['successes']}/{row['lanes']})",
        "-" if med is None else f"{_fmt(med)} [{lo}, {hi}]",
        _fmt(row["accepted_mean"]), _fmt(row["rejected_mean"]), str(row["diverged"]), _theory_cell(row, th),
    )


def _print_simulation(rep: dict[str, Any]) -> None:
    p, pr, ds, th = rep["parameters"], rep["problem"], rep["delay_stats"], rep["theory"]
    exact = {True: "exact", False: "upper bound"}
    q = ds["quantiles"]
    seeds = f"{p['seed0']}..{p['seed0'] + p['seeds'] - 1}"
    print(f"picky simulate  problem {pr['spec']} (dim {pr['dim']}): beta = {_fmt(pr['beta'])} ({exact[pr['beta_exact']]}), "
          f"F = {_fmt(pr['F'])} ({exact[pr['F_exact']]})")
    print(f"  noise {rep['noise']['spec']}, sigma = {_fmt(p['sigma'])};  eps = {_fmt(p['eps'])};  T = {p['steps']};  "
          f"seeds {seeds} per algorithm;  engine {p['engine']}")
    seed = "" if ds["seed"] is None else f", seed {ds['seed']}"
    clipped = f", {ds['clipped']} draws clipped to t-1" if ds["clipped"] else ""
    print(f"  delays {ds['model']} ({_kv(ds['params'])}{seed}): tau_avg = {_fmt(ds['tau_avg'])}, tau_max = {ds['tau_max']}, "
          f"q50/q90/q99 = {_fmt(q['q50'])}/{_fmt(q['q90'])}/{_fmt(q['q99'])}{clipped}")
    print()
    head = ("algorithm", "eta", "rho", "other", "success", "first_hit median [min, max]", "accepted", "rejected",
            "diverged", "Thm D' first horizon")
    _print_table(head, [_table_row(r, th) for r in rep["aggregate"]])
    print()
    print("success: some t <= T with ||grad f(x_t)|| <= eps (first_hit = the first such t); accepted, rejected: "
          "mean over seeds.")
    if th["applies_to_picky"] is not None:
        where = (f"its condition on (T, d_1..d_T) first holds at T = {th['first_horizon']}"
                 if th["first_horizon"] is not None else f"its condition is not met within T = {th['T']}")
        print(f"Theorem D' ({th['result']}, derived here): {th['guarantee']}; {where}.")
        if not th["applies_to_picky"]:
            print("note: picky ran with a user-set --eta/--rho, so Theorem D' does not cover these runs.")


def _emit(rep: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _dump(rep)
    else:
        _print_simulation(rep)


# ------------------------------------------------------------------------------------------
# picky simulate: --save and --replay
# ------------------------------------------------------------------------------------------
def _lane_path(directory: Path, lane: int) -> Path:
    return directory / "runs" / f"lane-{lane:04d}.json"


def _save_dir(path: str, force: bool) -> Path:
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise ValueError(f"--save: {path!r} exists and is not a directory")
    if d.is_dir() and any(d.iterdir()) and not force:
        raise ValueError(f"--save: directory {path!r} exists and is not empty (use --force to replace its run files)")
    return d


def _save(d: Path, run: _Run, results: list[RunResult], command: list[str]) -> None:
    (d / "runs").mkdir(parents=True, exist_ok=True)
    for old in (d / "runs").glob("lane-*.json"):
        old.unlink()
    record = {"schema": SIMULATE_SCHEMA, "command": command, "parameters": run.params, "lanes": len(results),
              "version": theory.__version__}
    (d / "run.json").write_text(json.dumps(_plain_json(record), indent=2, allow_nan=False) + "\n")
    delay_models.save_trace(run.seq, d / "delays.json")
    for i, r in enumerate(results):
        r.save(_lane_path(d, i))


def _read(path: Path, load: Callable[[Path], Any]) -> Any:
    try:
        return load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--replay: cannot read {str(path)!r}: {exc}") from None


def _load_saved(path: str) -> tuple[dict[str, Any], delay_models.DelaySequence, list[RunResult]]:
    """run.json, the delay sequence (read back from delays.json, not regenerated) and the lanes."""
    d = Path(path)
    if not d.is_dir():
        raise ValueError(f"--replay: no such directory {path!r} (expected a directory written by --save)")
    record = _read(d / "run.json", lambda f: json.loads(f.read_text()))
    if not isinstance(record, dict) or record.get("schema") != SIMULATE_SCHEMA:
        raise ValueError(f"--replay: {str(d / 'run.json')!r} is not a {SIMULATE_SCHEMA} record")
    p = record.get("parameters")
    need = ["algorithms", *(k for k in _RUN_FLAGS if k not in ("algorithm", "save", "force"))]
    if not isinstance(p, dict) or [k for k in need if k not in p] or not isinstance(record.get("lanes"), int):
        raise ValueError(f"--replay: {str(d / 'run.json')!r} lacks 'lanes' or parameters (needs {', '.join(need)})")
    seq = _read(d / "delays.json", lambda f: delay_models.DelaySequence.from_json_dict(json.loads(f.read_text())))
    saved = [_read(_lane_path(d, i), RunResult.load) for i in range(record["lanes"])]
    return record, seq, saved


def _replay_run(record: dict[str, Any], seq: delay_models.DelaySequence, saved: list[RunResult]) -> _Run:
    p = record["parameters"]
    problem, noise = _flagged("--replay", _problem_and_noise, p)
    configs = [_flagged("--replay", algorithms.Config.from_dict, r.config) for r in saved]
    return _Run(p, problem, noise, seq, configs, [r.seed for r in saved])


_EXACT_FIELDS = ("algorithm", "seed", "T", "steps_run", "first_hit", "min_grad_norm_step", "accepted", "rejected",
                 "diverged", "diverged_step", "divergence_reason", "problem", "noise")
_FLOAT_FIELDS = ("min_grad_norm", "min_f", "final_grad_norm", "final_f", "max_accepted_distance",
                 "max_accepted_grad_gap")
_ARRAY_FIELDS = ("rejected_steps", "trace_steps", "trace_grad_norm", "trace_f")


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True))


def _differences(saved: RunResult, new: RunResult) -> list[str]:
    """Fields where the replayed lane differs: ints exactly, floats to 1e-12 relative, arrays."""
    out = [f"{f}: saved {getattr(saved, f)!r}, replayed {getattr(new, f)!r}"
           for f in _EXACT_FIELDS if getattr(saved, f) != getattr(new, f)]
    out += [f"{f}: saved {getattr(saved, f)!r}, replayed {getattr(new, f)!r}"
            for f in _FLOAT_FIELDS if not _same_float(getattr(saved, f), getattr(new, f))]
    out += [f"{f}: arrays differ" for f in _ARRAY_FIELDS if not _same_array(getattr(saved, f), getattr(new, f))]
    return out


def _cmd_replay(args: argparse.Namespace) -> int:
    extra = [_RUN_FLAGS[d] for d, v in args.run_defaults.items() if getattr(args, d) != v]
    if extra:
        raise ValueError(f"--replay takes no run options (only --json, --progress); got {', '.join(extra)}")
    record, seq, saved = _load_saved(args.replay)
    run = _replay_run(record, seq, saved)
    results = _execute(run, args.progress)
    diffs = {i: _differences(s, n) for i, (s, n) in enumerate(zip(saved, results))}
    bad = [f"lane {i:04d} ({saved[i].algorithm}, seed {saved[i].seed}): {m}" for i, ms in diffs.items() for m in ms]
    lanes_bad = sorted({i for i, ms in diffs.items() if ms})
    rep = _report(run, results, args.argv)
    rep["replay"] = {"directory": args.replay, "original_command": record.get("command"), "lanes": len(saved),
                     "reproduced": not bad, "mismatches": bad}
    _emit(rep, args.json)
    out = sys.stderr if args.json else sys.stdout
    if not bad:
        print(f"replay: {len(saved)} lanes reproduced exactly", file=out)
        return 0
    print(f"replay: {len(lanes_bad)} of {len(saved)} lanes differ (lanes {', '.join(f'{i:04d}' for i in lanes_bad)}):",
          file=out)
    for m in bad:
        print(f"  {m}", file=out)
    return 1


# ------------------------------------------------------------------------------------------
# picky simulate / picky list
# ------------------------------------------------------------------------------------------
def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.replay is not None:
        return _cmd_replay(args)
    params = _parameters(args)
    save = _save_dir(args.save, args.force) if args.save is not None else None
    run = _new_run(params)
    results = _execute(run, args.progress)
    if save is not None:
        _save(save, run, results, args.argv)
    _emit(_report(run, results, args.argv), args.json)
    return 0


def _listing() -> dict[str, Any]:
    return {
        "schema": LIST_SCHEMA,
        "algorithms": {a: {"overrides": [_RUN_FLAGS[k] for k in algorithms.OVERRIDES[a]]}
                       for a in algorithms.ALGORITHMS},
        "problems": {n: {"description": v["description"], "defaults": v["defaults"]} for n, v in problems.PROBLEMS.items()},
        "delay_models": {n: {"description": m.description, "defaults": m.defaults} for n, m in delay_models.MODELS.items()},
        "noises": {n: {"description": v["description"], "defaults": v["defaults"]} for n, v in problems.NOISES.items()},
    }


def _cmd_list(args: argparse.Namespace) -> int:
    data = _listing()
    if args.json:
        _dump(data)
        return 0
    print("algorithms (picky simulate --algorithm A[,A...]; parameters from the theory unless overridden):")
    _print_table(("  name", "overrides"), [(f"  {a}", " ".join(v["overrides"])) for a, v in data["algorithms"].items()])
    sections = (("problems", "--problem NAME[:k=v,...], with --dim D"), ("delay_models", "--delays MODEL[:k=v,...]"),
                ("noises", "--noise NAME[:k=v,...]"))
    titles = {"problems": "problems", "delay_models": "delay models", "noises": "noise models"}
    for key, how in sections:
        print()
        print(f"{titles[key]} ({how}):")
        _print_table(("  name", "defaults", "description"),
                     [(f"  {n}", _kv(v["defaults"]), v["description"]) for n, v in data[key].items()])
    return 0

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

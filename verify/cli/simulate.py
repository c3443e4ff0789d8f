"""``picky simulate``: run algorithms x seeds on one problem and compare with Theorem D'.

JSON output of ``picky simulate --json`` (schema ``picky-simulate/2``; keys are stable;
non-finite floats are written as ``null``):

- ``schema``, ``version``; ``command``: the argument list (``["picky", "simulate", ...]``);
- ``parameters``: every CLI parameter, defaults filled in: ``algorithms`` (list), ``problem``,
  ``dim``, ``noise``, ``sigma``, ``delays`` (spec), ``delay_seed``, ``delay_draw`` (``shared`` |
  ``per-seed``), ``eps``, ``steps`` (T), ``seeds`` (K), ``seed0``, ``eta``, ``rho``, ``R``,
  ``tau_C``, ``rule`` (``null`` = default from :func:`verify.algorithms.resolve`), ``stop_at_hit``,
  ``trace_every``, ``engine``, ``adversary`` (spec or ``null``; with an adversary ``delays`` is
  ``null`` and ``engine`` is ``reference``), ``user_rule`` (the ``--user-rule`` specs; only when
  given) and ``batch`` (``--batch``: rennala's S / minibatch's m; only when given);
- ``problem``, ``noise``: ``describe()`` of the problem (beta, F, exactness flags) and noise;
- ``delay_stats``: with a shared sequence, ``model``, ``params``, ``seed``, ``clipped`` and the
  statistics ``T, tau_avg, tau_max, sum, n_nonzero, quantiles`` (``q50, q90, q99``),
  ``concurrency_max, concurrency_mean`` (KSJ's concurrency: gradients in flight per step,
  :meth:`verify.models.delays.DelaySequence.concurrency`); ``null`` with a draw per seed;
- ``delay_draws``: ``mode``, ``count`` (distinct sequences), ``tau_avg`` and ``tau_max``
  (``{min, median, max}`` over the seeds' sequences), ``draws`` (per seed: ``seed, delay_seed,
  tau_avg, tau_max, clipped``; empty when shared); with ``--adversary``: ``mode`` = ``adaptive``,
  the spreads and ``draws`` over the sequences the adversary chose against the picky lanes (or the
  first algorithm's), and ``lanes`` (per lane: ``lane, algorithm, seed, tau_avg, tau_max``);
- ``theory``: Theorem D' (``result`` = ``picky-explicit-sharp``): ``result, title, guarantee,
  success_probability, T, first_horizon`` (shared sequence: the first horizon <= T at which the
  theorem guarantees success probability >= 1/2, ``null`` if its condition is not met within T;
  per-seed draws: ``null``, and ``first_horizons`` {seed: horizon} and ``first_horizon_spread``
  are added), ``condition_met_within_T`` (shared: a bool; per seed: the number of sequences),
  ``applies_to_picky`` (``true`` if picky ran with the theorem's eta and rho, ``false`` if the
  user overrode them, ``null`` without a picky lane); with ``--adversary`` also ``adaptive``, the
  flag "adaptive: outside the theorem's oblivious assumption" and what it means for these runs
  (horizons from the realised sequences, continued by zeros where a run stopped early);
- ``runs``: one object per lane (lane = algorithm x seed, algorithm-major): ``lane`` plus
  :meth:`verify.io.records.RunResult.summary`;
- ``aggregate``: one object per algorithm: ``algorithm, config`` (the first lane's resolved
  parameters and their sources), ``eta, rho, R, tau_C, rule`` (``null`` if absent or if they differ
  between lanes), ``eta_min, eta_max, lanes, successes, success_fraction`` (first_hit not None),
  ``first_hit_median, first_hit_min, first_hit_max`` (over successful lanes; ``null`` if none),
  ``accepted_mean, rejected_mean, diverged`` and, for picky, ``hit_by_first_horizon`` (lanes with
  first_hit <= their sequence's first horizon; ``null`` if no sequence meets the condition within
  T) and ``lanes_with_horizon``; when every lane's sequence has arrival times (``--compute``, a replayed
  ``async-run`` trace) also ``seconds_to_eps_median, seconds_to_eps_min, seconds_to_eps_max`` (the arrival
  time of the update that produced x_{first_hit}; 0 for x_1; ``null`` for ``sgd``, which ignores the delays);
- ``time_theory``: with ``--compute fixed:...``, ``{"worker_times", "rows"}``: ``theory.time`` of
  time-homog, time-asgd and time-picky for the fleet (``id, status, seconds, workers_used``), and of
  time-ringmaster, time-rennala, time-minibatch when those lanes run; else ``null``;
- ``diverged_lanes``: one object per lane that diverged: ``lane, algorithm, seed, step, reason``
  (the table lists them too);
- ``traces``: ``null`` without ``--trace-every``; else per lane ``lane, algorithm, seed, steps,
  grad_norm, f`` (``--trace-csv FILE`` writes the same as a long-format CSV);
- ``nonfinite`` (only when some value is NaN or infinite): the JSON Pointer of every such value,
  written ``null``, mapped to ``"nan"``, ``"inf"`` or ``"-inf"`` (:mod:`verify.io.jsonsafe`);
- with ``--replay`` also ``replay``: ``{"directory", "original_command", "lanes", "reproduced",
  "mismatches"}``.

With ``--compute``, ``--algorithm`` also takes ``ringmaster``, ``ringmaster-stops``, ``rennala`` and
``minibatch``: each runs on the schedule its policy induces (:func:`verify.runtime.simulation.run_on_compute`,
drawn with the seed of the lane's asynchronous schedule); their steps are server steps (a batch method's
step averages its round's gradients; its time is the round's end). ``--save`` then also writes each of
their schedules, ``trace-<algorithm>.json`` (shared) or ``trace-<algorithm>-seed-<s>.json``: Ringmaster's in
the trace format plus ``policy``, ``R`` and ``dropped`` (task, worker, time of every ignored or cancelled
computation); a batch method's one row per gradient averaged (``delays`` = the row's position in its
batch, ``wall_clock`` = its step's time, ``tasks``) plus ``policy`` and ``batch``. ``--replay`` regenerates
their schedules from the spec and compares every lane.

A directory written by ``picky simulate --save DIR`` (:mod:`verify.io.runstore`, atomically through
:class:`verify.io.output.OutputDir`: it appears complete or not at all, and ``--force`` replaces an old
one only once the new one is complete) holds ``run.json`` (``schema``, ``command``, ``parameters`` as
above, ``version``, ``environment`` (versions, platform, timestamp, git commit), ``sequences`` (each
distinct delay sequence once) and ``lanes``), ``delays/<id>.npz``, ``runs/lane-XXXX.json``
(:meth:`RunResult.to_json_dict` with the sequence by reference), ``trace.csv`` (with a trace) and
``MANIFEST.json`` (every file's size and SHA-256). ``picky simulate --replay DIR`` refuses a directory
whose manifest is missing or does not match, checks that the header agrees with the lanes (their
algorithms, seeds, eps, sigma, T and delay seeds), reruns every lane on the stored sequences, checks
that the delay model still generates them, and compares every lane field by field.
"""
from __future__ import annotations

import argparse
import json
import contextlib
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import theory

from verify.models import delays as delay_models
from verify.io.specs import format_spec
from verify.io import runstore
from ..catalog import catalog
from verify.io.output import OutputDir, atomic_write_text
from verify.io.provenance import environment
from verify.io.records import RunResult
from .common import (dim_int, dump, flagged, fmt, kv, lanes_int, nonneg_float, positive_float, positive_int, print_table,
                     seed_int, steps_int)

if TYPE_CHECKING:
    pass

SCHEMA = "picky-simulate/3"
#: what --replay reads (directories written before picky-simulate/3 have no manifest)
READABLE = (SCHEMA,)
#: simulate options that describe a run (not allowed with --replay): dest -> flag
FLAGS = {
    "algorithm": "--algorithm", "problem": "--problem", "delays": "--delays", "eps": "--eps", "steps": "--steps",
    "seeds": "--seeds", "sigma": "--sigma", "dim": "--dim", "noise": "--noise", "seed0": "--seed0",
    "delay_seed": "--delay-seed", "delay_draw": "--delay-draw", "eta": "--eta", "rho": "--rho", "R": "--R",
    "tau_C": "--tau-C", "rule": "--rule", "stop_at_hit": "--stop-at-hit", "trace_every": "--trace-every",
    "engine": "--engine", "adversary": "--adversary", "save": "--save", "force": "--force", "trace_csv": "--trace-csv",
    "compute": "--compute",
    "user_rule": "--user-rule", "batch": "--batch",
}
#: output options and shorthands: not parameters of the run (--compute SPEC is saved as its --delays)
_OUTPUT = ("algorithm", "save", "force", "trace_csv", "compute")
#: parameters recorded only when given (a run without them keeps the keys and the schema it had)
_OPTIONAL = ("user_rule", "batch")
#: required unless --replay (and --delays unless --adversary)
_REQUIRED = ("algorithm", "eps", "steps", "seeds")


def add_parser(sub: Any) -> None:
    s = sub.add_parser(
        "simulate",
        usage=("%(prog)s --algorithm A[,A...] --delays MODEL[:k=v,...] --eps E --steps T --seeds K [options]\n"
               "       %(prog)s --replay DIR [--json] [--progress | --no-progress]"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  picky simulate --algorithm picky,delayed-sgd --delays pareto:alpha=1.5,scale=3 --eps 0.5 --steps 20000 --seeds 10\n"
            "  picky simulate --algorithm picky,delayed-sgd --delays pareto:alpha=1.5 --delay-draw per-seed \\\n"
            "                 --eps 0.5 --steps 20000 --seeds 10      # a fresh delay draw per seed\n"
            "  picky simulate --algorithm picky --problem quadratic:scale=0.1 --dim 2 --delays straggler --eps 0.05 \\\n"
            "                 --steps 2000 --seeds 4 --save out/run1\n"
            "  picky simulate --replay out/run1        # exit 0 iff every lane is reproduced"
        ),
        help="run algorithms x seeds on one problem; compare with Theorem D'",
        description=(
            "Run every --algorithm with the same seeds seed0..seed0+K-1 and, seed by seed, the same\n"
            "delay sequence (common random numbers), and report, per algorithm, how often and how early\n"
            "||grad f(x_t)|| <= eps was reached; for picky, also the first horizon at which Theorem D'\n"
            "guarantees success probability >= 1/2. Step sizes and thresholds default to the theory's\n"
            "(verify.algorithms.resolve). See `picky list` for the names and their defaults."
        ),
    )
    grp = s.add_argument_group("run")
    grp.add_argument("--algorithm", action="append", default=None, metavar="A[,A...]",
                     help=f"(required) algorithm(s), repeatable or comma-separated: {', '.join(catalog()['algorithms'])}; "
                          f"with --compute also {', '.join(catalog()['compute_algorithms'])} (each on the schedule its "
                          "policy induces)")
    grp.add_argument("--user-rule", action="append", default=None, metavar="NAME:accept=EXPR,step=EXPR[,p=EXPR...]",
                     help="define your own algorithm NAME (repeatable) and run it with --algorithm NAME: accept in dist, "
                          "d_t, its parameters, beta, eps, sigma; step in the same but dist; each parameter's default in "
                          "beta, F, eps, sigma, tau_avg, tau_max and earlier parameters; quote an expression holding a comma: "
                          "step=\"Min(eta,1/d_t)\" (README: Your own rules)")
    grp.add_argument("--problem", default="logsum", metavar="P[:k=v,...]", help="problem spec (default logsum)")
    grp.add_argument("--delays", default=None, metavar="MODEL[:k=v,...]",
                     help="(required unless --adversary) delay model spec, e.g. pareto:alpha=1.5,scale=3")
    grp.add_argument("--compute", default=None, metavar="MODEL[:k=v,...]",
                     help="instead of --delays: a computation-time model (fixed, random, universal, trace; picky list); "
                          "the algorithms run on its asynchronous schedule (--delays compute:spec=...) and the report "
                          "gives seconds to eps beside steps")
    grp.add_argument("--adversary", default=None, metavar="NAME[:k=v,...]",
                     help="instead of --delays: an adaptive adversary that picks d_t after seeing the iterates, "
                          f"one per lane ({', '.join(catalog()['adversaries'])}; e.g. picky-rejector:tau=3,window=200); "
                          "runs the reference loop; flagged: outside the theorems' oblivious assumption"),
    grp.add_argument("--delay-draw", choices=catalog()["delay_draws"], default="shared",
                     help="shared: one sequence for every lane (default); per-seed: each seed draws its own sequence "
                          "(seed derived from --delay-seed and the lane's seed, independent of its noise)")
    grp.add_argument("--eps", type=positive_float, default=None, metavar="E", help="(required) target accuracy: success iff ||grad f(x_t)|| <= eps")
    grp.add_argument("--steps", type=steps_int, default=None, metavar="T", help="(required) horizon T (number of steps)")
    grp.add_argument("--seeds", type=lanes_int, default=None, metavar="K", help="(required) number of seeds per algorithm: seed0..seed0+K-1")
    grp.add_argument("--sigma", type=nonneg_float, default=0.0, metavar="S", help="noise standard deviation (default 0)")
    grp.add_argument("--dim", type=dim_int, default=10, metavar="D", help="problem dimension (default 10)")
    grp.add_argument("--noise", default="gaussian", metavar="N[:k=v]", help="noise model spec (default gaussian)")
    grp.add_argument("--seed0", type=seed_int, default=0, metavar="S0", help="first seed (default 0)")
    grp.add_argument("--delay-seed", type=seed_int, default=0, metavar="S", help="seed of a random delay model (default 0)")
    par = s.add_argument_group("algorithm parameters (default: from the theory via verify.algorithms.resolve)")
    par.add_argument("--eta", type=positive_float, default=None, metavar="X", help="step size (every algorithm)")
    par.add_argument("--rho", type=positive_float, default=None, metavar="X", help="picky: accept iff ||x_t - x_{t-d_t}|| <= rho")
    par.add_argument("--R", type=positive_int, default=None, metavar="N", help="stale-drop: accept iff d_t < R")
    par.add_argument("--tau-C", type=nonneg_float, default=None, metavar="X", help="delay-adaptive: delays <= tau_C keep eta")
    par.add_argument("--rule", choices=catalog()["rules"], default=None, help="delay-adaptive: step rule for d_t > tau_C")
    par.add_argument("--batch", type=positive_int, default=None, metavar="N",
                     help="with --compute: rennala's batch S (gradients averaged per step; default max{1, ceil(sigma^2/eps^2)}) "
                          "or minibatch's m (the m fastest workers; default all). --eta sets their step gamma, --R ringmaster's threshold")
    out = s.add_argument_group("execution and output")
    out.add_argument("--stop-at-hit", action="store_true", help="stop each lane at its first hit")
    out.add_argument("--trace-every", type=positive_int, default=None, metavar="N", help="record ||grad f|| and f every N steps")
    out.add_argument("--engine", choices=catalog()["engines"], default=None,
                     help="numba: the compiled kernel, lanes in threads (default); reference: the literal loop, lane by lane "
                          "(the default with --adversary)")
    out.add_argument("--json", action="store_true", help=f"machine-readable output (schema {SCHEMA})")
    out.add_argument("--save", default=None, metavar="DIR",
                     help="write the runs to DIR (run.json, delays/, runs/, trace.csv, MANIFEST.json), atomically: "
                          "DIR appears complete or not at all")
    out.add_argument("--force", action="store_true",
                     help="with --save: replace an existing DIR (only once the new result is complete)")
    out.add_argument("--trace-csv", default=None, metavar="FILE",
                     help="with --trace-every: write the traces as CSV (lane, algorithm, seed, step, grad_norm, f)")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: only when stderr is a terminal)")
    out.add_argument("--replay", default=None, metavar="DIR",
                     help="rerun a --save directory and check every lane is reproduced (exit 1 if not)")
    s.set_defaults(func=run, run_defaults={d: s.get_default(d) for d in FLAGS})


# ------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------
def _user_rule_names(specs: list[str] | None) -> list[str]:
    """The names of the --user-rule specs (only the syntax here; the rules are defined by the run)."""
    from verify.io.specs import parse_spec

    out = []
    for s in specs or []:
        try:
            out.append(parse_spec(s, what="rule name")[0])
        except ValueError as exc:
            raise ValueError(f"--user-rule: {exc}") from None
    return out


def _algorithm_names(values: list[str], user: list[str] = ()) -> list[str]:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    known = [*catalog()["algorithms"], *catalog()["compute_algorithms"], *user]
    allowed = ", ".join(known)
    if not names:
        raise ValueError(f"--algorithm: no algorithm given; allowed: {allowed}")
    for n in names:
        if n not in known:
            raise ValueError(f"--algorithm: unknown algorithm {n!r}; allowed: {allowed}")
    return list(dict.fromkeys(names))  # each once, in the order given


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The run's parameters (all of them, defaults filled in), as saved in run.json."""
    missing = [FLAGS[d] for d in _REQUIRED if getattr(args, d) is None]
    if args.compute is not None:
        if args.delays is not None or args.adversary is not None:
            raise ValueError(f"--compute and --{'delays' if args.delays is not None else 'adversary'} are exclusive: "
                             "--compute SPEC gives the delays (its asynchronous schedule)")
        from verify.models import compute as compute_models

        flagged("--compute", compute_models.make, args.compute)
        args.delays = format_spec("compute", {"spec": args.compute})
    if args.delays is None and args.adversary is None:
        missing.insert(1, "--delays (or --adversary)")
    if missing:
        raise ValueError(
            f"missing {', '.join(missing)} (required unless --replay DIR); algorithms: {', '.join(catalog()['algorithms'])}; "
            f"delay models: {', '.join(catalog()['delay_models'])}"
        )
    p = {d: getattr(args, d) for d in FLAGS if d not in _OUTPUT and not (d in _OPTIONAL and getattr(args, d) is None)}
    if p["engine"] is None:
        p["engine"] = "reference" if p["adversary"] is not None else "numba"
    return {"algorithms": _algorithm_names(args.algorithm, _user_rule_names(p.get("user_rule"))), **p}


# ------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------
def _theory_cell(row: dict[str, Any], th: dict[str, Any], shared: bool) -> str:
    if row["algorithm"] != "picky":
        return "-"
    if row["hit_by_first_horizon"] is None:
        return f"condition not met within T = {th['T']}"
    if shared:
        return f"{th['first_horizon']} (hit by then: {row['hit_by_first_horizon']}/{row['lanes']})"
    return f"per seed (hit by then: {row['hit_by_first_horizon']}/{row['lanes_with_horizon']} lanes with a horizon)"


def _table_row(row: dict[str, Any], th: dict[str, Any], shared: bool) -> tuple[str, ...]:
    other = [f"{k}={fmt(row[k])}" for k in ("R", "tau_C", "rule") if row.get(k) is not None]
    other += [f"{k}={row['config'][k]}" for k in ("S", "m") if row["config"].get(k) is not None]  # batch methods
    med, lo, hi = row["first_hit_median"], row["first_hit_min"], row["first_hit_max"]
    eta = fmt(row["eta"]) if row["eta"] is not None else f"{fmt(row['eta_min'], 3)}..{fmt(row['eta_max'], 3)}"
    return (
        row["algorithm"], eta, fmt(row["rho"]), " ".join(other) or "-",
        f"{row['success_fraction']:.2f} ({row['successes']}/{row['lanes']})",
        "-" if med is None else f"{fmt(med)} [{lo}, {hi}]",
        fmt(row["accepted_mean"]), fmt(row["rejected_mean"]), str(row["diverged"]), _theory_cell(row, th, shared),
    ) + ((_seconds_cell(row),) if "seconds_to_eps_median" in row else ())


def _seconds_cell(row: dict[str, Any]) -> str:
    med = row["seconds_to_eps_median"]
    return "-" if med is None else f"{fmt(med, 4)} [{fmt(row['seconds_to_eps_min'], 4)}, {fmt(row['seconds_to_eps_max'], 4)}]"


def _print(rep: dict[str, Any]) -> None:
    p, pr, dd, th = rep["parameters"], rep["problem"], rep["delay_draws"], rep["theory"]
    shared = dd["mode"] == "shared"
    exact = {True: "exact", False: "upper bound"}
    seeds = f"{p['seed0']}..{p['seed0'] + p['seeds'] - 1}"
    print(f"picky simulate  problem {pr['spec']} (dim {pr['dim']}): beta = {fmt(pr['beta'])} ({exact[pr['beta_exact']]}), "
          f"F = {fmt(pr['F'])} ({exact[pr['F_exact']]})")
    print(f"  noise {rep['noise']['spec']}, sigma = {fmt(p['sigma'])};  eps = {fmt(p['eps'])};  T = {p['steps']};  "
          f"seeds {seeds} per algorithm;  engine {p['engine']}")
    if dd["mode"] == "adaptive":
        ta, tm = dd["tau_avg"], dd["tau_max"]
        print(f"  delays chosen by the adaptive adversary {p['adversary']}, one per lane: realised tau_avg "
              f"{fmt(ta['min'], 4)} / {fmt(ta['median'], 4)} / {fmt(ta['max'], 4)}, tau_max {fmt(tm['min'])} / "
              f"{fmt(tm['median'])} / {fmt(tm['max'])} (min / median / max over the {dd['count']} picky lanes)")
        print(f"  {th['adaptive']}")
    elif shared:
        ds = rep["delay_stats"]
        q = ds["quantiles"]
        seed = "" if ds["seed"] is None else f", seed {ds['seed']}"
        clipped = f", {ds['clipped']} draws clipped to t-1" if ds["clipped"] else ""
        print(f"  delays {ds['model']} ({kv(ds['params'])}{seed}): tau_avg = {fmt(ds['tau_avg'])}, tau_max = {ds['tau_max']}, "
              f"q50/q90/q99 = {fmt(q['q50'])}/{fmt(q['q90'])}/{fmt(q['q99'])}{clipped}"
              + (f", concurrency (gradients in flight) max {ds['concurrency_max']}" if ds["model"] == "compute" else ""))
    else:
        ta, tm = dd["tau_avg"], dd["tau_max"]
        print(f"  delays {p['delays']}, one draw per seed ({dd['count']} draws, --delay-seed {p['delay_seed']}): "
              f"tau_avg {fmt(ta['min'], 4)} / {fmt(ta['median'], 4)} / {fmt(ta['max'], 4)}, "
              f"tau_max {fmt(tm['min'])} / {fmt(tm['median'])} / {fmt(tm['max'])} (min / median / max)")
    print()
    head = ("algorithm", "eta", "rho", "other", "success", "first_hit median [min, max]", "accepted", "rejected",
            "diverged", "Thm D' first horizon")
    if rep["aggregate"] and "seconds_to_eps_median" in rep["aggregate"][0]:
        head += ("seconds to eps median [min, max]",)
    print_table(head, [_table_row(r, th, shared) for r in rep["aggregate"]])
    print()
    div = rep["diverged_lanes"]
    for d in div[:_SHOW_DIVERGED]:
        print(f"diverged: lane {d['lane']:04d} ({d['algorithm']}, seed {d['seed']}) at step {d['step']}: {d['reason']}")
    if len(div) > _SHOW_DIVERGED:
        print(f"diverged: ... and {len(div) - _SHOW_DIVERGED} more lanes (all of them under diverged_lanes in --json)")
    if div:
        print()
    print("success: some t <= T with ||grad f(x_t)|| <= eps (first_hit = the first such t); accepted, rejected: "
          "mean over seeds.")
    if rep["aggregate"] and "seconds_to_eps_median" in rep["aggregate"][0]:
        print("seconds to eps: the arrival time of the update that produced x_{first_hit} (0 for x_1), on the "
              "schedule's clock (its wall_clock).")
    own = [r["algorithm"] for r in rep["aggregate"] if r["algorithm"] in catalog()["compute_algorithms"]]
    if own:
        print(f"{', '.join(own)}: each on the schedule its policy induces (drawn with the asynchronous schedule's seed); a step is "
              "a server update (rennala: the average of the round's first S arrivals; minibatch: of one gradient per "
              "worker used), its time the arrival that completes it.")
    if rep.get("time_theory"):
        tt = rep["time_theory"]
        print(f"theory (fixed model, worker times {tt['worker_times']}): " + "; ".join(
            f"{r['id']} {fmt(r['seconds'], 4)} s (m* = {r['workers_used']}, {r['status']})" for r in tt["rows"])
            + ". secondary: C = 1 placeholder; time-picky derived from Theorem D'.")
    if th["applies_to_picky"] is not None:
        if shared:
            where = (f"its condition on (T, d_1..d_T) first holds at T = {th['first_horizon']}"
                     if th["first_horizon"] is not None else f"its condition is not met within T = {th['T']}")
        else:
            sp = th["first_horizon_spread"]
            where = (f"its condition holds within T for {th['condition_met_within_T']} of {dd['count']} draws"
                     + (f" (first horizons {sp['min']} / {fmt(sp['median'])} / {sp['max']})" if sp else ""))
        print(f"Theorem D' ({th['result']}, derived here): {th['guarantee']}; {where}.")
        if not th["applies_to_picky"]:
            print("note: picky ran with a user-set --eta/--rho, so Theorem D' does not cover these runs.")


_SHOW_DIVERGED = 10


def _emit(rep: dict[str, Any], as_json: bool) -> None:
    if as_json:
        dump(rep)
    else:
        _print(rep)


# ------------------------------------------------------------------------------------------
# --save and --replay
# ------------------------------------------------------------------------------------------
def _header(params: dict[str, Any], command: list[str]) -> dict[str, Any]:
    return {"schema": SCHEMA, "command": command, "parameters": params, "version": theory.__version__,
            "environment": environment()}


def save_run(out: OutputDir, results: list[RunResult], params: dict[str, Any], command: list[str]) -> None:
    """Write the ``--save`` directory of a run into ``out`` and commit it (``picky simulate --save`` and
    :meth:`verify.api.Simulation.save` both write through here)."""
    runstore.write(out, results, _header(params, command))
    out.commit({"command": command})


def _check_header(p: dict[str, Any], saved: list[RunResult], where: str, flag: str = "--replay") -> None:
    """The header's parameters must describe the saved lanes (algorithm-major, seeds in order, eps)."""
    seeds = list(range(p["seed0"], p["seed0"] + p["seeds"]))
    expect = [(a, s) for a in p["algorithms"] for s in seeds]
    have = [(r.algorithm, r.seed) for r in saved]
    if have != expect:
        raise ValueError(f"{flag}: the parameters in {where!r} describe lanes {_lanes_text(expect)} but the saved "
                         f"lanes are {_lanes_text(have)}")
    for i, r in enumerate(saved):
        for key, want in (("eps", p["eps"]), ("sigma", p["sigma"])):
            if r.config.get(key) != want:
                raise ValueError(f"{flag}: {where!r} says {key} = {want!r} but lane {i:04d} ran with "
                                 f"{key} = {r.config.get(key)!r}")
        if r.T != p["steps"]:
            raise ValueError(f"{flag}: {where!r} says steps = {p['steps']!r} but lane {i:04d} ran T = {r.T}")
        seq = r.delays
        if p["adversary"] is None and seq.seed is not None:
            want = p["delay_seed"] if p["delay_draw"] == "shared" else delay_models.draw_seed(p["delay_seed"], r.seed)
            if seq.seed != want:
                raise ValueError(f"{flag}: {where!r} says delay_seed = {p['delay_seed']!r} ({p['delay_draw']}), "
                                 f"but lane {i:04d}'s sequence was drawn with seed {seq.seed}")


def _lanes_text(lanes: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{a}/{s}" for a, s in lanes[:6])
    return f"[{shown}{', ...' if len(lanes) > 6 else ''}] ({len(lanes)} lanes)"


def load_saved(path: str, flag: str = "--replay", schemas: tuple[str, ...] = READABLE
               ) -> tuple[dict[str, Any], dict[int, delay_models.DelaySequence] | None, list[RunResult]]:
    """The header, the delay sequences by seed (read back, not regenerated) and the lanes, after
    checking the manifest and that the header describes the lanes (errors start with ``flag``)."""
    head, _, saved = runstore.load(path, schemas, flag)
    where = str(Path(path) / runstore.HEADER)
    p = head.get("parameters")
    need = ["algorithms", *(k for k in FLAGS if k not in _OUTPUT and k not in _OPTIONAL)]
    if not isinstance(p, dict) or [k for k in need if k not in p]:
        raise ValueError(f"{flag}: {where!r} lacks parameters (needs {', '.join(need)})")
    _check_header(p, saved, where, flag)
    if p["adversary"] is not None:
        return head, None, saved
    seqs: dict[int, delay_models.DelaySequence] = {}
    policy = catalog()["compute_algorithms"]
    for r in saved:
        if r.algorithm in policy:  # a policy lane runs on its own schedule, regenerated from the --compute spec
            continue
        if seqs.setdefault(r.seed, r.delays) is not r.delays and not np.array_equal(seqs[r.seed].delays, r.delays.delays):
            raise ValueError(f"{flag}: the lanes of seed {r.seed} in {path!r} ran on different delay sequences")
    if not seqs:  # policy lanes only: every schedule is regenerated (and compared lane by lane)
        return head, None, saved
    if p["delay_draw"] == "shared" and len({id(s) for s in seqs.values()}) != 1:
        raise ValueError(f"{flag}: {where!r} says delay_draw = shared but the lanes ran on different sequences")
    return head, seqs, saved


def _regeneration_mismatches(p: dict[str, Any], seqs: dict[int, delay_models.DelaySequence]) -> list[str]:
    """Where the delay model, run again from the saved spec and seeds, no longer gives the saved sequence."""
    out: list[str] = []
    if seqs is None:  # an adaptive adversary: its sequences are compared lane by lane
        return out
    name = delay_models.parse_spec(p["delays"])[0]
    if name == "replay":
        return out
    done: set[int] = set()
    for s, seq in seqs.items():
        if id(seq) in done:
            continue
        done.add(id(seq))
        seed = p["delay_seed"] if p["delay_draw"] == "shared" else delay_models.draw_seed(p["delay_seed"], s)
        new = flagged("--replay", delay_models.make, p["delays"], p["steps"], seed=seed)
        if not np.array_equal(new.delays, seq.delays):
            which = "the shared sequence" if p["delay_draw"] == "shared" else f"seed {s}'s sequence"
            out.append(f"delays: {p['delays']} with seed {seed} no longer generates {which} saved in the directory")
    return out


_EXACT_FIELDS = ("algorithm", "seed", "T", "steps_run", "first_hit", "min_grad_norm_step", "accepted", "rejected",
                 "diverged", "diverged_step", "divergence_reason", "problem", "noise")
_FLOAT_FIELDS = ("min_grad_norm", "min_f", "final_grad_norm", "final_f", "max_accepted_distance",
                 "max_accepted_grad_gap", "min_rejected_distance")
_ARRAY_FIELDS = ("rejected_steps", "trace_steps", "trace_grad_norm", "trace_f")


def _same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
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
    cfg_s = {k: v for k, v in saved.config.items() if k != "source"}
    cfg_n = {k: v for k, v in new.config.items() if k != "source"}
    if cfg_s != cfg_n:
        out.append(f"config: saved {cfg_s!r}, replayed {cfg_n!r}")
    if not np.array_equal(saved.delays.delays, new.delays.delays):
        out.append("delays: the lane's saved sequence differs from the one replayed")
    return out


def _replay(args: argparse.Namespace) -> int:
    from verify.runtime import simulation

    extra = [FLAGS[d] for d, v in args.run_defaults.items() if getattr(args, d) != v]
    if extra:
        raise ValueError(f"--replay takes no run options (only --json, --progress); got {', '.join(extra)}")
    record, seqs, saved = load_saved(args.replay)
    p = record["parameters"]
    lanes = flagged("--replay", simulation.build, p, sequences=seqs)
    if lanes.count != len(saved):
        raise ValueError(f"--replay: run.json describes {lanes.count} lanes but {len(saved)} lane files are listed")
    results = simulation.execute(lanes, args.progress)
    diffs = {i: _differences(s, n) for i, (s, n) in enumerate(zip(saved, results))}
    bad = [f"lane {i:04d} ({saved[i].algorithm}, seed {saved[i].seed}): {m}" for i, ms in diffs.items() for m in ms]
    bad += _regeneration_mismatches(p, seqs)
    lanes_bad = sorted({i for i, ms in diffs.items() if ms})
    rep = simulation.report(lanes, results, args.argv, SCHEMA)
    rep["replay"] = {"directory": args.replay, "original_command": record.get("command"), "lanes": len(saved),
                     "reproduced": not bad, "mismatches": bad}
    _emit(rep, args.json)
    out = sys.stderr if args.json else sys.stdout
    if not bad:
        print(f"replay: {len(saved)} lanes reproduced exactly", file=out)
        return 0
    print(f"replay: {len(lanes_bad)} of {len(saved)} lanes differ"
          + (f" (lanes {', '.join(f'{i:04d}' for i in lanes_bad)})" if lanes_bad else "") + ":", file=out)
    for m in bad:
        print(f"  {m}", file=out)
    return 1


def _save_schedules(out: OutputDir, lanes: Any) -> None:
    """--compute --save: each distinct schedule as ``trace.json`` (shared) or ``trace-seed-<s>.json``
    (per seed): delays, arrival times (wall_clock) and tasks, the format of ``picky async-run --save``'s
    trace.json, which ``--delays replay:path=...`` replays."""
    by_seed = lanes.sequences_by_seed()
    if lanes.shared:
        out.write_text("trace.json", json.dumps(next(iter(by_seed.values())).to_json_dict()))
    else:
        for s, seq in by_seed.items():
            out.write_text(f"trace-seed-{s}.json", json.dumps(seq.to_json_dict()))
    # the policy lanes' schedules (ringmaster: applied steps and the dropped computations; rennala, minibatch:
    # one row per gradient averaged, with policy and batch): trace-<algorithm>.json (shared) or ...-seed-<s>.json
    written: set[str] = set()
    for (a, s), tr in lanes.schedules.items():
        name = f"trace-{a}.json" if lanes.shared else f"trace-{a}-seed-{s}.json"
        if name not in written:
            out.write_text(name, json.dumps(tr))
            written.add(name)


def run(args: argparse.Namespace) -> int:
    if args.replay is not None:
        return _replay(args)
    params = parameters(args)
    # the destinations are checked (and their temporary siblings made) before any work or heavy import
    with contextlib.ExitStack() as stack:
        save = stack.enter_context(OutputDir(args.save, force=args.force, flag="--save")) if args.save else None
        try:
            from verify.runtime import simulation

            lanes = simulation.build(params)
            results = simulation.execute(lanes, args.progress)
            if save is not None:
                if args.compute is not None:  # the schedules in picky async-run's trace format (replay:path=...)
                    _save_schedules(save, lanes)
                save_run(save, results, lanes.params, args.argv)
        except KeyboardInterrupt as exc:
            exc.kept = (f"the result in {args.save!r} is complete" if save is not None and save.committed else
                        "nothing written" + (f" ({args.save!r} is as it was)" if args.save else ""))
            raise
        rep = simulation.report(lanes, results, args.argv, SCHEMA)
        if args.trace_csv:
            if params["trace_every"] is None:
                raise ValueError("--trace-csv needs --trace-every N (the steps to record)")
            atomic_write_text(args.trace_csv, runstore.trace_csv(results))
        _emit(rep, args.json)
    return 0

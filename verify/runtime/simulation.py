"""A simulation as data: what ``picky simulate`` runs and what it reports (the CLI only parses and
prints).

A simulation is a dict of parameters (the CLI's, defaults filled in; see :data:`PARAMETERS`). It
builds lanes (algorithm x seed, algorithm-major): every algorithm runs with the same seeds (common
random numbers) and, lane by lane, the same delay sequence -- one sequence shared by every lane
(``delay_draw = "shared"``), or one draw of the delay model per seed (``"per-seed"``), seeded by
:func:`verify.models.delays.draw_seed` so that it is independent of the lane's noise. Defaults that depend
on the sequence (delayed SGD's tau_max, ...) are resolved per sequence.

With ``adversary`` set (a spec of :data:`verify.models.adversaries.ADVERSARIES`) instead of ``delays``, every
lane gets a fresh adaptive adversary that chooses d_t after seeing the iterates; it runs through
:func:`verify.algorithms.reference_run` (the compiled kernel takes fixed sequences), defaults that
need tau_avg or tau_max use the adversary's budget (known in advance), and the report states the
realised sequences and flags the run: adaptive delays are outside the theorems' oblivious assumption.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import theory

from verify.models import adversaries
from verify import algorithms, engine
from verify.models import problems
from verify.models.noise import make_noise
from verify.models import delays as delay_models
from verify.algorithms import Algorithm
from verify.io.progress import Progress
from verify.io.records import RunResult

__all__ = ["PARAMETERS", "DELAY_DRAWS", "ENGINES", "THEOREM", "Lanes", "build", "execute", "report", "COMPUTE_METHODS",
           "POLICY_METHODS", "run_on_compute", "seconds_to_hit"]

#: the statement compared with the picky lanes (Theorem D', derived in this package)
THEOREM = "picky-explicit-sharp"
DELAY_DRAWS = ("shared", "per-seed")
ENGINES = ("numba", "reference")
#: every parameter of a simulation (None = the default of verify.algorithms.resolve)
PARAMETERS = (
    "algorithms", "problem", "dim", "noise", "sigma", "delays", "delay_seed", "delay_draw", "eps", "steps", "seeds",
    "seed0", "eta", "rho", "R", "tau_C", "rule", "stop_at_hit", "trace_every", "engine", "adversary", "batch",
)
#: algorithm parameters a user may override, over all algorithms
OVERRIDES = tuple(dict.fromkeys(n for names in algorithms.OVERRIDES.values() for n in names))


@dataclass
class Lanes:
    """What a simulation's parameters build: one entry per lane (algorithm-major)."""

    params: dict[str, Any]
    problem: Any
    noise: Any
    seqs: list[delay_models.DelaySequence | None]  # None: an adaptive adversary's lane
    algs: list[Algorithm]
    seeds: list[int]
    #: lanes of the methods with their own schedule (POLICY_METHODS: ringmaster, ringmaster-stops, rennala,
    #: minibatch; --compute only): (algorithm, seed), run by run_on_compute
    policy_lanes: list[tuple[str, int]] = field(default_factory=list)
    #: seed -> the asynchronous schedule's sequence (also when no asynchronous method runs)
    by_seed: dict[int, delay_models.DelaySequence] | None = None
    #: after execute: (algorithm, seed) -> a policy lane's schedule in the trace format (for --save)
    schedules: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def adaptive(self) -> bool:
        return self.params.get("adversary") is not None

    @property
    def shared(self) -> bool:
        return self.params["delay_draw"] == "shared" and not self.adaptive

    def sequences_by_seed(self) -> dict[int, delay_models.DelaySequence]:
        return dict(self.by_seed) if self.by_seed is not None else dict(zip(self.seeds, self.seqs))

    @property
    def count(self) -> int:
        """The number of lanes (step methods and policy methods)."""
        return len(self.seeds) + len(self.policy_lanes)

    def first_sequence(self) -> delay_models.DelaySequence:
        return next(iter(self.sequences_by_seed().values()))


def _flagged(flag: str, fn: Any, *a: Any, **kw: Any) -> Any:
    try:
        return fn(*a, **kw)
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


def problem_and_noise(p: dict[str, Any]) -> tuple[Any, Any]:
    return (_flagged("--problem", problems.make, p["problem"], p["dim"]),
            _flagged("--noise", make_noise, p["noise"]))


def _resolve_all(names: list[str], problem: Any, seq: Any, p: dict[str, Any], also: tuple[str, ...] = ()) -> dict[str, Algorithm]:
    """Each algorithm on this sequence; an override goes to the algorithms that take it, and one that
    no algorithm (nor a policy method of ``also``) takes goes to all of them, so that resolve reports it."""
    given = {k: p[k] for k in OVERRIDES if p.get(k) is not None}
    takes = {a: algorithms.OVERRIDES[a] if a in algorithms.OVERRIDES else tuple(algorithms.USER_RULES[a].params)
             for a in names if a in algorithms.OVERRIDES or a in algorithms.USER_RULES}
    taken_by_policy = {k for a in also for k in POLICY_OVERRIDES[a]}
    orphans = {k for k in given if not any(k in takes.get(a, ()) for a in names) and k not in taken_by_policy}
    out = {}
    for a in names:
        kw = {k: v for k, v in given.items() if k in orphans or k in takes.get(a, ())}
        out[a] = _flagged(f"--algorithm {a}", algorithms.resolve, a, beta=problem.beta, F=problem.F, eps=p["eps"],
                          sigma=p["sigma"], delays=seq, **kw)
    return out


def define_user_rules(specs: list[str] | None) -> list[str]:
    """Define each ``--user-rule NAME:accept=EXPR,step=EXPR[,param=default...]``
    (:func:`verify.algorithms.user.parse_rule_spec`); their names."""
    from verify.algorithms.user import parse_rule_spec

    return [_flagged("--user-rule", parse_rule_spec, s).name for s in specs or []]


def build(p: dict[str, Any], sequences: dict[int, delay_models.DelaySequence] | None = None) -> Lanes:
    """The lanes of simulation ``p``. ``sequences`` (seed -> sequence) replaces the delay draws (a
    replay uses the saved ones)."""
    if p.get("delay_draw", "shared") not in DELAY_DRAWS:
        raise ValueError(f"--delay-draw must be one of {', '.join(DELAY_DRAWS)}; got {p.get('delay_draw')!r}")
    define_user_rules(p.get("user_rule"))
    problem, noise = problem_and_noise(p)
    seeds = list(range(p["seed0"], p["seed0"] + p["seeds"]))
    policy = [a for a in p["algorithms"] if a in POLICY_METHODS]
    if policy and not is_compute(p):
        raise ValueError(f"--algorithm {policy[0]} runs on the schedule of a computation model: it needs --compute SPEC "
                         f"(not --{'adversary' if p.get('adversary') is not None else 'delays'})")
    if p.get("batch") is not None and not any(a in ("rennala", "minibatch") for a in policy):
        raise ValueError(f"--batch {p['batch']} applies to --algorithm rennala (S) or minibatch (m) only")
    if p.get("adversary") is not None:
        return _build_adaptive(p, problem, noise, seeds)
    if sequences is None:
        if p["delay_draw"] == "shared":
            seq = _flagged("--delays", delay_models.make, p["delays"], p["steps"], seed=p["delay_seed"])
            sequences = {s: seq for s in seeds}
        else:
            sequences = {s: _flagged("--delays", delay_models.make, p["delays"], p["steps"],
                                     seed=delay_models.draw_seed(p["delay_seed"], s)) for s in seeds}
    names = [a for a in p["algorithms"] if a not in POLICY_METHODS]
    orphan = [k for k in (*OVERRIDES, "batch") if p.get(k) is not None and not names
              and not any(k in POLICY_OVERRIDES[a] for a in policy)]
    if orphan:
        raise ValueError(f"--{orphan[0].replace('_', '-')} does not apply to --algorithm {','.join(policy)} "
                         f"(they take {', '.join(sorted({f'--{k}' for a in policy for k in POLICY_OVERRIDES[a]}))})")
    cache: dict[int, dict[str, Algorithm]] = {}
    for s in seeds:
        sq = sequences[s]
        if id(sq) not in cache:
            cache[id(sq)] = _resolve_all(names, problem, sq, p, tuple(policy))
    for a in policy:  # resolved now, so that a bad override fails before any run
        policy_params(p, a, problem)
    return Lanes(p, problem, noise, [sequences[s] for _ in names for s in seeds],
                 [cache[id(sequences[s])][a] for a in names for s in seeds], [s for _ in names for s in seeds],
                 [(a, s) for a in policy for s in seeds], dict(sequences))


def _build_adaptive(p: dict[str, Any], problem: Any, noise: Any, seeds: list[int]) -> Lanes:
    if p.get("delays") is not None:
        raise ValueError("--adversary and --delays are exclusive: an adversary chooses the delays as the run goes")
    if p.get("delay_draw", "shared") != "shared":
        raise ValueError(f"--delay-draw {p['delay_draw']} does not apply with --adversary (each lane has its own adversary)")
    if p["engine"] != "reference":
        raise ValueError(f"--engine {p['engine']} cannot run an adaptive adversary (it watches the iterates); "
                         "use --engine reference")
    bounds = _flagged("--adversary", adversaries.bounds, p["adversary"])
    algs = _resolve_all(p["algorithms"], problem, bounds, p)
    names = p["algorithms"]
    return Lanes(p, problem, noise, [None for _ in names for _ in seeds], [algs[a] for a in names for _ in seeds],
                 [s for _ in names for s in seeds])


def execute(lanes: Lanes, progress: bool | None = None) -> list[RunResult]:
    """All lanes: one ``engine.run_batch`` call, or ``reference_run`` lane by lane (with a fresh
    adversary per lane when the delays are adaptive)."""
    p = lanes.params
    if lanes.policy_lanes:
        return _execute_with_policies(lanes, progress)
    kw = dict(T=p["steps"], noise=lanes.noise, trace_every=p["trace_every"], stop_at_hit=p["stop_at_hit"])
    if not lanes.seeds:
        return []
    if p["engine"] == "numba":
        return engine.run_batch(lanes.problem, lanes.seqs, lanes.algs, lanes.seeds, progress=progress, **kw)
    bar = Progress(len(lanes.seeds), f"reference {len(lanes.seeds)} lanes", enabled=progress)
    out = []
    try:
        for seq, alg, seed in zip(lanes.seqs, lanes.algs, lanes.seeds):
            delays = adversaries.make(p["adversary"], alg, p["eps"]) if lanes.adaptive else seq
            out.append(algorithms.reference_run(lanes.problem, delays, alg, seed=seed, **kw))
            bar.update(len(out))
    except KeyboardInterrupt:
        bar.abort()
        raise engine.Interrupted(len(out) * p["steps"], len(lanes.seeds) * p["steps"]) from None
    bar.close()
    return out


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------
def sequence_stats(seq: delay_models.DelaySequence) -> dict[str, Any]:
    cmax, cmean = seq.concurrency()
    return {"model": seq.model, "params": dict(seq.params), "seed": seq.seed, "clipped": seq.clipped,
            **seq.stats().as_dict(), "concurrency_max": cmax, "concurrency_mean": cmean}


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def first_horizon(lanes: Lanes, seq: delay_models.DelaySequence) -> int | None:
    """Theorem D''s first horizon <= T for this sequence (None: its condition is not met within T).
    An adaptive lane's realised sequence ends where its run ended (stop_at_hit, divergence); it is
    continued by zeros, which gives the earliest horizon any continuation could have."""
    p = lanes.params
    d = seq.delays[: p["steps"]]
    if lanes.adaptive and d.size < p["steps"]:
        d = np.concatenate([d, np.zeros(p["steps"] - d.size, dtype=d.dtype)])
    return theory.first_horizon(d, result=THEOREM, beta=lanes.problem.beta, F=lanes.problem.F,
                                sigma=p["sigma"], eps=p["eps"])


def _realised(lanes: Lanes, results: list[RunResult]) -> dict[int, delay_models.DelaySequence]:
    """seed -> the delay sequence its lanes ran on. Adaptive: the sequence the adversary chose
    against the picky lane of that seed (else the first algorithm's lane)."""
    if not lanes.adaptive:
        return lanes.sequences_by_seed()
    first = "picky" if "picky" in lanes.params["algorithms"] else lanes.params["algorithms"][0]
    return {r.seed: r.delays for r in results if r.algorithm == first}


def _theory(lanes: Lanes, by_seed: dict[int, delay_models.DelaySequence]) -> tuple[dict[str, Any], dict[int, int | None]]:
    p = lanes.params
    st = theory.about(THEOREM)  # plain data (no SymPy when theory's cache is warm)
    horizons = {s: first_horizon(lanes, sq) for s, sq in by_seed.items()} if not lanes.shared else {}
    if lanes.shared:
        h = first_horizon(lanes, lanes.first_sequence())
        horizons = {s: h for s in by_seed}
    picky = [a for a in lanes.algs if a.name == "picky"]
    applies = all(a.source.get(k) != "user" for a in picky for k in ("eta", "rho")) if picky else None
    met = [h for h in horizons.values() if h is not None]
    out = {
        "result": THEOREM,
        "title": st["title"],
        "guarantee": st["guarantee"],
        "success_probability": float(st["success_probability"]),
        "T": p["steps"],
        "first_horizon": next(iter(horizons.values())) if lanes.shared else None,
        "condition_met_within_T": bool(met) if lanes.shared else len(met),
        "applies_to_picky": applies,
    }
    if not lanes.shared:
        out["first_horizons"] = {str(s): h for s, h in horizons.items()}
        out["first_horizon_spread"] = _spread(met) if met else None
    if lanes.adaptive:
        out["adaptive"] = (f"{adversaries.NOTE}; horizons are those of the realised sequences"
                           + (" (sigma = 0: each is fixed in hindsight, so the theorem applies to it)" if p["sigma"] == 0
                              else " (sigma > 0: the adversary reacts to the noise, so the theorem does not cover them)"))
    return out, horizons


def seconds_to_hit(r: RunResult) -> float | None:
    """Seconds to the first eps-stationary iterate x_t (t = first_hit): the arrival time of step t - 1,
    whose update produced x_t (0 for x_1); None without a hit or a clock."""
    if r.first_hit is None or r.delays.wall_clock is None:
        return None
    return 0.0 if r.first_hit <= 1 else float(r.delays.wall_clock[r.first_hit - 2])


def _time_theory(p: dict[str, Any], problem: Any) -> dict[str, Any] | None:
    """theory.timing's seconds for the fleet of a fixed --compute model (None otherwise)."""
    spec = p.get("delays")
    if not isinstance(spec, str) or delay_models.parse_spec(spec)[0] != "compute":
        return None
    from verify.models import compute

    cm = compute.make(delay_models.parse_spec(spec)[1]["spec"])
    if cm.name != "fixed":
        return None
    times = cm.base_times().tolist()
    kw = dict(beta=problem.beta, F=problem.F, sigma=p["sigma"], eps=p["eps"])
    extra = [f"time-{a}" for a in ("ringmaster", "rennala", "minibatch")
             if a in p["algorithms"] or (a == "ringmaster" and "ringmaster-stops" in p["algorithms"])]
    rows = [{"id": rid, "status": theory.get_time(rid).status.value, "seconds": theory.time(rid, worker_times=times, **kw),
             "workers_used": theory.optimal_workers(rid, worker_times=times, **kw)}
            for rid in ("time-homog", "time-asgd", "time-picky", *extra)]
    return {"worker_times": ",".join(f"{t:g}" for t in times), "rows": rows}


def _aggregate(name: str, runs: list[RunResult], horizons: dict[int, int | None]) -> dict[str, Any]:
    hits = [r.first_hit for r in runs if r.first_hit is not None]
    cfg = runs[0].config

    def param(k: str) -> Any:
        vals = {r.config.get(k) for r in runs}
        return vals.pop() if len(vals) == 1 else None

    etas = [r.config["eta"] for r in runs]
    row = {
        "algorithm": name,
        "config": cfg,
        **{k: param(k) for k in ("eta", "rho", "R", "tau_C", "rule")},
        "eta_min": min(etas),
        "eta_max": max(etas),
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
    if all(r.delays.wall_clock is not None for r in runs):  # a schedule with a clock: seconds beside steps
        # (not for sgd: it ignores the delays, so no computation schedule is its own)
        secs = [seconds_to_hit(r) for r in runs if r.first_hit is not None] if name != "sgd" else []
        row["seconds_to_eps_median"] = statistics.median(secs) if secs else None
        row["seconds_to_eps_min"] = min(secs, default=None)
        row["seconds_to_eps_max"] = max(secs, default=None)
    if name == "picky":
        covered = [r for r in runs if horizons.get(r.seed) is not None]
        row["hit_by_first_horizon"] = (sum(r.first_hit is not None and r.first_hit <= horizons[r.seed] for r in covered)
                                       if covered else None)
        row["lanes_with_horizon"] = len(covered)
    return row


def report(lanes: Lanes, results: list[RunResult], command: list[str], schema: str) -> dict[str, Any]:
    """Everything ``picky simulate`` prints (the JSON of ``--json``; documented in verify.cli)."""
    by_seed = _realised(lanes, results)
    th, horizons = _theory(lanes, by_seed)
    by_alg: dict[str, list[RunResult]] = {}
    for r in results:
        by_alg.setdefault(r.algorithm, []).append(r)
    stats = {s: sq.stats() for s, sq in by_seed.items()}
    draws = {
        "mode": "adaptive" if lanes.adaptive else lanes.params["delay_draw"],
        "count": len({id(sq) for sq in by_seed.values()}),
        "tau_avg": _spread([st.tau_avg for st in stats.values()]),
        "tau_max": _spread([float(st.tau_max) for st in stats.values()]),
        "draws": [] if lanes.shared else [
            {"seed": s, "delay_seed": sq.seed, "tau_avg": stats[s].tau_avg, "tau_max": stats[s].tau_max,
             "clipped": sq.clipped} for s, sq in by_seed.items()],
    }
    if lanes.adaptive:  # every lane's realised sequence (each algorithm met its own adversary)
        draws["lanes"] = [{"lane": i, "algorithm": r.algorithm, "seed": r.seed, "tau_avg": r.delay_stats["tau_avg"],
                           "tau_max": r.delay_stats["tau_max"]} for i, r in enumerate(results)]
    return {
        "schema": schema,
        "version": theory.__version__,
        "command": command,
        "parameters": lanes.params,
        "problem": lanes.problem.describe(),
        "noise": lanes.noise.describe(),
        "delay_stats": sequence_stats(lanes.first_sequence()) if lanes.shared else None,
        "delay_draws": draws,
        "theory": th,
        "runs": [{"lane": i, **r.summary()} for i, r in enumerate(results)],
        "aggregate": [_aggregate(a, rs, horizons) for a, rs in by_alg.items()],
        "time_theory": _time_theory(lanes.params, lanes.problem),
        "diverged_lanes": [{"lane": i, "algorithm": r.algorithm, "seed": r.seed, "step": r.diverged_step,
                            "reason": r.divergence_reason} for i, r in enumerate(results) if r.diverged],
        "traces": None if lanes.params.get("trace_every") is None else [
            {"lane": i, "algorithm": r.algorithm, "seed": r.seed, "steps": r.trace_steps, "grad_norm": r.trace_grad_norm,
             "f": r.trace_f} for i, r in enumerate(results)],
    }


# ------------------------------------------------------------------------------------------
# every method on a computation model's schedule
# ------------------------------------------------------------------------------------------
#: the simulate parameters each policy method takes (eta: the step, rennala's and minibatch's gamma;
#: batch: rennala's S, minibatch's m)
POLICY_OVERRIDES: dict[str, tuple[str, ...]] = {"ringmaster": ("eta", "R"), "ringmaster-stops": ("eta", "R"),
                                                 "rennala": ("eta", "batch"), "minibatch": ("eta", "batch")}


def is_compute(p: dict[str, Any]) -> bool:
    """True when the simulation's delays are a computation model's schedule (``--compute``)."""
    spec = p.get("delays")
    return isinstance(spec, str) and delay_models.parse_spec(spec)[0] == "compute"


def compute_spec(p: dict[str, Any]) -> str:
    return delay_models.parse_spec(p["delays"])[1]["spec"]


def policy_params(p: dict[str, Any], name: str, problem: Any) -> dict[str, Any]:
    """run_on_compute's overrides for policy method ``name`` from the simulation's parameters (checked by
    resolving the method once; a bad value raises ValueError naming the flag)."""
    from verify.algorithms.batch import resolve_batch
    from verify.algorithms.rules import POLICY_ALGORITHMS
    from verify.models import compute

    out: dict[str, Any] = {}
    if name in ("rennala", "minibatch"):
        if p.get("eta") is not None:
            out["gamma"] = p["eta"]
        if p.get("batch") is not None:
            out["S" if name == "rennala" else "m"] = p["batch"]
        n = compute.make(compute_spec(p)).n
        _flagged(f"--algorithm {name}", resolve_batch, name, beta=problem.beta, F=problem.F, eps=p["eps"],
                 sigma=p["sigma"], n=n, **out)
    else:
        out = {k: p[k] for k in ("eta", "R") if p.get(k) is not None}
        _flagged(f"--algorithm {name}", POLICY_ALGORITHMS[name].resolve, beta=problem.beta, F=problem.F, eps=p["eps"],
                 sigma=p["sigma"], **out)
    return out


def _execute_with_policies(lanes: Lanes, progress: bool | None) -> list[RunResult]:
    """The step lanes as usual, then each policy lane by run_on_compute (its schedule drawn with the seed the
    asynchronous one of that lane uses); results in the lanes' order (algorithm-major)."""
    import dataclasses

    p = lanes.params
    step = execute(dataclasses.replace(lanes, policy_lanes=[]), progress) if lanes.seeds else []
    done = {(r.algorithm, r.seed): r for r in step}
    spec = compute_spec(p)
    params = {a: policy_params(p, a, lanes.problem) for a in dict.fromkeys(a for a, _ in lanes.policy_lanes)}
    for a, s in lanes.policy_lanes:
        cseed = p["delay_seed"] if p["delay_draw"] == "shared" else delay_models.draw_seed(p["delay_seed"], s)
        out: dict[str, Any] = {}
        done[(a, s)] = run_on_compute(lanes.problem, spec, a, T=p["steps"], eps=p["eps"], sigma=p["sigma"], seed=s,
                                      compute_seed=cseed, noise=lanes.noise, engine=p["engine"],
                                      trace_every=p["trace_every"], stop_at_hit=p["stop_at_hit"], schedule_out=out,
                                      **params[a])
        lanes.schedules[(a, s)] = out["trace"]
    seeds = list(range(p["seed0"], p["seed0"] + p["seeds"]))
    return [done[(a, s)] for a in p["algorithms"] for s in seeds]
#: method -> the event-simulation policy whose schedule it runs on (verify.engine.events)
COMPUTE_METHODS: dict[str, str] = {
    "picky": "async", "delayed-sgd": "async", "delay-adaptive": "async", "stale-drop": "async",
    "ringmaster": "ringmaster", "ringmaster-stops": "ringmaster-stops", "rennala": "rennala", "minibatch": "minibatch",
}
#: the methods whose schedule is not the asynchronous one (they need --compute)
POLICY_METHODS = tuple(a for a, pol in COMPUTE_METHODS.items() if pol != "async")


def run_on_compute(problem: Any, compute_model: Any, algorithm: str, *, T: int, eps: float, sigma: float = 0.0,
                   seed: int = 0, compute_seed: int | None = None, noise: Any = None, engine: str = "numba",
                   trace_every: int | None = None, stop_at_hit: bool = False, schedule_out: dict | None = None,
                   **params: Any) -> RunResult:
    """One run of ``algorithm`` for T server steps on the schedule its policy induces under ``compute_model``.

    Signature::

        run_on_compute(problem, compute_model, algorithm, *, T, eps, sigma=0.0, seed=0, compute_seed=None,
                       noise=None, engine="numba", trace_every=None, stop_at_hit=False, schedule_out=None,
                       **params) -> RunResult

    ``problem``: a :mod:`verify.models.problems` problem; ``compute_model``: a spec (``"fixed:times=1;1;2;10"``)
    or a :class:`verify.models.compute.ComputeModel`; ``algorithm``: one of :data:`COMPUTE_METHODS` --
    picky, delayed-sgd, delay-adaptive, stale-drop (the asynchronous schedule: every arrival a step),
    ringmaster, ringmaster-stops (Ringmaster's schedules, threshold ``R``), rennala (rounds of ``S`` kept
    arrivals, averaged), minibatch (rounds over the ``m`` fastest workers, averaged). ``params``: the
    method's overrides (eta, rho, R, tau_C, rule; rennala: gamma, S; minibatch: gamma, m); the rest from
    theory. The schedule's draws come from ``default_rng(compute_seed)`` (default: ``seed``); the noise of a
    gradient is its task's row keyed by (seed, task). ``engine``: ``numba`` or ``reference``.

    The record: ``first_hit`` (server steps), ``delays.wall_clock`` (the arrival time of every server step;
    a batch step's is its round's end) and ``extra``: ``seconds_to_eps`` (the arrival time of the update
    that produced x_{first_hit}; 0 for x_1; None without a hit), ``policy``, ``compute``, ``compute_seed``,
    ``discarded`` (computations ignored or cancelled by the schedule). ``schedule_out``: a dict that receives
    ``"trace"``, the schedule in ``picky async-run``'s trace format (a batch method's: one row per gradient
    averaged, :meth:`verify.algorithms.batch.BatchSchedule.trace_dict`; Ringmaster's: its applied steps and
    the ``dropped`` computations).

    Example::

        from verify.models import problems
        r = run_on_compute(problems.make("logsum", 10), "fixed:times=1;1;2;10", "rennala", T=200, eps=0.1,
                           sigma=0.2, seed=0)
        r.first_hit, r.extra["seconds_to_eps"]   # (20, 38.0): server steps and seconds to ||grad f|| <= eps
    """
    from verify.algorithms import batch as B
    from verify.algorithms.rules import POLICY_ALGORITHMS
    from verify import engine as step_engine
    from verify.engine import events
    from verify.engine.batch import run_batch_lane
    from verify.io.specs import format_spec
    from verify.models import compute
    from theory.validation import check_int
    from ..params import MAX_SEED, MAX_STEPS

    if algorithm not in COMPUTE_METHODS:
        raise ValueError(f"algorithm must be one of {', '.join(COMPUTE_METHODS)} (on a computation model); got {algorithm!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    T = check_int("T", T, 1, MAX_STEPS)
    seed = check_int("seed", seed, 0, MAX_SEED)
    cseed = seed if compute_seed is None else check_int("compute_seed", compute_seed, 0, MAX_SEED)
    spec = compute_model if isinstance(compute_model, str) else None
    cm = _flagged("compute_model", compute.make, spec) if spec is not None else compute_model
    if not isinstance(cm, compute.ComputeModel):
        raise ValueError(f"compute_model must be a computation-model spec or a ComputeModel; got {compute_model!r}")
    described = spec if spec is not None else {"model": cm.name, **cm.params}
    noise = make_noise("gaussian") if noise is None else noise
    policy = COMPUTE_METHODS[algorithm]
    ctx = dict(beta=problem.beta, F=problem.F, eps=eps, sigma=sigma)
    kw = dict(noise=noise, trace_every=trace_every, stop_at_hit=stop_at_hit)
    if policy in ("rennala", "minibatch"):
        alg = B.resolve_batch(algorithm, n=cm.n, **ctx, **params)
        raw = (events.simulate(cm, T, seed=cseed, policy="rennala", B=alg.S) if policy == "rennala"
               else events.simulate(cm, T, seed=cseed, policy="minibatch", m=alg.m))
        sched = B.BatchSchedule.from_events(raw, policy, alg.batch)
        seq = sched.sequence("compute", {"spec": described, "policy": policy, "B": alg.batch}, cseed)
        run = run_batch_lane if engine == "numba" else B.reference_batch_run
        r = run(problem, sched, alg, seed=seed, sequence=seq, **kw)
        discarded = int(raw.dropped_task.size)
        trace = lambda: sched.trace_dict("compute", seq.params, cseed)  # noqa: E731
    else:
        if policy == "async":
            if spec is not None:  # the very sequence of --delays compute:spec=... (same record)
                seq = delay_models.make(format_spec("compute", {"spec": spec}), T, seed=cseed)
            else:
                seq = events.delay_sequence(events.simulate(cm, T, seed=cseed), "compute", {"spec": described}, cseed)
            alg = algorithms.resolve(algorithm, **ctx, delays=seq, **params)
            discarded = 0
            trace = seq.to_json_dict
        else:
            alg = POLICY_ALGORITHMS[algorithm].resolve(**ctx, **params)
            raw = events.simulate(cm, T, seed=cseed, policy=policy, R=alg.R)
            seq = events.delay_sequence(raw, "compute", {"spec": described, "policy": policy, "R": alg.R}, cseed)
            discarded = int(raw.dropped_task.size)
            trace = lambda: {**seq.to_json_dict(), "policy": policy, "R": alg.R, "dropped": {  # noqa: E731
                "task": raw.dropped_task.tolist(), "worker": raw.dropped_worker.tolist(), "time": raw.dropped_time.tolist()}}
        if engine == "numba":
            r = step_engine.run_batch(problem, seq, alg, [seed], T=T, **kw)[0]
        else:
            r = algorithms.reference_run(problem, seq, alg, seed=seed, T=T, **kw)
    r.extra.update({"seconds_to_eps": seconds_to_hit(r), "policy": policy, "compute": described,
                    "compute_seed": cseed, "discarded": discarded})
    if schedule_out is not None:
        schedule_out["trace"] = trace()
    return r

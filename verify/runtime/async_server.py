"""A real asynchronous parameter server on Dask: real delays, replayable in the simulator.

``run(...)`` starts (or is given) a Dask cluster with N workers. Each worker computes the gradient of
the problem at the parameter snapshot it was handed, after a compute time drawn from its speed model
(heterogeneous per-worker slowdowns, heavy-tailed stragglers, time-varying load: :data:`SPEEDS`). The
server applies the gradients in arrival order: arrival number t is server step t, and a gradient
computed at the snapshot handed out at step s has delay d_t = t - s. The worker that delivered it is
handed the new parameters x_{t+1}.

The server *is* :func:`verify.algorithms.reference_run`, driven by the arrivals: its adaptive-delay hook
returns, at step t, the delay of the gradient that actually arrived, and the reference loop then applies
the algorithm's rule object (accept test and step) exactly as the simulator does. Noise: each task
is a stochastic gradient, computed on the worker: g = grad f(snapshot) + sigma z with z the noise row of
*that task*, ``noise.task_rows(seed, [task], dim)`` (a Philox4x64-10 stream keyed by the run's seed and
the task number, not by the worker or the arrival order; the compiled
:func:`verify.models.noise.task_row_any` that the simulators call too). The server checks that every
gradient a worker returned equals this, bit for bit (a worker that computed elsewhere or drew other noise
would be caught; the rows' transforms call libm's log and pow, so workers on machines with another libm
could differ in the last bit). The recorded trace carries each step's delay, arrival time and task
(``DelaySequence.tasks``), and the simulator keys the noise by task when a sequence has tasks, so
replaying the trace (``reference_run(problem, trace, alg, seed=seed)``, or the compiled engine, or
``picky simulate --delays replay:path=trace.json``) reproduces the run's iterates exactly; this is tested.

The record (:class:`AsyncRecord`) holds the run's :class:`verify.io.records.RunResult` (its delays are the
realised trace, model ``async-run``), and per step: the worker, the task, the issue step, the compute
time and the wall-clock arrival time; plus the workers seen, lost and restarted (a worker killed
mid-run: the others go on, its task is rescheduled by Dask and arrives later; the record says so).
"""
from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from verify import algorithms
from verify.models import problems
from verify.models.noise import make_noise
from verify.models.delays import DelaySequence
from verify.params import Param
from verify.io.records import RunResult
from verify.io.specs import parse_spec
from verify.optional import require

__all__ = ["SPEEDS", "run", "replay", "AsyncRecord", "worker_gradient"]

#: speed models: per-worker slowdown factors (mean compute time = base x factor), plus per-task load
#: jitter (a log-normal multiplier with this sigma; 0 = none)
SPEEDS: dict[str, dict[str, Param]] = {
    "uniform": {"jitter": Param(float, 0.0, low=0.0, doc="log-normal load jitter per task")},
    "lognormal": {"s": Param(float, 1.0, low=0.0, doc="log-normal sigma of the per-worker factor"),
                  "jitter": Param(float, 0.2, low=0.0, doc="log-normal load jitter per task")},
    "pareto": {"alpha": Param(float, 1.5, low=0.0, low_open=True, doc="Pareto tail index of the factors"),
               "jitter": Param(float, 0.2, low=0.0, doc="log-normal load jitter per task")},
    "straggler": {"factor": Param(float, 20.0, low=1.0, doc="the slow workers' slowdown"),
                  "count": Param(int, 1, low=1.0, doc="how many workers are slow"),
                  "jitter": Param(float, 0.0, low=0.0, doc="log-normal load jitter per task")},
}


def speed_factors(spec: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float, dict[str, Any]]:
    """(per-worker factors, jitter, parameters) of a speed spec such as ``pareto:alpha=1.2``."""
    name, given = parse_spec(spec)
    if name not in SPEEDS:
        raise ValueError(f"unknown speed model {name!r}; known: {', '.join(SPEEDS)}")
    unknown = sorted(set(given) - set(SPEEDS[name]))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for speed model {name!r}; allowed: {', '.join(SPEEDS[name])}")
    p = {k: (par.coerce(f"speed model {name!r}", k, given[k]) if k in given else par.default)
         for k, par in SPEEDS[name].items()}
    if name == "uniform":
        f = np.ones(n)
    elif name == "lognormal":
        f = rng.lognormal(0.0, p["s"], n)
    elif name == "pareto":
        f = 1.0 + rng.pareto(p["alpha"], n)
    else:
        if p["count"] > n:
            raise ValueError(f"speed model 'straggler': count = {p['count']} exceeds the {n} workers")
        f = np.ones(n)
        f[: p["count"]] = p["factor"]
    return f / f.min(), float(p["jitter"]), {"model": name, **p}


@functools.lru_cache(maxsize=8)
def _problem(spec: str, dim: int) -> Any:
    return problems.make(spec, dim)


@functools.lru_cache(maxsize=8)
def _noise(spec: str) -> Any:
    return make_noise(spec)


def stochastic_gradient(problem: Any, noise: Any, sigma: float, seed: int, task: int, x: np.ndarray) -> np.ndarray:
    """Task ``task``'s stochastic gradient at ``x``: grad f(x) + sigma z, z = the task's noise row
    (exactly the reference loop's arithmetic ``g + sigma * z``; sigma = 0: the exact gradient)."""
    g = np.asarray(problem.grad(np.asarray(x, dtype=np.float64)))
    if sigma == 0.0:
        return g
    return g + sigma * noise.task_rows(seed, [task], g.shape[0])[0]


def worker_gradient(problem_spec: str, dim: int, snapshot: np.ndarray, seconds: float, noise_spec: str = "gaussian",
                    sigma: float = 0.0, seed: int = 0, task: int = 0) -> tuple[np.ndarray, float]:
    """What a worker does: wait its compute time, then task ``task``'s stochastic gradient at ``snapshot``."""
    t0 = time.perf_counter()
    time.sleep(seconds)
    g = stochastic_gradient(_problem(problem_spec, dim), _noise(noise_spec), sigma, seed, task, snapshot)
    return g, time.perf_counter() - t0


@dataclass
class AsyncRecord:
    result: RunResult
    steps: list[dict[str, Any]]  # per server step: t, delay, worker, task, issued, compute_s, arrival_s
    workers: dict[str, Any] = field(default_factory=dict)
    speeds: dict[str, Any] = field(default_factory=dict)
    gradient_mismatches: int = 0

    def summary(self) -> dict[str, Any]:
        d = self.result.delays.delays
        return {"steps": len(self.steps), "tau_avg": float(d.mean()) if d.size else 0.0,
                "tau_max": int(d.max()) if d.size else 0, "workers": self.workers, "speeds": self.speeds,
                "gradient_mismatches": self.gradient_mismatches, "first_hit": self.result.first_hit,
                "accepted": self.result.accepted, "rejected": self.result.rejected}


class _Server:
    """reference_run's adaptive-delay hook: at step t, the delay of the gradient that arrived."""

    def __init__(self, client: Any, problem_spec: str, dim: int, factors: np.ndarray, jitter: float, base: float,
                 rng: np.random.Generator, noise_spec: str, sigma: float, seed: int):
        as_completed = require("distributed", "picky async-run").as_completed

        self.client, self.spec, self.dim = client, problem_spec, dim
        self.noise_spec, self.sigma, self.seed = noise_spec, float(sigma), int(seed)
        self.task_at: dict[int, int] = {}  # server step -> the task whose gradient arrived
        self.workers = sorted(client.scheduler_info()["workers"])
        if len(self.workers) < len(factors):
            raise ValueError(f"--workers: the cluster has {len(self.workers)} workers, fewer than {len(factors)}")
        self.workers = self.workers[: len(factors)]
        self.factor = dict(zip(self.workers, factors))
        self.jitter, self.base, self.rng = jitter, base, rng
        self.pending: str | None = None
        self.info: dict[Any, tuple[str, int, int, float]] = {}  # future -> (worker slot, task, issue step, seconds)
        self.ac = as_completed()
        self.tasks = 0
        self.run_id = uuid.uuid4().hex[:12]  # task keys unique across runs on one cluster
        self.steps: list[dict[str, Any]] = []
        self.mismatches = 0
        self.t0 = time.perf_counter()
        self.seen: set[str] = set(self.workers)

    def _issue(self, slot: str, snapshot: np.ndarray, step: int) -> None:
        secs = self.base * self.factor[slot]
        if self.jitter:  # time-varying load
            secs *= float(np.exp(self.jitter * self.rng.standard_normal()))
        self.tasks += 1
        fut = self.client.submit(worker_gradient, self.spec, self.dim, snapshot, secs, self.noise_spec, self.sigma,
                                 self.seed, self.tasks, key=f"picky-grad-{self.run_id}-{self.tasks}",
                                 pure=False, workers=[slot], allow_other_workers=True)
        self.info[fut] = (slot, self.tasks, step, secs)
        self.ac.add(fut)

    def __call__(self, t: int, xs: list, problem: Any) -> int:
        if t == 1:
            for w in self.workers:
                self._issue(w, xs[0], 1)
        elif self.pending is not None:
            self._issue(self.pending, xs[t - 1], t)  # the worker that delivered at step t-1 gets x_t
        fut = next(self.ac)
        slot, task, issued, secs = self.info.pop(fut)
        g, compute = fut.result()
        expect = stochastic_gradient(problem, _noise(self.noise_spec), self.sigma, self.seed, task, xs[issued - 1])
        if not np.array_equal(g, expect):
            self.mismatches += 1
        self.task_at[t] = task
        who = self.client.who_has([fut]).get(fut.key) or ()
        self.steps.append({"t": t, "delay": t - issued, "worker": slot, "computed_on": list(who), "task": task,
                           "issued": issued, "compute_s": compute, "arrival_s": time.perf_counter() - self.t0})
        self.pending = slot
        return t - issued

    def task_of(self, t: int) -> int:
        """reference_run's noise key: the task whose gradient is applied at step t."""
        return self.task_at[t]

    def close(self) -> dict[str, Any]:
        for fut in list(self.info):
            fut.cancel()
        now = set(self.client.scheduler_info()["workers"])
        return {"requested": self.workers, "at_end": sorted(now), "lost": sorted(set(self.workers) - now),
                "restarted_or_new": sorted(now - set(self.workers)), "tasks": self.tasks}


def run(algorithm: str, problem: str, dim: int, workers: int, speeds: str, steps: int, *, eps: float,
        sigma: float = 0.0, seed: int = 0, base_seconds: float = 0.002, client: Any = None,
        overrides: dict[str, Any] | None = None, tau_max: float | None = None, noise: str = "gaussian") -> AsyncRecord:
    """One asynchronous run (see the module docstring). ``client``: an existing Dask client (else a
    LocalCluster of ``workers`` processes on 127.0.0.1 is started and stopped). Defaults that need
    tau_avg use workers - 1 (the steady-state average delay of N busy workers), those that need the
    concurrency use N (KSJ 2022 Definition 1: N always-busy workers); defaults that need
    tau_max need ``tau_max`` (a bound known in advance) or an explicit ``eta``."""
    Client = require("distributed", "picky async-run").Client

    from verify.runtime.executors import local_cluster

    prob = problems.make(problem, dim)
    noise_model = make_noise(noise)
    bounds: dict[str, float] = {"tau_avg": float(workers - 1), "concurrency": float(workers)}
    if tau_max is not None:
        bounds["tau_max"] = float(tau_max)
    try:
        alg = algorithms.resolve(algorithm, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, delays=bounds,
                                 **(overrides or {}))
    except ValueError as exc:
        if "tau_max" in str(exc) and tau_max is None:
            raise ValueError(f"{algorithm}'s defaults need tau_max (the delay bounds known in advance): give "
                             "--tau-max, or --eta") from None
        raise
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))  # speeds: independent of the noise
    factors, jitter, sp = speed_factors(speeds, workers, rng)
    cluster = None
    own = client is None
    if own:
        cluster = local_cluster(workers)
        client = Client(cluster)
    try:
        server = _Server(client, problem, dim, factors, jitter, base_seconds, rng, noise_model.spec, alg.sigma, seed)
        res = algorithms.reference_run(prob, server, alg, seed=seed, T=steps, noise=noise_model,
                                       noise_keys=server.task_of)
        info = server.close()
    finally:
        if own:
            client.close()
            cluster.close()
    n = len(server.steps)  # = steps run (a divergence stops the run early)
    trace = DelaySequence(res.delays.delays, "async-run", {"workers": workers, "speeds": speeds}, None,
                          wall_clock=[s["arrival_s"] for s in server.steps[:n]],
                          tasks=[s["task"] for s in server.steps[:n]])
    res = replace(res, delays=trace, adaptive=False, engine="async-run")
    return AsyncRecord(res, server.steps, info, {**sp, "factors": factors.tolist(), "base_seconds": base_seconds},
                       server.mismatches)


def replay(rec: AsyncRecord, problem: str, dim: int, engine: str = "reference") -> RunResult:
    """The recorded trace through the simulator (same rule object and seed; the noise keyed by the
    trace's tasks): the reference loop, or the compiled engine with ``engine="numba"``."""
    r = rec.result
    prob = problems.make(problem, dim)
    cfg = {k: v for k, v in r.config.items() if k in algorithms.OVERRIDES.get(r.algorithm, ()) and v is not None}
    alg = algorithms.resolve(r.algorithm, beta=prob.beta, F=prob.F, eps=r.config["eps"], sigma=r.config["sigma"], **cfg)
    noise = make_noise(r.noise["spec"])
    if engine == "numba":
        from verify.engine import run_batch

        return run_batch(prob, r.delays, alg, [r.seed], noise=noise)[0]
    if engine != "reference":
        raise ValueError(f"engine must be 'reference' or 'numba'; got {engine!r}")
    return algorithms.reference_run(prob, r.delays, alg, seed=r.seed, T=len(r.delays), noise=noise)

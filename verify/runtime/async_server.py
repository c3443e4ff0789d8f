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

Ringmaster ASGD with stops (``algorithm="ringmaster"``): after each arrival the server cancels the
Dask future of every computation whose delay has reached R (k - s >= R, x_k the current iterate, s the
iterate it read) and hands that worker x_k (a restart); every gradient that arrives therefore has delay
<= R - 1 and is applied with Ringmaster's step. The rule object is stale-drop's with R and step gamma
from :func:`theory.timing.ringmaster_parameters` (unless given; its accept test d_t < R never fires).
Dask cannot interrupt a running task: a cancelled computation's worker thread finishes its sleep first,
so the restarted one may queue behind it; the recorded times include that.

Rennala SGD (``algorithm="rennala"``, :class:`verify.algorithms.batch.Rennala`): rounds. In round k
every worker is handed x_k; each of the first S arrivals is kept and (unless it is the S-th) its worker
is handed x_k again; at the S-th arrival the server cancels the Dask futures of the computations still
in flight (their work discarded, recorded ``cancelled`` at that event) and applies x_{k+1} = x_k -
gamma (1/S) sum of the S gradients (summed in arrival order, each checked bit for bit as above): the
server is :func:`verify.algorithms.batch.reference_batch_run` driven by the rounds (its ``rounds``
hook), exactly :func:`verify.engine.events_reference.rennala`'s semantics. S and gamma from
:func:`theory.timing.rennala_parameters` (THIRD-PARTY) unless given. The record's ``steps`` are the
kept arrivals (S per server step, ``position`` in the round, ``issued`` = k); the result's delays are
the server steps (all 0) at the rounds' ends; :func:`recorded_batch_schedule` gives the rounds.
Minibatch SGD (``algorithm="minibatch"``, :class:`verify.algorithms.batch.Minibatch`) the same way,
with events_reference.minibatch's rounds: the m fastest workers (by speed factor; default all n) are
each handed x_k and the round ends with the last of their m gradients, summed in task (worker-index)
order; nothing is cancelled; the record's workers are the m used.

The server's event clock. Every event (an arrival, and the cancellations and restarts it triggers)
gets one time on a clock of ticks of :data:`verify.models.compute.TRACE_TICK` = 2^-30 s (the
perf_counter time since the start, rounded to a tick, and at least one tick after the previous
event): arrival times are strictly increasing in arrival order, and, being dyadic, their differences
and sums are exact in float64. Each computation is recorded (:attr:`AsyncRecord.computations`, also
the cancelled ones and those still running at the end) with its task (the global start index, 0-based,
as in the event simulation), worker, issue step (the iterate it read), ``start_s`` (the event at which
it was handed out: 0 for the first n, else the arrival that freed its worker) and ``end_s`` (its
arrival, or the event that cancelled it, or the last arrival for one still running). So the trace
computation model (``trace:path=DIR``, :func:`verify.models.compute.trace_durations`: end - start as
the server saw it, one tick more for a computation that had not arrived) replays the run in the event
simulation with the same order, delays, tasks and times, bit for bit (tests/test_asyncrun.py): the
order cannot differ, because the recorded times *are* the server's order. ``submitted_s`` is the time
the server actually submitted it (after the update: the server's own overhead), and ``compute_s``
the worker's own measurement (sleep + gradient).

The record (:class:`AsyncRecord`) holds the run's :class:`verify.io.records.RunResult` (its delays are the
realised trace, model ``async-run``), and per step: the worker, the task, the issue step, the compute
time and the arrival time (the event clock); every computation (above); every iterate; plus the
workers seen, lost and restarted (a worker killed mid-run: the others go on, its task is rescheduled by
Dask and arrives later; the record says so).
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

import numpy as np

from verify import algorithms
from verify.models import problems
from verify.models.compute import TRACE_TICK
from verify.models.noise import make_noise
from verify.models.delays import DelaySequence
from verify.params import Param
from verify.io.records import RunResult
from verify.io.specs import parse_spec
from verify.optional import require

__all__ = ["SPEEDS", "ALGORITHMS", "run", "replay", "AsyncRecord", "worker_gradient", "ringmaster_choice",
           "simulated_schedule", "schedule_reproduced", "recorded_schedule", "recorded_batch_schedule", "recorded_run"]

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


#: the algorithms of async-run beyond verify.algorithms': name -> the event simulation's policy
#: (``ringmaster``: stale-drop's rule with Ringmaster's R and step, on the ringmaster-stops schedule;
#: ``rennala``, ``minibatch``: the batch methods of verify.algorithms.batch on their schedules)
ALGORITHMS: dict[str, str] = {"ringmaster": "ringmaster-stops", "rennala": "rennala", "minibatch": "minibatch"}


def ringmaster_choice(beta: float, sigma: float, eps: float) -> tuple[int, float]:
    """Ringmaster's (R, gamma) from :func:`theory.timing.ringmaster_parameters` (UNCONFIRMED
    recollections of Thm 4.1, labelled there)."""
    from theory import timing

    p = timing.ringmaster_parameters(beta=beta, sigma=sigma, eps=eps)
    return int(p["R"]), float(p["gamma"])


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
    #: every computation started, by task (0-based): task, worker, worker_index, issued, start_s,
    #: submitted_s, end_s, status ("applied" with its step t, "cancelled" or "unfinished")
    computations: list[dict[str, Any]] = field(default_factory=list)
    #: the event simulation's policy that gives this run's schedule ("async", "ringmaster-stops", "rennala" or
    #: "minibatch"), its R
    policy: str = "async"
    R: int | None = None
    #: x_1 .. x_{T+1}, the server's iterates (rows)
    iterates: np.ndarray | None = None
    #: a batch method's B, Rennala's S or minibatch's m (``steps`` are then its kept arrivals, B per server
    #: step, with ``position`` in the round's sum; the result's delays are the server steps, all 0, at
    #: the rounds' ends)
    batch: int | None = None

    @property
    def server_steps(self) -> int:
        """Server steps run (a batch method's: rounds)."""
        return len(self.result.delays)

    def summary(self) -> dict[str, Any]:
        d = self.result.delays.delays
        return {"steps": self.server_steps, "batch": self.batch, "gradients_applied": len(self.steps),
                "tau_avg": float(d.mean()) if d.size else 0.0,
                "tau_max": int(d.max()) if d.size else 0, "workers": self.workers, "speeds": self.speeds,
                "gradient_mismatches": self.gradient_mismatches, "first_hit": self.result.first_hit,
                "accepted": self.result.accepted, "rejected": self.result.rejected, "policy": self.policy,
                "R": self.R, "computations_started": len(self.computations),
                "cancelled": sum(c["status"] == "cancelled" for c in self.computations)}


def event_time(seconds: float, last: float) -> float:
    """The event clock (module docstring): ``seconds`` rounded to a multiple of TRACE_TICK, and at least
    one tick after the previous event ``last``."""
    return max(round(seconds / TRACE_TICK) * TRACE_TICK, last + TRACE_TICK)


class _Server:
    """reference_run's adaptive-delay hook: at step t, the delay of the gradient that arrived."""

    def __init__(self, client: Any, problem_spec: str, dim: int, factors: np.ndarray, jitter: float, base: float,
                 rng: np.random.Generator, noise_spec: str, sigma: float, seed: int, R: int | None = None):
        as_completed = require("distributed", "picky async-run").as_completed

        self.client, self.spec, self.dim = client, problem_spec, dim
        self.noise_spec, self.sigma, self.seed = noise_spec, float(sigma), int(seed)
        self.R = R  # Ringmaster's threshold: cancel a computation whose delay reaches R (None: never)
        self.task_at: dict[int, int] = {}  # server step -> the task whose gradient arrived
        self.workers = sorted(client.scheduler_info()["workers"])
        if len(self.workers) < len(factors):
            raise ValueError(f"--workers: the cluster has {len(self.workers)} workers, fewer than {len(factors)}")
        self.workers = self.workers[: len(factors)]
        self.requested = list(self.workers)  # the cluster's workers for this run (minibatch may use fewer)
        self.index = {w: i for i, w in enumerate(self.workers)}
        self.factor = dict(zip(self.workers, factors))
        self.jitter, self.base, self.rng = jitter, base, rng
        self.pending: str | None = None
        self.info: dict[Any, tuple[str, int, int, float]] = {}  # future -> (worker slot, task, issue step, seconds)
        self.ac = as_completed()
        self.tasks = 0
        self.run_id = uuid.uuid4().hex[:12]  # task keys unique across runs on one cluster
        self.steps: list[dict[str, Any]] = []
        self.computations: list[dict[str, Any]] = []  # by task
        self.mismatches = 0
        self.t0 = time.perf_counter()
        self.event = 0.0  # the event clock's last event (module docstring)
        self.xs: list | None = None
        self.seen: set[str] = set(self.workers)

    def _clock(self) -> float:
        """The next event's time (:func:`event_time`)."""
        self.event = event_time(time.perf_counter() - self.t0, self.event)
        return self.event

    def _issue(self, slot: str, snapshot: np.ndarray, step: int) -> None:
        secs = self.base * self.factor[slot]
        if self.jitter:  # time-varying load
            secs *= float(np.exp(self.jitter * self.rng.standard_normal()))
        task = self.tasks  # the global start index (0-based), the event simulation's task
        self.tasks += 1
        fut = self.client.submit(worker_gradient, self.spec, self.dim, snapshot, secs, self.noise_spec, self.sigma,
                                 self.seed, task, key=f"picky-grad-{self.run_id}-{task}",
                                 pure=False, workers=[slot], allow_other_workers=True)
        self.info[fut] = (slot, task, step, secs)
        self.computations.append({"task": task, "worker": slot, "worker_index": self.index[slot], "issued": step,
                                  "start_s": self.event,
                                  "submitted_s": time.perf_counter() - self.t0, "end_s": None,
                                  "status": "running", "sleep_s": secs})
        self.ac.add(fut)

    def _stops(self, k: int, snapshot: np.ndarray) -> None:
        """Ringmaster's stops at the current iterate x_k: cancel every computation with k - s >= R and
        restart its worker at x_k, in worker-index order (the event simulation's order)."""
        stale = sorted((self.index[slot], fut) for fut, (slot, _, s, _) in self.info.items() if k - s >= self.R)
        for _, fut in stale:
            slot, task, _, _ = self.info.pop(fut)
            fut.cancel()
            self.computations[task].update(end_s=self.event, status="cancelled")
            self._issue(slot, snapshot, k)

    def __call__(self, t: int, xs: list, problem: Any) -> int:
        self.xs = xs
        if t == 1:
            for w in self.workers:
                self._issue(w, xs[0], 1)
        elif self.pending is not None:
            self._issue(self.pending, xs[t - 1], t)  # the worker that delivered at step t-1 gets x_t
            if self.R is not None:
                self._stops(t, xs[t - 1])
        slot, task, issued, _ = self._arrival(problem, xs, t)
        self.task_at[t] = task
        self.steps[-1] = {"t": t, "delay": t - issued, **self.steps[-1]}
        self.pending = slot
        return t - issued

    def task_of(self, t: int) -> int:
        """reference_run's noise key: the task whose gradient is applied at step t."""
        return self.task_at[t]

    def _arrival(self, problem: Any, xs: list, t: int) -> tuple[str, int, int, float]:
        """The next computation to arrive (not cancelled): its slot, task, issue step and event time;
        its gradient checked bit for bit against task ``task``'s at x_issued; recorded as applied at
        server step t."""
        while True:
            fut = next(self.ac)
            if fut in self.info:  # (a cancelled future may still come out of as_completed)
                break
        arrival = self._clock()
        slot, task, issued, _ = self.info.pop(fut)
        g, compute = fut.result()
        expect = stochastic_gradient(problem, _noise(self.noise_spec), self.sigma, self.seed, task, xs[issued - 1])
        if not np.array_equal(g, expect):
            self.mismatches += 1
        self.computations[task].update(end_s=arrival, status="applied", t=t, compute_s=compute)
        who = self.client.who_has([fut]).get(fut.key) or ()
        self.steps.append({"worker": slot, "computed_on": list(who), "task": task, "issued": issued,
                           "compute_s": compute, "arrival_s": arrival})
        return slot, task, issued, arrival

    def close(self) -> dict[str, Any]:
        for fut in list(self.info):
            fut.cancel()
            self.computations[self.info[fut][1]].update(end_s=self.event, status="unfinished")
        now = set(self.client.scheduler_info()["workers"])
        return {"requested": self.requested, "used": self.workers, "at_end": sorted(now),
                "lost": sorted(set(self.requested) - now), "restarted_or_new": sorted(now - set(self.requested)),
                "tasks": self.tasks}


class _RennalaServer(_Server):
    """reference_batch_run's ``rounds`` hook: round k of Rennala SGD on the Dask workers
    (events_reference.rennala's semantics). Every worker is handed x_k (in worker-index order: the
    round's first n tasks); each of the first S arrivals is kept and, unless it is the S-th, its worker
    is handed x_k again; at the S-th arrival the computations still in flight are cancelled (their Dask
    futures, in worker-index order; recorded ``cancelled`` at that event) and the round's S tasks, in
    arrival order, go back to the loop, which applies x_{k+1} = x_k - gamma (1/S) sum of their gradients."""

    def __init__(self, *args: Any, S: int, **kw: Any):
        super().__init__(*args, **kw)
        self.S = int(S)
        self.round_time: list[float] = []  # per server step: its S-th arrival (the round's end)
        self.round_tasks: list[list[int]] = []

    def __call__(self, k: int, xs: list, problem: Any) -> list[int]:
        self.xs = xs
        x = xs[k - 1]
        for w in self.workers:  # the round starts at the last event (the previous round's end; 0 at k = 1)
            self._issue(w, x, k)
        kept: list[int] = []
        while True:
            slot, task, _, arrival = self._arrival(problem, xs, k)
            self.steps[-1].update(t=k, delay=0, position=len(kept))
            kept.append(task)
            if len(kept) == self.S:
                break
            self._issue(slot, x, k)  # kept; its worker computes at x_k again
        for fut in sorted(self.info, key=lambda f: self.index[self.info[f][0]]):  # discarded, in worker-index order
            task = self.info.pop(fut)[1]
            fut.cancel()
            self.computations[task].update(end_s=self.event, status="cancelled")
        self.round_time.append(arrival)
        self.round_tasks.append(kept)
        return kept


class _MinibatchServer(_Server):
    """reference_batch_run's ``rounds`` hook for minibatch SGD (events_reference.minibatch's semantics):
    round k hands x_k to each of the m workers used (the m fastest by speed factor, ties by index; all
    n by default), in worker-index order (the round's m consecutive tasks), and waits for all m; the
    round ends at the last arrival and its m gradients are summed in task order (worker-index order).
    Only the workers used are the run's workers (``worker_index`` counts among them)."""

    def __init__(self, *args: Any, m: int, **kw: Any):
        super().__init__(*args, **kw)
        use = sorted(sorted(range(len(self.workers)), key=lambda i: (float(self.factor[self.workers[i]]), i))[:m])
        self.workers = [self.workers[i] for i in use]
        self.index = {w: i for i, w in enumerate(self.workers)}
        self.seen = set(self.workers)
        self.round_time: list[float] = []
        self.round_tasks: list[list[int]] = []

    def __call__(self, k: int, xs: list, problem: Any) -> list[int]:
        self.xs = xs
        first = self.tasks
        for w in self.workers:
            self._issue(w, xs[k - 1], k)
        for _ in self.workers:
            _, task, _, arrival = self._arrival(problem, xs, k)
            self.steps[-1].update(t=k, delay=0, position=task - first)
        tasks = list(range(first, self.tasks))
        self.round_time.append(arrival)
        self.round_tasks.append(tasks)
        return tasks


#: the batch methods of async-run: name -> (server class, its batch parameter)
_BATCH_SERVERS: dict[str, tuple[type, str]] = {"rennala": (_RennalaServer, "S"), "minibatch": (_MinibatchServer, "m")}


@contextmanager
def _fleet(seed: int, speeds: str, workers: int, client: Any) -> Iterator[tuple[Any, np.ndarray, float, dict, Any]]:
    """A run's workers: (rng, speed factors, jitter, the speed spec's parameters, a Dask client). The speeds
    come from their own stream (independent of the noise); the client is the given one, or one on a
    LocalCluster of ``workers`` processes started here and closed on exit."""
    Client = require("distributed", "picky async-run").Client

    from verify.runtime.executors import local_cluster

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))  # speeds: independent of the noise
    factors, jitter, sp = speed_factors(speeds, workers, rng)
    cluster = None
    own = client is None
    if own:
        cluster = local_cluster(workers)
        client = Client(cluster)
    try:
        yield rng, factors, jitter, sp, client
    finally:
        if own:
            client.close()
            cluster.close()


def run(algorithm: str, problem: str, dim: int, workers: int, speeds: str, steps: int, *, eps: float,
        sigma: float = 0.0, seed: int = 0, base_seconds: float = 0.002, client: Any = None,
        overrides: dict[str, Any] | None = None, tau_max: float | None = None, noise: str = "gaussian") -> AsyncRecord:
    """One asynchronous run (see the module docstring). ``client``: an existing Dask client (else a
    LocalCluster of ``workers`` processes on 127.0.0.1 is started and stopped). Defaults that need
    tau_avg use workers - 1 (the steady-state average delay of N busy workers), those that need the
    concurrency use N (KSJ 2022 Definition 1: N always-busy workers); defaults that need
    tau_max need ``tau_max`` (a bound known in advance) or an explicit ``eta``. ``algorithm="ringmaster"``:
    Ringmaster ASGD with stops, ``overrides`` may give ``R`` and ``eta`` (default: Ringmaster's R and
    gamma, :func:`ringmaster_choice`)."""
    require("distributed", "picky async-run")  # the one-line error for a missing extra, before any work
    prob = problems.make(problem, dim)
    noise_model = make_noise(noise)
    bounds: dict[str, float] = {"tau_avg": float(workers - 1), "concurrency": float(workers)}
    if tau_max is not None:
        bounds["tau_max"] = float(tau_max)
    overrides = dict(overrides or {})
    R = None
    policy = ALGORITHMS.get(algorithm, "async")
    for key, owner in (("S", "rennala"), ("m", "minibatch")):
        if key in overrides and algorithm != owner:
            raise ValueError(f"parameter {key!r} (--batch, = {overrides[key]!r}) only applies to algorithm "
                             f"{owner!r}; got algorithm {algorithm!r}")
    if algorithm in _BATCH_SERVERS:
        return _run_batch(algorithm, problem, prob, noise_model, dim, workers, speeds, steps, eps, sigma, seed,
                          base_seconds, client, overrides, tau_max)
    if algorithm == "ringmaster":
        bad = sorted(set(overrides) - {"R", "eta"})
        if bad:
            raise ValueError(f"parameter {bad[0]!r} does not apply to algorithm 'ringmaster' (it takes R and eta)")
        R_th, gamma = ringmaster_choice(prob.beta, sigma, eps)
        overrides.setdefault("R", R_th)
        overrides.setdefault("eta", gamma)
        R = overrides["R"]
        algorithm = "stale-drop"  # Ringmaster's rule object here: stale-drop with R (module docstring)
    elif "R" in overrides and algorithm != "stale-drop":
        raise ValueError(f"parameter 'R' (= {overrides['R']!r}) only applies to algorithm 'ringmaster'; got algorithm "
                         f"{algorithm!r}")
    try:
        alg = algorithms.resolve(algorithm, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, delays=bounds, **overrides)
    except ValueError as exc:
        if "tau_max" in str(exc) and tau_max is None:
            raise ValueError(f"{algorithm}'s defaults need tau_max (the delay bounds known in advance): give "
                             "--tau-max, or --eta") from None
        raise
    if R is not None:
        R = int(alg.R)
    with _fleet(seed, speeds, workers, client) as (rng, factors, jitter, sp, client):
        server = _Server(client, problem, dim, factors, jitter, base_seconds, rng, noise_model.spec, alg.sigma, seed, R)
        res = algorithms.reference_run(prob, server, alg, seed=seed, T=steps, noise=noise_model,
                                       noise_keys=server.task_of)
        info = server.close()
    n = len(server.steps)  # = steps run (a divergence stops the run early)
    trace = DelaySequence(res.delays.delays, "async-run", {"workers": workers, "speeds": speeds}, None,
                          wall_clock=[s["arrival_s"] for s in server.steps[:n]],
                          tasks=[s["task"] for s in server.steps[:n]])
    res = replace(res, delays=trace, adaptive=False, engine="async-run")
    xs = np.array(server.xs) if server.xs is not None else None
    return AsyncRecord(res, server.steps, info, {**sp, "factors": factors.tolist(), "base_seconds": base_seconds},
                       server.mismatches, server.computations, policy, R, xs)


def _run_batch(algorithm: str, problem: str, prob: Any, noise_model: Any, dim: int, workers: int, speeds: str,
               steps: int, eps: float, sigma: float, seed: int, base_seconds: float, client: Any,
               overrides: dict[str, Any], tau_max: float | None) -> AsyncRecord:
    """``run(algorithm="rennala" | "minibatch")``: the method's rounds on the workers
    (:class:`_RennalaServer`, :class:`_MinibatchServer`) driving
    :func:`verify.algorithms.batch.reference_batch_run`; Rennala's S and gamma from
    :func:`theory.timing.rennala_parameters` unless ``overrides`` gives ``S`` or ``eta``; minibatch's m =
    all workers unless ``m``, gamma from :func:`theory.timing.minibatch_parameters` unless ``eta``."""
    from verify.algorithms import batch

    server_cls, key = _BATCH_SERVERS[algorithm]
    bad = sorted(set(overrides) - {key, "eta"})
    if bad:
        raise ValueError(f"parameter {bad[0]!r} (= {overrides[bad[0]]!r}) does not apply to algorithm "
                         f"{algorithm!r} (it takes {key} (--batch) and eta)")
    if tau_max is not None:
        raise ValueError(f"tau_max (= {tau_max!r}) does not apply to algorithm {algorithm!r} (every gradient it "
                         "applies has delay 0)")
    alg = batch.resolve_batch(algorithm, beta=prob.beta, F=prob.F, eps=eps, sigma=sigma, n=workers,
                              gamma=overrides.get("eta"), **{key: overrides.get(key)})
    with _fleet(seed, speeds, workers, client) as (rng, factors, jitter, sp, client):
        server = server_cls(client, problem, dim, factors, jitter, base_seconds, rng, noise_model.spec, alg.sigma, seed,
                            **{key: alg.batch})
        res = batch.reference_batch_run(prob, None, alg, seed=seed, T=steps, noise=noise_model, rounds=server)
        info = server.close()
    sched = batch.BatchSchedule(server.round_time, server.round_tasks, algorithm)
    trace = sched.sequence("async-run", {"workers": workers, "speeds": speeds}, None)
    res = replace(res, delays=trace, engine="async-run")
    xs = np.array(server.xs) if server.xs is not None else None
    return AsyncRecord(res, server.steps, info, {**sp, "factors": factors.tolist(), "base_seconds": base_seconds},
                       server.mismatches, server.computations, algorithm, None, xs, alg.batch)


def replay(rec: AsyncRecord, problem: str, dim: int, engine: str = "reference", delays: Any = None,
           trace_every: int | None = None) -> RunResult:
    """The recorded trace through the simulator (same rule object and seed; the noise keyed by the
    trace's tasks): the reference loop, or the compiled engine with ``engine="numba"``. ``delays``:
    another sequence instead of the recorded one (e.g. the event simulation's,
    :func:`simulated_schedule`). Rennala and minibatch: the batch loop
    (:func:`verify.algorithms.batch.reference_batch_run`, or :func:`verify.engine.batch.run_batch_lane`)
    on the recorded rounds (:func:`recorded_batch_schedule`), or on ``delays``, a
    :class:`~verify.algorithms.batch.BatchSchedule`."""
    r = rec.result
    prob = problems.make(problem, dim)
    if engine not in ("reference", "numba"):
        raise ValueError(f"engine must be 'reference' or 'numba'; got {engine!r}")
    if rec.policy in _BATCH_SERVERS:
        from verify.algorithms import batch

        sched = recorded_batch_schedule(rec) if delays is None else delays
        if engine == "numba":
            from verify.engine.batch import run_batch_lane as loop
        else:
            loop = batch.reference_batch_run
        return loop(prob, sched, batch.batch_from_dict(r.config), seed=r.seed, noise=make_noise(r.noise["spec"]),
                    trace_every=trace_every)
    alg = algorithms.from_dict(r.config)  # the run's rule object and parameters, as recorded
    noise = make_noise(r.noise["spec"])
    seq = r.delays if delays is None else delays
    if engine == "numba":
        from verify.engine import run_batch

        return run_batch(prob, seq, alg, [r.seed], noise=noise, trace_every=trace_every)[0]
    return algorithms.reference_run(prob, seq, alg, seed=r.seed, T=len(seq), noise=noise, trace_every=trace_every)


def recorded_run(data: dict[str, Any]) -> Any:
    """The content of an ``async.json`` (``picky async-run --save``, format 2: ``computations``,
    ``steps_detail``, ``policy``, ``R``, ``batch``, ``steps``) as the record :func:`simulated_schedule` and
    :func:`recorded_schedule` read: a saved run's schedule is checked without rerunning it."""
    from types import SimpleNamespace

    try:
        return SimpleNamespace(computations=data["computations"], steps=data["steps_detail"], policy=data["policy"],
                               R=data["R"], batch=data["batch"], server_steps=int(data["steps"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"an async.json of format 2 needs computations, steps_detail, policy, R, batch and steps; "
                         f"missing {exc}") from None


def simulated_schedule(rec: AsyncRecord) -> Any:
    """The event simulation's schedule (:func:`verify.engine.events.simulate`, the run's policy and R)
    on the run's recorded compute times (the ``trace`` computation model of its computations)."""
    from verify.engine import events
    from verify.models import compute

    cm = compute.trace_model({"computations": rec.computations}, "the run's computations")
    # (minibatch: the trace model holds exactly the m workers the run used, so policy minibatch with all of them)
    return events.simulate(cm, rec.server_steps, policy=rec.policy, R=rec.R,
                           B=rec.batch if rec.policy == "rennala" else None)


def recorded_schedule(rec: AsyncRecord) -> Any:
    """The run's own schedule as a :class:`~verify.engine.events_reference.Schedule`: per step its
    arrival time (event clock), worker index, task and issue step; the cancelled computations
    (task, worker index, cancel time) in the order the server cancelled them; the number started.
    Minibatch: per round (as the event simulation records it) its end, the worker that arrived last,
    the round's first task and k."""
    from verify.engine.events_reference import Schedule

    st = rec.steps
    if rec.policy == "minibatch":
        m = int(rec.batch)
        last = [max(st[k * m:(k + 1) * m], key=lambda s: s["arrival_s"]) for k in range(len(st) // m)]
        st = [dict(s, task=min(r["task"] for r in st[k * m:(k + 1) * m])) for k, s in enumerate(last)]
    cancelled = [c for c in sorted(rec.computations, key=lambda c: (c["end_s"], c["worker_index"]))
                 if c["status"] == "cancelled"]
    index = {c["worker"]: c["worker_index"] for c in rec.computations}
    return Schedule(np.array([s["arrival_s"] for s in st], dtype=np.float64),
                    np.array([index[s["worker"]] for s in st], dtype=np.int64),
                    np.array([s["task"] for s in st], dtype=np.int64),
                    np.array([s["issued"] for s in st], dtype=np.int64),
                    np.array([c["task"] for c in cancelled], dtype=np.int64),
                    np.array([c["worker_index"] for c in cancelled], dtype=np.int64),
                    np.array([c["end_s"] for c in cancelled], dtype=np.float64), len(rec.computations))


def recorded_batch_schedule(rec: AsyncRecord) -> Any:
    """A batch run's rounds as a :class:`~verify.algorithms.batch.BatchSchedule`: per server step its
    end (its last kept arrival) and its B tasks in the order they are summed: Rennala's S kept arrivals
    in arrival order, minibatch's m in task (worker-index) order."""
    from verify.algorithms.batch import BatchSchedule

    if rec.policy not in _BATCH_SERVERS:
        raise ValueError(f"recorded_batch_schedule needs a Rennala or minibatch run; got policy {rec.policy!r}")
    B, st = int(rec.batch), rec.steps
    K = len(st) // B
    tasks = np.array([s["task"] for s in st[: K * B]], dtype=np.int64).reshape(K, B)
    return BatchSchedule(np.array([st[k * B + B - 1]["arrival_s"] for k in range(K)], dtype=np.float64),
                         tasks if rec.policy == "rennala" else np.sort(tasks, axis=1), rec.policy)


def schedule_reproduced(rec: AsyncRecord) -> bool:
    """Whether the event simulation on the recorded compute times gives the run's schedule bit for bit."""
    return simulated_schedule(rec).equal(recorded_schedule(rec))

"""Batch methods: one server step applies the AVERAGE of a batch of stochastic gradients all computed at
the current iterate x_k (a new kind of algorithm beside the step rules of :mod:`verify.algorithms.rules`).

======================  ======================================================  ===============================
algorithm               batch of server step k                                  step
======================  ======================================================  ===============================
``rennala``             the first S arrivals of round k (every worker computes  gamma
                        at x_k; work in flight at the S-th arrival discarded)
``minibatch``           one gradient from each of the m fastest workers         gamma
                        (m = n: all), the round ends with the slowest of them
======================  ======================================================  ===============================

Both: x_{k+1} = x_k - gamma (1/B) sum_{b=1}^{B} (grad f(x_k) + sigma z_{task_{k,b}}), B = S or m,
the sum taken in arrival order, z_j the noise row of task j (keyed by (seed, task) exactly as the
step kernel keys a schedule's tasks: :meth:`verify.models.noise.Noise.task_rows`).

Parameters (:mod:`theory.timing`, one rule one place):

* Rennala SGD (Tyurin & Richtarik, NeurIPS 2023, Alg. 1/2): S = max{1, ceil(sigma^2/eps^2)} and
  gamma = min{1/beta, eps^2 S/(2 beta sigma^2)} -- THIRD-PARTY (the authors' group's code), norm-eps:
  :func:`theory.timing.rennala_parameters`. A user S keeps that step rule at the given S.
* Minibatch SGD: m = n by default (every worker); gamma = Rennala's step rule at S = m -- a CHOICE MADE
  HERE (minibatch SGD is SGD with gradient variance sigma^2/m): :func:`theory.timing.minibatch_parameters`.

The batch schedule (:class:`BatchSchedule`) comes from the event simulation
(:func:`verify.engine.events.simulate`, policies ``rennala`` / ``minibatch``): per server step its
arrival time (the round's end) and the B tasks averaged. :func:`reference_batch_run` is the literal
loop; :func:`verify.engine.batch.run_batch_lane` the compiled one (bit for bit the same;
tests/test_batch.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

import theory
from theory.validation import check, check_int

from .._jit import dist, norm
from verify.io.records import RunResult
from verify.models.delays import DelaySequence
from ..params import MAX_SEED, MAX_STEPS, Param
from .reference import DIVERGENCE_REASONS, DivergenceGuard, check_trace_every, delay_stats

__all__ = ["BatchAlgorithm", "Rennala", "Minibatch", "BATCH_ALGORITHMS", "BatchSchedule", "resolve_batch",
           "batch_from_dict", "reference_batch_run"]

_POSITIVE = dict(kind=float, default=None, low=0.0, low_open=True)


@dataclass(frozen=True, kw_only=True)
class BatchAlgorithm:
    """A batch method configured for one run: ``gamma`` (step), the batch size (``batch``), the run's
    ``eps``, ``sigma``, ``beta`` and ``source`` (where each parameter came from)."""

    name: ClassVar[str]
    params: ClassVar[dict[str, Param]]
    #: the event-simulation policy whose schedule this method runs on
    policy: ClassVar[str]

    eps: float
    sigma: float
    beta: float
    gamma: float
    source: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for n in ("eps", "beta"):
            object.__setattr__(self, n, float(check(n, getattr(self, n))))
        object.__setattr__(self, "sigma", float(check("sigma", self.sigma)))
        for n, p in self.params.items():
            v = getattr(self, n)
            if v is not None:
                object.__setattr__(self, n, p.coerce(f"algorithm {self.name!r}", n, v))
        object.__setattr__(self, "source", dict(self.source))

    @property
    def batch(self) -> int | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"algorithm": self.name, "kind": "batch", "policy": self.policy, "eps": self.eps,
                               "sigma": self.sigma, "beta": self.beta}
        out.update({n: getattr(self, n) for n in self.params})
        out["eta"] = self.gamma  # the step, under the key the step methods' records use
        out["source"] = dict(self.source)
        return out


@dataclass(frozen=True, kw_only=True)
class Rennala(BatchAlgorithm):
    """Rennala SGD: rounds; every worker computes at x_k, the first S arrivals are averaged into one step."""

    name: ClassVar[str] = "rennala"
    policy: ClassVar[str] = "rennala"
    params: ClassVar[dict[str, Param]] = {
        "gamma": Param(**_POSITIVE, doc="step size"),
        "S": Param(int, None, low=1, doc="gradients averaged per server step (the first S arrivals of a round)"),
    }
    S: int

    @property
    def batch(self) -> int:
        return self.S

    @classmethod
    def resolve(cls, *, beta: float, F: float, eps: float, sigma: float, n: int, gamma: float | None = None,
                S: int | None = None, **given: Any) -> "Rennala":
        """Defaults from :func:`theory.timing.rennala_parameters` (S, and gamma at the S used)."""
        _no_extra(cls, given)
        source: dict[str, str] = {}
        if S is None:
            tp = theory.timing.rennala_parameters(beta=beta, sigma=sigma, eps=eps)
            S = int(tp["S"])
            source["S"] = "theory timing S_RENNALA = max{1, ceil(sigma^2/eps^2)} (THIRD-PARTY code)"
        else:
            S = cls.params["S"].coerce(f"algorithm {cls.name!r}", "S", S)
            source["S"] = "user"
        if gamma is None:
            gamma = theory.timing.rennala_parameters(beta=beta, sigma=sigma, eps=eps, S=S)["gamma"]
            source["gamma"] = ("theory timing GAMMA_RENNALA = min{1/beta, eps^2 S/(2 beta sigma^2)} "
                               f"(THIRD-PARTY code; S = {S})")
        else:
            source["gamma"] = "user"
        return cls(eps=eps, sigma=sigma, beta=beta, gamma=gamma, S=S, source=source)


@dataclass(frozen=True, kw_only=True)
class Minibatch(BatchAlgorithm):
    """Minibatch SGD: rounds; one gradient from each of the m fastest workers (``m`` None: all n), averaged."""

    name: ClassVar[str] = "minibatch"
    policy: ClassVar[str] = "minibatch"
    params: ClassVar[dict[str, Param]] = {
        "gamma": Param(**_POSITIVE, doc="step size"),
        "m": Param(int, None, low=1, doc="workers per round (the m fastest by base time); default all n"),
    }
    m: int

    @property
    def batch(self) -> int:
        return self.m

    @classmethod
    def resolve(cls, *, beta: float, F: float, eps: float, sigma: float, n: int, gamma: float | None = None,
                m: int | None = None, **given: Any) -> "Minibatch":
        """m = n unless given; gamma from :func:`theory.timing.minibatch_parameters` (a choice made here)."""
        _no_extra(cls, given)
        n = check_int("n", n, 1)
        source = {"m": "user" if m is not None else "default: all n workers"}
        m = n if m is None else cls.params["m"].coerce(f"algorithm {cls.name!r}", "m", m)
        if m > n:
            raise ValueError(f"parameter 'm' of algorithm 'minibatch' must be an integer in [1, {n}] (the fleet's "
                             f"workers); got {m}")
        if gamma is None:
            gamma = theory.timing.minibatch_parameters(beta=beta, sigma=sigma, eps=eps, m=m)["gamma"]
            source["gamma"] = ("theory timing minibatch_parameters: Rennala's step rule at S = m "
                               f"(a CHOICE MADE HERE; m = {m})")
        else:
            source["gamma"] = "user"
        return cls(eps=eps, sigma=sigma, beta=beta, gamma=gamma, m=m, source=source)


def _no_extra(cls: type, given: dict[str, Any]) -> None:
    bad = [k for k, v in given.items() if v is not None]
    if bad:
        raise ValueError(f"parameter(s) {bad} do not apply to algorithm {cls.name!r} (it takes {list(cls.params)})")


#: every batch method, by name
BATCH_ALGORITHMS: dict[str, type[BatchAlgorithm]] = {c.name: c for c in (Rennala, Minibatch)}


def batch_from_dict(d: Mapping[str, Any]) -> BatchAlgorithm:
    """The batch algorithm recorded by :meth:`BatchAlgorithm.as_dict` (values validated again)."""
    if not isinstance(d, Mapping) or d.get("algorithm") not in BATCH_ALGORITHMS:
        raise ValueError(f"a batch algorithm record needs 'algorithm' in {list(BATCH_ALGORITHMS)}; got {d!r}")
    cls = BATCH_ALGORITHMS[d["algorithm"]]
    missing = [k for k in ("eps", "sigma", "beta", *cls.params) if d.get(k) is None]
    if missing:
        raise ValueError(f"batch algorithm record for {cls.name!r} lacks {missing}")
    return cls(eps=d["eps"], sigma=d["sigma"], beta=d["beta"], source=d.get("source") or {},
               **{k: d[k] for k in cls.params})


def resolve_batch(name: str, **kw: Any) -> BatchAlgorithm:
    """``BATCH_ALGORITHMS[name].resolve(**kw)`` (``beta, F, eps, sigma, n`` and the overrides)."""
    if name not in BATCH_ALGORITHMS:
        raise ValueError(f"batch algorithm must be one of {list(BATCH_ALGORITHMS)}; got {name!r}")
    return BATCH_ALGORITHMS[name].resolve(**kw)


@dataclass(frozen=True, eq=False)
class BatchSchedule:
    """A batch method's schedule: ``time[k-1]`` the arrival time of server step k (its round's end),
    ``tasks[k-1]`` the B tasks whose gradients step k averages, in arrival order (int64, (K, B))."""

    time: np.ndarray
    tasks: np.ndarray
    policy: str

    def __post_init__(self) -> None:
        t = np.ascontiguousarray(self.time, dtype=np.float64)
        k = np.ascontiguousarray(self.tasks, dtype=np.int64)
        if k.ndim != 2 or t.shape != (k.shape[0],) or k.shape[0] == 0 or k.shape[1] == 0:
            raise ValueError(f"a batch schedule needs time (K,) and tasks (K, B), K, B >= 1; got {t.shape}, {k.shape}")
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "tasks", k)

    @property
    def steps(self) -> int:
        return int(self.tasks.shape[0])

    @property
    def batch(self) -> int:
        return int(self.tasks.shape[1])

    @classmethod
    def from_events(cls, sched: Any, policy: str, B: int) -> "BatchSchedule":
        """From :func:`verify.engine.events.simulate`'s schedule: ``rennala`` (records per kept arrival, B per
        round: the round ends at its B-th) or ``minibatch`` (one record per round; its B tasks are the round's
        consecutive starts from ``task``). A round that waits for a computation of infinite duration (a
        heavy-tailed model's draw that overflows, e.g. exp(Cauchy) > 1.8e308) never ends: the schedule stops
        before its first round with a non-finite end, so the run has fewer steps than asked for."""
        if policy == "rennala":
            K = sched.time.size // B
            time, tasks = sched.time[B - 1::B][:K], sched.task[: K * B].reshape(K, B)
        elif policy == "minibatch":
            time, tasks = sched.time, sched.task[:, None] + np.arange(B, dtype=np.int64)[None, :]
        else:
            raise ValueError(f"policy must be 'rennala' or 'minibatch'; got {policy!r}")
        bad = np.flatnonzero(~np.isfinite(time))
        if bad.size:
            time, tasks = time[: bad[0]], tasks[: bad[0]]
        return cls(time, tasks, policy)

    def sequence(self, model: str, params: dict[str, Any], seed: int | None) -> DelaySequence:
        """The server steps as a DelaySequence: delays 0 (every gradient of step k was computed at x_k) and
        arrival times (``wall_clock``); the tasks stay here (B per step)."""
        return DelaySequence(np.zeros(self.steps, np.int64), model, params, seed, wall_clock=self.time)

    def trace_dict(self, model: str, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
        """The schedule in ``picky async-run``'s trace format, one row per gradient averaged (k-major):
        ``delays`` = the row's position in its batch (the gradients that arrived since x_k was read),
        ``wall_clock`` = the step's time, ``tasks``; plus ``policy`` and ``batch`` (B) to regroup the rows."""
        K, B = self.tasks.shape
        d = np.tile(np.arange(B, dtype=np.int64), K)
        seq = DelaySequence(d, model, params, seed, wall_clock=np.repeat(self.time, B), tasks=self.tasks.reshape(-1))
        return {**seq.to_json_dict(), "policy": self.policy, "batch": B}

    @classmethod
    def from_trace_dict(cls, data: Mapping[str, Any]) -> "BatchSchedule":
        """The schedule written by :meth:`trace_dict` (``picky simulate --compute --save``'s
        ``trace-rennala.json`` / ``trace-minibatch.json``): a batch run replays from it."""
        if not isinstance(data, Mapping) or data.get("policy") not in ("rennala", "minibatch") or "batch" not in data:
            raise ValueError("a batch schedule trace needs 'policy' (rennala or minibatch), 'batch', 'tasks' and 'wall_clock'")
        B = check_int("batch", data["batch"], 1)
        seq = DelaySequence.from_json_dict(data)
        if seq.tasks is None or seq.wall_clock is None or len(seq) % B:
            raise ValueError(f"a batch schedule trace needs tasks and wall_clock for K x batch = K x {B} rows; got {len(seq)}")
        K = len(seq) // B
        return cls(seq.wall_clock[B - 1::B].copy(), seq.tasks.reshape(K, B).copy(), data["policy"])


def reference_batch_run(
    problem: Any,
    sched: BatchSchedule | None,
    alg: BatchAlgorithm,
    *,
    seed: int,
    T: int | None = None,
    noise: Any = None,
    trace_every: int | None = None,
    stop_at_hit: bool = False,
    guard: DivergenceGuard = DivergenceGuard(),
    sequence: DelaySequence | None = None,
    rounds: Callable[[int, list, Any], Sequence[int]] | None = None,
) -> RunResult:
    """The literal loop of a batch method (Rennala SGD, Tyurin & Richtarik 2023, Alg. 1/2 with the rounds
    given by ``sched``), beside the pseudo-code::

        for k = 1..K:                              # server steps
            measure ||grad f(x_k)||                # first hit, minimum, trace, divergence
            g = 0
            for each of the B gradients kept in round k (arrival order), task j:
                g = g + (grad f(x_k) + sigma z_j)  # computed at x_k; z_j = the task's noise row
            x_{k+1} = x_k - gamma * (g / B)

    ``T``: server steps (default all of ``sched``). ``sequence``: the record's DelaySequence (default
    :meth:`BatchSchedule.sequence` with model ``"batch"``). ``rounds``: instead of ``sched`` (None), a
    callable ``rounds(k, xs, problem) -> the B tasks of round k`` (in the order summed), called once per
    server step after the measurements of x_k, with ``xs`` = [x_1, ..., x_k] (the loop appends
    x_{k+1} after the step, so at the end the list holds every iterate): the real server of ``picky
    async-run --algorithm rennala`` (and ``minibatch``) drives the loop this way (``T`` required)."""
    from verify.models.noise import make_noise

    noise = make_noise("gaussian") if noise is None else noise
    seed = check_int("seed", seed, 0, MAX_SEED)
    trace_every = check_trace_every(trace_every)
    if rounds is not None:
        if sched is not None or T is None:
            raise ValueError("reference_batch_run with rounds(k, xs, problem) takes sched=None and needs T")
        K, B = check_int("T", T, 1, MAX_STEPS), alg.batch
    elif sched is None:
        raise ValueError("reference_batch_run needs a schedule (sched) or rounds(k, xs, problem)")
    else:
        K = sched.steps if T is None else check_int("T", T, 1, min(MAX_STEPS, sched.steps))
        B = sched.batch
    if B != alg.batch:
        raise ValueError(f"the schedule averages {B} gradients per step but algorithm {alg.name!r} has batch {alg.batch}")
    radius = guard.radius_for(problem.x1)
    x1 = np.array(problem.x1, dtype=float)
    d = x1.shape[0]
    zero = np.zeros(d)
    x = x1
    xs = [x1]  # kept only with rounds (the caller's iterates)
    first_hit = None
    gmin, gmin_step = math.inf, 0
    tr_steps, tr_g, tr_f = [], [], []
    div_step, div_code = None, 0
    steps_run = 0
    for k in range(1, K + 1):
        gx = problem.grad(x)
        G = norm(gx)
        if not (math.isfinite(G) and np.all(np.isfinite(x))):
            div_step, div_code = k, 1
            break
        if dist(x, x1) > radius:
            div_step, div_code = k, 2
            break
        if G <= alg.eps and first_hit is None:
            first_hit = k
        if G < gmin:
            gmin, gmin_step = G, k
        if trace_every and (k - 1) % trace_every == 0:
            tr_steps.append(k), tr_g.append(G), tr_f.append(float(problem.f(x)))
        if stop_at_hit and first_hit is not None:
            break
        steps_run = k
        g = np.zeros(d)
        if rounds is None:
            tasks = sched.tasks[k - 1]
        else:
            tasks = np.asarray(rounds(k, xs, problem), dtype=np.int64).reshape(-1)
            if tasks.size != B:
                raise ValueError(f"rounds({k}, ...) returned {tasks.size} tasks; algorithm {alg.name!r} averages "
                                 f"B = {B}")
        for j in tasks:  # the B gradients of round k, all computed at x_k (Rennala's in arrival order)
            z = noise.task_rows(seed, [int(j)], d)[0] if alg.sigma != 0.0 else zero
            g = g + (gx + alg.sigma * z)
        x = x - alg.gamma * (g / B)
        if rounds is not None:
            xs.append(x)
    if sequence is not None:
        seq = sequence
    elif rounds is not None:  # delays 0 (the caller has the rounds' tasks and times)
        seq = DelaySequence(np.zeros(max(steps_run, 1), np.int64), "batch", {"policy": alg.policy, "B": B}, None)
    else:
        seq = sched.sequence("batch", {"policy": sched.policy, "B": B}, None)
    return _result(problem, noise, alg, seq, seed, K, steps_run, first_hit, gmin, gmin_step, x, div_step, div_code,
                   radius, trace_every, tr_steps, tr_g, tr_f, "reference")


def _result(problem, noise, alg, seq, seed, K, steps_run, first_hit, gmin, gmin_step, x, div_step, div_code, radius,
            trace_every, tr_steps, tr_g, tr_f, engine) -> RunResult:
    with np.errstate(all="ignore"):
        fg = norm(problem.grad(x))
        ff = float(problem.f(x))
    return RunResult(
        algorithm=alg.name,
        config=alg.as_dict(),
        problem=problem.describe(),
        noise=noise.describe(),
        seed=int(seed),
        T=int(K),
        steps_run=int(steps_run),
        first_hit=None if first_hit is None else int(first_hit),
        min_grad_norm=float(gmin),
        min_grad_norm_step=int(gmin_step),
        min_f=None,
        final_grad_norm=fg if math.isfinite(fg) else math.nan,
        final_f=ff if math.isfinite(ff) else math.nan,
        accepted=int(steps_run),
        rejected=0,
        rejected_steps=np.zeros(0, np.int64),
        max_accepted_distance=0.0,
        max_accepted_grad_gap=0.0,
        min_rejected_distance=None,
        diverged=div_code != 0,
        diverged_step=div_step,
        divergence_reason=DIVERGENCE_REASONS[div_code].format(radius=radius) if div_code else None,
        trace_every=trace_every,
        trace_steps=np.array(tr_steps, dtype=np.int64) if trace_every else None,
        trace_grad_norm=np.array(tr_g, dtype=float) if trace_every else None,
        trace_f=np.array(tr_f, dtype=float) if trace_every else None,
        delays=seq,
        delay_stats=delay_stats(np.zeros(int(steps_run), np.int64)),
        adaptive=False,
        engine=engine,
        version=theory.__version__,
        extra={"batch": int(alg.batch), "policy": alg.policy},
    )

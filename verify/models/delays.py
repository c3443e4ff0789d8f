r"""Delay sequences for simulating SGD with delayed gradients.

The model
---------
Steps are 1-indexed, t = 1..T. At step t the server applies a gradient that was computed at the
iterate of step t - d_t, so causality requires

    0 <= d_t <= t - 1        (the gradient cannot come from before x_1).

Arrays are 0-based: position i of a length-T array is step t = i + 1, so the constraint reads
``0 <= delays[i] <= i``. Every sequence built here is checked by
:func:`theory.validation.validate_delays`.

Delays are *oblivious*: the whole sequence is fixed before the run and does not depend on the
iterates (``DelaySequence.adaptive`` is False for every model here; the flag exists so that
sequences produced by an adaptive adversary elsewhere can be marked as such).

Random models draw from ``numpy.random.default_rng(seed)`` only, so that ``make(spec, T, seed)``
is reproducible. A raw draw larger than t - 1 is clipped to t - 1; the number of clipped steps is
recorded in ``DelaySequence.clipped``. Replayed traces are validated, never clipped.

Named constructions (sum = sum_t d_t, tau_avg = sum / T, tau_max = max_t d_t)
-------------------------------------------------------------------------------
=================  =========================================  =================================
model              definition                                 defining statistics
=================  =========================================  =================================
``none``           d_t = 0                                    tau_avg = tau_max = 0
``constant``       d_t = min(t-1, tau)                        tau_avg ~ tau, tau_max = tau
                                                              (T > tau)
``bursty``         d_t = (t-1) mod (m+1)                      over K full periods sum =
                   (tight for the counting lemma)             K m(m+1)/2; tau_avg ~ m/2,
                                                              tau_max = m
``straggler``      d_P = P-1, all others 0 (default P = T)    sum = P-1; for P = T:
                                                              tau_avg = (T-1)/T ~ 1,
                                                              tau_max = T-1
``ksj-straggler``  d_1 = 0, d_t = 1 (1 < t < T), d_T = T-1    sum = 2T-3 (T >= 2),
                   (Koloskova-Stich-Jaggi 2022 §4.4, n = 2)   tau_avg ~ 2, tau_max = T-1
``bimodal``        i.i.d. 0 w.p. 1-p, D w.p. p                tau_avg ~ pD, tau_max = D
``geometric``      i.i.d. geometric on {0,1,...}, mean M      tau_avg ~ M
``poisson``        i.i.d. Poisson(lam)                        tau_avg ~ lam
``pareto``         i.i.d. floor(scale * Lomax(alpha))         heavy tail; mean scale/(alpha-1)
                                                              for alpha > 1, huge tau_max
``lognormal``      i.i.d. floor(LogNormal(mu, s))
``workers``        event simulation of n async workers        tau_avg ~ n-1 (all workers busy)
``compute``        a computation-time model's asynchronous    tau_avg <= n-1; with arrival
                   schedule (verify.models.compute)           times and tasks
``replay``         a trace read from a file                   whatever the trace holds
=================  =========================================  =================================

Example: ``make("pareto:alpha=1.5,scale=3", T=200_000, seed=0)`` is the delay pattern of the
reference sanity run (tau_avg ~ 5.44, tau_max = 7379).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from theory.validation import DelaySequenceError, check_int, validate_delays

from verify.io import specs
from verify.io.jsonsafe import plain_json
from verify.params import MAX_SEED, Param

__all__ = [
    "DelaySequence",
    "DelayStats",
    "DelaySequenceError",
    "concurrency",
    "Model",
    "Param",
    "MODELS",
    "parse_spec",
    "make",
    "from_trace",
    "load_trace",
    "save_trace",
    "draw_seed",
]

_QUANTILES = {"q50": 0.5, "q90": 0.9, "q99": 0.99}


# --------------------------------------------------------------------------------------------
# Statistics and the sequence container
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelayStats:
    """Summary of d_1..d_T: tau_avg = (1/T) sum_t d_t (over *all* steps, zeros included),
    tau_max = max_t d_t, n_nonzero = #{t : d_t > 0}, and the q50/q90/q99 quantiles
    (``numpy.quantile``, linear interpolation)."""

    T: int
    tau_avg: float
    tau_max: int
    sum: int
    n_nonzero: int
    quantiles: dict[str, float]

    @classmethod
    def of(cls, delays: np.ndarray) -> DelayStats:
        d = np.asarray(delays)
        if d.size == 0:
            raise ValueError("statistics need at least one step; got an empty delay sequence")
        total = int(d.sum())
        qs = np.quantile(d, list(_QUANTILES.values()), method="linear")
        return cls(
            T=int(d.size),
            tau_avg=total / d.size,
            tau_max=int(d.max()),
            sum=total,
            n_nonzero=int(np.count_nonzero(d)),
            quantiles={k: float(q) for k, q in zip(_QUANTILES, qs)},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "T": self.T,
            "tau_avg": self.tau_avg,
            "tau_max": self.tau_max,
            "sum": self.sum,
            "n_nonzero": self.n_nonzero,
            "quantiles": dict(self.quantiles),
        }


@dataclass(frozen=True, eq=False)
class DelaySequence:
    """A validated delay sequence d_1..d_T (``delays[i]`` is d_{i+1}, 0 <= delays[i] <= i).

    ``params`` are the parameters actually used (defaults filled in), ``clipped`` counts raw draws
    that exceeded t-1 and were clipped to t-1, ``wall_clock`` (worker model only) holds the time in
    seconds at which each step's gradient arrived (non-decreasing). ``tasks`` (recorded
    asynchronous runs, :mod:`verify.runtime.async_server`) names the task that delivered each step's gradient
    (an integer >= 0); when present, both simulators key the gradient noise by task instead of by
    step: z_t = ``noise.task_rows(seed, [tasks[t-1]], dim)[0]``, a Philox stream keyed by (seed, task)
    (so a replay reproduces noise that was drawn where the gradient was computed). The arrays are read-only.
    """

    delays: np.ndarray
    model: str
    params: dict
    seed: int | None
    wall_clock: np.ndarray | None = None
    clipped: int = 0
    adaptive: bool = False
    tasks: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = validate_delays(self.delays)  # always a fresh int64 copy
        if d.size == 0:
            raise DelaySequenceError("delays must hold at least one step (T >= 1); got length 0")
        d.flags.writeable = False
        object.__setattr__(self, "delays", d)
        T = d.size
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"model must be a non-empty string; got {self.model!r}")
        if not isinstance(self.params, Mapping):
            raise ValueError(f"params must be a dict; got {type(self.params).__name__}")
        params = plain_json(self.params)
        try:
            json.dumps(params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"params must be JSON-serialisable; got {self.params!r} ({exc})") from None
        object.__setattr__(self, "params", params)
        if self.seed is not None:
            object.__setattr__(self, "seed", check_int("seed", self.seed, 0))
        object.__setattr__(self, "clipped", check_int("clipped", self.clipped, 0, T))
        if not isinstance(self.adaptive, (bool, np.bool_)):
            raise ValueError(f"adaptive must be a bool; got {self.adaptive!r}")
        object.__setattr__(self, "adaptive", bool(self.adaptive))
        if self.wall_clock is not None:
            w = np.array(self.wall_clock, dtype=float)
            if w.shape != (T,):
                raise ValueError(f"wall_clock must have shape ({T},) (one time per step); got {w.shape}")
            bad = ~np.isfinite(w) | (w < 0)
            bad[1:] |= np.diff(w) < 0
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"wall_clock[{i}] (step t={i + 1}) = {w[i]!r}: arrival times must be finite, >= 0 "
                    "and non-decreasing"
                )
            w.flags.writeable = False
            object.__setattr__(self, "wall_clock", w)
        if self.tasks is not None:
            object.__setattr__(self, "tasks", _check_tasks(self.tasks, T))

    def __len__(self) -> int:
        return int(self.delays.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DelaySequence):
            return NotImplemented
        same_wall = (self.wall_clock is None and other.wall_clock is None) or (
            self.wall_clock is not None
            and other.wall_clock is not None
            and np.array_equal(self.wall_clock, other.wall_clock)
        )
        same_tasks = (self.tasks is None) == (other.tasks is None) and (
            self.tasks is None or np.array_equal(self.tasks, other.tasks))
        return (
            np.array_equal(self.delays, other.delays)
            and same_wall
            and same_tasks
            and (self.model, self.params, self.seed, self.clipped, self.adaptive)
            == (other.model, other.params, other.seed, other.clipped, other.adaptive)
        )

    __hash__ = None  # type: ignore[assignment]  # holds mutable-typed arrays

    def concurrency(self) -> tuple[int, float]:
        """(max, mean) over steps of the gradients in flight: :func:`concurrency` of the delays."""
        return concurrency(self.delays)

    def stats(self, upto: int | None = None) -> DelayStats:
        """Statistics of the first ``upto`` steps (all T steps by default)."""
        n = len(self) if upto is None else check_int("upto", upto, 1, len(self))
        return DelayStats.of(self.delays[:n])

    def prefix(self, n: int) -> DelaySequence:
        """The first ``n`` steps (same model, params and seed).

        Only the count of clipped steps is stored, not their positions, so the prefix's
        ``clipped`` is the upper bound min(clipped, #{i < n : delays[i] = i}) (a clipped step
        always has delays[i] = i); it is exact when nothing was clipped.
        """
        n = check_int("n", n, 1, len(self))
        d = self.delays[:n]
        clipped = min(self.clipped, int(np.count_nonzero(d == np.arange(n)))) if self.clipped else 0
        wall = None if self.wall_clock is None else self.wall_clock[:n]
        tasks = None if self.tasks is None else self.tasks[:n]
        return DelaySequence(d, self.model, self.params, self.seed, wall, clipped, self.adaptive, tasks)

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON form; :meth:`from_json_dict` inverts it exactly."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "seed": self.seed,
            "T": len(self),
            "delays": self.delays.tolist(),
            "wall_clock": None if self.wall_clock is None else self.wall_clock.tolist(),
            "clipped": self.clipped,
            "adaptive": self.adaptive,
            **({} if self.tasks is None else {"tasks": self.tasks.tolist()}),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> DelaySequence:
        """Rebuild a sequence written by :meth:`to_json_dict` (delays are re-validated)."""
        if not isinstance(data, Mapping) or "delays" not in data:
            raise ValueError("a JSON delay sequence must be an object with a 'delays' key")
        seq = cls(
            delays=data["delays"],
            model=data.get("model", "replay"),
            params=data.get("params", {}),
            seed=data.get("seed"),
            wall_clock=data.get("wall_clock"),
            clipped=data.get("clipped", 0),
            adaptive=data.get("adaptive", False),
            tasks=data.get("tasks"),
        )
        if "T" in data and data["T"] != len(seq):
            raise DelaySequenceError(f"delays must have length T = {data['T']!r}; got length {len(seq)}")
        return seq


def concurrency(delays: Any) -> tuple[int, float]:
    """(max, mean) over steps t = 1..T of the number of gradients in flight at step t: those applied at
    a step u >= t that were computed at an iterate s_u = u - d_u <= t (the one arriving at t included),
    c_t = #{u >= t : u - d_u <= t}.

    KSJ 2022's concurrency tau_C^(t) (Definition 1: the active workers at step t; = n for n always-busy
    workers); the max is their tau_C, the default threshold of the delay-adaptive rules
    (``theory.rules``' symbol ``concurrency``). This is the one place it is computed. Near T it
    undercounts the gradients that arrive after T. ``delays`` is validated (0 <= d_t <= t - 1, T >= 1)."""
    d = validate_delays(delays)
    T = int(d.size)
    if T == 0:
        raise DelaySequenceError("concurrency needs at least one step (T >= 1); got length 0")
    u = np.arange(1, T + 1)
    diff = np.bincount(u - d, minlength=T + 2).astype(np.int64)
    diff[2:T + 2] -= 1  # the gradient applied at u leaves after step u
    c = np.cumsum(diff)[1:T + 1]
    return int(c.max()), float(c.mean())


def _check_tasks(tasks: Any, T: int) -> np.ndarray:
    """The task of each step: integers >= 0, one per step (read-only int64 copy)."""
    raw = np.asarray(tasks)
    if raw.shape != (T,):
        raise ValueError(f"tasks must have shape ({T},) (one task per step); got {raw.shape}")
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise ValueError(f"tasks must be integers >= 0; got dtype {raw.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(raw.astype(float)) | (raw < 0) | (raw != np.floor(raw)) | (raw > MAX_SEED)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"tasks[{i}] (step t={i + 1}) = {raw[i].item()!r}: a task must be an integer in [0, {MAX_SEED}]")
    out = raw.astype(np.int64)
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------------------------
# The model registry
# --------------------------------------------------------------------------------------------


GenerateFn = Callable[..., "np.ndarray | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class Model:
    """A registered delay model. ``generate(T, rng, **params)`` returns the raw delays (before
    causal clipping) or, for the worker pool, ``(delays, wall_clock)``. ``random`` models are
    clipped to t-1 (and counted); deterministic ones must be causal and are only validated.
    ``resolve(T, params)`` optionally fixes T-dependent defaults / checks cross-parameter rules."""

    name: str
    description: str
    params: dict[str, Param]
    generate: GenerateFn
    random: bool
    resolve: Callable[[int, dict[str, Any], set[str]], dict[str, Any]] | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        return {k: p.default for k, p in self.params.items()}


MODELS: dict[str, Model] = {}


def _register(name: str, description: str, random: bool, resolve=None, **params: Param):
    def deco(fn: GenerateFn) -> GenerateFn:
        MODELS[name] = Model(name, description, params, fn, random, resolve)
        return fn

    return deco


_NONNEG_INT = dict(kind=int, low=0)


@_register("none", "no delays: d_t = 0", random=False)
def _none(T: int, rng: np.random.Generator) -> np.ndarray:
    return np.zeros(T, dtype=np.int64)


@_register("constant", "d_t = min(t-1, tau)", random=False, tau=Param(default=5, **_NONNEG_INT))
def _constant(T: int, rng: np.random.Generator, tau: int) -> np.ndarray:
    return np.minimum(np.arange(T, dtype=np.int64), tau)


@_register(
    "bursty",
    "d_t = (t-1) mod (m+1): tight for the counting lemma; tau_avg ~ m/2, tau_max = m",
    random=False,
    m=Param(default=20, **_NONNEG_INT),
)
def _bursty(T: int, rng: np.random.Generator, m: int) -> np.ndarray:
    return np.arange(T, dtype=np.int64) % (m + 1)


def _resolve_straggler(T: int, params: dict[str, Any], given: set[str]) -> dict[str, Any]:
    if params["position"] is None:
        params["position"] = T
    elif params["position"] > T:
        raise ValueError(
            f"parameter 'position' of delay model 'straggler' must be an integer in [1, T={T}]; "
            f"got {params['position']!r}"
        )
    return params


@_register(
    "straggler",
    "single straggler: d_P = P-1 (default P = T), all others 0; tau_avg = (P-1)/T, tau_max = P-1",
    random=False,
    resolve=_resolve_straggler,
    position=Param(int, None, low=1, doc="step P in [1, T] of the straggler (default T)"),
)
def _straggler(T: int, rng: np.random.Generator, position: int) -> np.ndarray:
    d = np.zeros(T, dtype=np.int64)
    d[position - 1] = position - 1
    return d


@_register(
    "ksj-straggler",
    "KSJ 2022 §4.4, n = 2: d_1 = 0, d_t = 1 for 1 < t < T, d_T = T-1; tau_avg ~ 2, tau_max = T-1",
    random=False,
)
def _ksj_straggler(T: int, rng: np.random.Generator) -> np.ndarray:
    """Koloskova-Stich-Jaggi (2022, §4.4) straggler with n = 2 workers.

    The fast worker's gradients have delay 1 except at step 1 (delay 0); the slow worker's single
    gradient, computed at x_1, arrives at step T with delay T-1. For T >= 2:
    sum = 2T - 3, tau_avg = (2T-3)/T ~ 2, tau_max = T-1.

    This is KSJ's accounting, in which an always-busy pool of n workers has tau_avg ~ n. In the
    event model of ``workers`` (d_t = t - s, the finishing worker reads x_{t+1}) the same scenario
    gives the fast worker delay 0 and reduces to ``straggler`` (tau_avg ~ 1).
    """
    d = np.ones(T, dtype=np.int64)
    d[0] = 0
    d[-1] = T - 1
    return d


@_register(
    "bimodal",
    "i.i.d. 0 w.p. 1-p and D w.p. p (then clipped); tau_avg ~ pD, tau_max = D",
    random=True,
    p=Param(float, 0.1, 0.0, 1.0),
    D=Param(default=100, **_NONNEG_INT),
)
def _bimodal(T: int, rng: np.random.Generator, p: float, D: int) -> np.ndarray:
    return np.where(rng.random(T) < p, np.int64(D), np.int64(0))


@_register(
    "geometric",
    "i.i.d. geometric on {0,1,2,...} with the given mean (success prob 1/(mean+1))",
    random=True,
    mean=Param(float, 5.0, 0.0, 1e12),
)
def _geometric(T: int, rng: np.random.Generator, mean: float) -> np.ndarray:
    return rng.geometric(1.0 / (mean + 1.0), T) - 1


@_register("poisson", "i.i.d. Poisson(lam)", random=True, lam=Param(float, 5.0, 0.0, 1e12))
def _poisson(T: int, rng: np.random.Generator, lam: float) -> np.ndarray:
    return rng.poisson(lam, T)


@_register(
    "pareto",
    "i.i.d. floor(scale * Lomax(alpha)) (numpy's pareto); heavy tail, mean scale/(alpha-1) for alpha > 1",
    random=True,
    alpha=Param(float, 1.5, 0.0, low_open=True),
    scale=Param(float, 3.0, 0.0, low_open=True),
)
def _pareto(T: int, rng: np.random.Generator, alpha: float, scale: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.floor(scale * rng.pareto(alpha, T))


@_register(
    "lognormal",
    "i.i.d. floor(LogNormal(mu, s)) (numpy's lognormal: log of the draw is N(mu, s^2))",
    random=True,
    mu=Param(float, 1.0),
    s=Param(float, 1.0, 0.0),
)
def _lognormal(T: int, rng: np.random.Generator, mu: float, s: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.floor(rng.lognormal(mu, s, T))


_WORKER_SHAPE = {"pareto": "alpha", "lognormal": "s"}


def _resolve_workers(T: int, params: dict[str, Any], given: set[str]) -> dict[str, Any]:
    """Keep only the shape parameter of the chosen distribution; reject an explicit one that
    does not apply."""
    dist = params["dist"]
    for name in ("alpha", "s"):
        if _WORKER_SHAPE.get(dist) != name:
            if name in given:
                owner = next(k for k, v in _WORKER_SHAPE.items() if v == name)
                raise ValueError(
                    f"parameter {name!r} of delay model 'workers' only applies to dist={owner!r}; "
                    f"got {name}={params[name]!r} with dist={dist!r}"
                )
            del params[name]
    return params


@_register(
    "workers",
    "event simulation of n asynchronous workers with mean compute times log-spaced in [1, spread]; "
    "tau_avg ~ n-1",
    random=True,
    resolve=_resolve_workers,
    n=Param(int, 8, 1.0),
    dist=Param(str, "exponential", choices=("exponential", "pareto", "lognormal", "constant")),
    spread=Param(float, 1.0, 1.0),
    alpha=Param(float, 2.5, 1.0, low_open=True, doc="Lomax shape (dist=pareto)"),
    s=Param(float, 1.0, 0.0, doc="log-standard deviation (dist=lognormal)"),
)
def _workers(
    T: int, rng: np.random.Generator, n: int, dist: str, spread: float, alpha: float = 2.5, s: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """n asynchronous workers and a zero-time server.

    Worker i (0-based) has mean compute time mu_i = spread^(i/(n-1)) (log-spaced in [1, spread];
    spread = 1 is homogeneous) and draws i.i.d. compute times mu_i * Z with E[Z] = 1:
    exponential; Lomax(alpha) * (alpha-1); LogNormal(-s^2/2, s); or Z = 1 (constant).
    The Z's are drawn up front as one array and consumed in event order.

    At time 0 every worker reads x_1. When a worker finishes, the server applies step t with its
    gradient: d_t = t - s, where x_s is the iterate the worker read; the worker then reads x_{t+1}
    and starts again. Simultaneous finishes are ordered by worker index. Since every worker is
    always busy, each step is "missed" by the n-1 other gradients in flight, so
    sum_t d_t = (n-1) T - (steps missed by the n-1 gradients still in flight after step T);
    hence tau_avg ~ n-1 for homogeneous workers (KSJ 2022, Remark 5) and tau_avg <= n-1 always.
    Returns (delays, wall_clock) with wall_clock[t-1] the finishing time of step t.
    """
    from verify.engine.events_reference import asynchronous
    from verify.models.compute import scaled_workers

    cm = scaled_workers(n, dist, spread, alpha, s)  # a view of the computation models: one implementation
    sched = asynchronous(cm, T, cm.draws(rng, n + T - 1))
    return sched.delays, sched.time


def _resolve_compute(T: int, params: dict[str, Any], given: set[str]) -> dict[str, Any]:
    if params["spec"] is None:
        raise ValueError("delay model 'compute' requires parameter 'spec' (a computation model, e.g. "
                         "compute:spec=\"fixed:times=1;1;2;10\"; picky simulate --compute SPEC)")
    from verify.models import compute

    compute.make(params["spec"])  # checks the spec now, with its own message
    return params


@_register("compute", "the asynchronous schedule of a computation model (verify.models.compute): every arrival is a "
           "step, with its arrival time and task", random=True, resolve=_resolve_compute,
           spec=Param(str, "random", doc="computation model spec (default: random, 4 workers, tau_i = sqrt(i) + Exp(1))"))
def _compute(T: int, rng: np.random.Generator, spec: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The asynchronous policy's schedule (verify.engine.events, compiled; draws in start order from
    ``rng``): delays, arrival times (``wall_clock``) and tasks (the start index of each computation)."""
    from verify.engine import events
    from verify.models import compute

    cm = compute.make(spec)
    sched = events.run_policy(cm, T, cm.draws(rng, cm.n + T - 1), "async")
    return sched.delays, sched.time, sched.task


def _replay_generate(T: int, rng: np.random.Generator, path: str) -> Any:
    """The trace's delays; with its arrival times and tasks when the file holds them (a JSON trace
    written by ``picky async-run --save``), so that a replay keys the noise by task."""
    d = load_trace(path)
    if _trace_format(Path(path)) != ".json":
        return d
    data = _read_json_trace(Path(path))
    if not isinstance(data, Mapping) or (data.get("wall_clock") is None and data.get("tasks") is None):
        return d
    try:
        extra = DelaySequence(d, "replay", {}, None, data.get("wall_clock"), tasks=data.get("tasks"))
    except ValueError as exc:
        raise ValueError(f"trace file {str(path)!r}: {exc}") from None
    return d, extra.wall_clock, extra.tasks


def _resolve_replay(T: int, params: dict[str, Any], given: set[str]) -> dict[str, Any]:
    if params["path"] is None:
        raise ValueError("delay model 'replay' requires parameter 'path' (a .npy, .json, .txt or .csv trace)")
    return params


MODELS["replay"] = Model(
    "replay",
    "a recorded trace (.npy, .json, .txt/.csv); validated against T, never clipped",
    {"path": Param(str, None, doc="trace file")},
    _replay_generate,
    random=False,
    resolve=_resolve_replay,
)


# --------------------------------------------------------------------------------------------
# Specs and the factory
# --------------------------------------------------------------------------------------------

def parse_spec(spec: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split ``"name:key=value,key=value"`` (or ``"name"``) into ``(name, params)`` -- the package's
    one spec grammar, :func:`verify.io.specs.parse_spec` (quote a path holding a comma). A mapping ``{"model": name, "params": {...}}``
    or ``{"model": name, key: value, ...}`` (``"name"`` is accepted for ``"model"``) is also
    accepted. Only the syntax is checked here; :func:`make` checks names, types and ranges."""
    if isinstance(spec, Mapping):
        rest = dict(spec)
        name = rest.pop("model", None) or rest.pop("name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a dict spec needs a 'model' key naming the delay model; got {spec!r}")
        params = rest.pop("params", None)
        if params is not None:
            if rest or not isinstance(params, Mapping):
                raise ValueError(f"a dict spec has either 'params' or flat parameters; got {spec!r}")
            rest = dict(params)
        return name, rest
    if not isinstance(spec, str):
        raise ValueError(f"spec must be a string like 'pareto:alpha=1.5,scale=3' or a dict; got {spec!r}")
    return specs.parse_spec(spec, what="model name")


def _resolve(name: str, given: Mapping[str, Any], T: int) -> tuple[Model, dict[str, Any]]:
    if name not in MODELS:
        raise ValueError(f"unknown delay model {name!r}; known models: {', '.join(MODELS)}")
    model = MODELS[name]
    unknown = sorted(set(given) - set(model.params))
    if unknown:
        allowed = ", ".join(model.params) or "none"
        raise ValueError(
            f"unknown parameter {unknown[0]!r} (= {given[unknown[0]]!r}) for delay model {name!r}; "
            f"allowed parameters: {allowed}"
        )
    params = {
        k: (p.coerce(f"delay model {name!r}", k, given[k]) if k in given else p.default) for k, p in model.params.items()
    }
    if model.resolve is not None:
        params = model.resolve(T, params, set(given))
    return model, params


def make(spec: str | Mapping[str, Any], T: int, seed: int | None = None) -> DelaySequence:
    """Build the delay sequence of ``spec`` (see :func:`parse_spec` and ``MODELS``) with T steps.

    Random models use ``numpy.random.default_rng(seed)`` only, so equal (spec, T, seed) give equal
    sequences; their draws above t-1 are clipped to t-1 and counted in ``clipped``. Deterministic
    models (and replays) are validated, never clipped, and record ``seed=None``.
    """
    T = check_int("T", T, 1)
    if seed is not None:
        seed = check_int("seed", seed, 0, MAX_SEED)
    name, given = parse_spec(spec)
    model, params = _resolve(name, given, T)
    rng = np.random.default_rng(seed) if model.random else None
    out = model.generate(T, rng, **params)
    raw, wall, tasks = (tuple(out) + (None,))[:3] if isinstance(out, tuple) else (out, None, None)
    if model.random:
        limit = np.arange(T)
        over = raw > limit
        clipped = int(np.count_nonzero(over))
        delays = np.where(over, limit, raw) if clipped else raw
    else:
        delays, clipped = validate_delays(raw, length=T), 0
    return DelaySequence(delays, name, params, seed if model.random else None, wall, clipped, tasks=tasks)


def draw_seed(delay_seed: int, lane_seed: int) -> int:
    """The seed of lane ``lane_seed``'s own draw of a random delay model (``--delay-draw per-seed``).

    Derived with ``numpy.random.SeedSequence(entropy=delay_seed, spawn_key=(lane_seed,))`` (63 bits),
    so the draw is independent of the lane's noise stream ``default_rng(lane_seed)`` (the theorems
    need delays independent of the noise) and of every other lane's draw, and is reproducible.
    """
    ds = check_int("delay_seed", delay_seed, 0, MAX_SEED)
    ls = check_int("lane_seed", lane_seed, 0)
    state = np.random.SeedSequence(entropy=ds, spawn_key=(ls,)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


# --------------------------------------------------------------------------------------------
# Traces
# --------------------------------------------------------------------------------------------


def from_trace(delays: Any, model: str = "replay", **meta: Any) -> DelaySequence:
    """Wrap a recorded sequence: validated by ``validate_delays`` (DelaySequenceError naming the
    first bad step), never clipped. ``meta`` (JSON-serialisable) is stored as ``params``."""
    return DelaySequence(validate_delays(delays), model, meta, None)


def _numbers(values: list[Any]) -> list[Any]:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DelaySequenceError(f"delays[{i}] (step t={i + 1}) is not a number: {v!r}")
    return values


def _parse_text(text: str) -> np.ndarray:
    tokens = [tok for tok in re.split(r"[,\s]+", text) if tok]
    for dtype in (np.int64, float):
        try:
            return np.array(tokens, dtype=dtype)
        except (ValueError, OverflowError):
            pass
    return np.array(_numbers([specs._bare(tok) for tok in tokens]), dtype=float)


def _trace_format(path: Path) -> str:
    """The trace format of a file name: its extension, with ``.json.gz`` read as (gzipped) ``.json``."""
    name = path.name.lower()
    return ".json" if name.endswith(".json.gz") else path.suffix.lower()


def _read_json_trace(path: Path) -> Any:
    if path.name.lower().endswith(".gz"):
        import gzip

        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(path.read_text())


def load_trace(path: str | Path) -> np.ndarray:
    """Read and validate a delay trace; returns int64 delays.

    Formats by extension: ``.npy``; ``.json`` or gzipped ``.json.gz`` (a list, or an object with a
    ``"delays"`` key as written by :meth:`DelaySequence.to_json_dict`); ``.txt``/``.csv`` (integers separated by
    newlines, commas or whitespace). Invalid traces raise the DelaySequenceError of
    ``validate_delays`` (naming the first offending step) with the file name appended.
    """
    path = Path(path)
    suffix = _trace_format(path)
    try:
        if suffix == ".npy":
            raw: Any = np.load(path, allow_pickle=False)
        elif suffix == ".json":
            data = _read_json_trace(path)
            if isinstance(data, Mapping):
                if "delays" not in data:
                    raise DelaySequenceError("a JSON trace object must have a 'delays' key")
                data = data["delays"]
            raw = _numbers(data) if isinstance(data, list) else data
        elif suffix in (".txt", ".csv"):
            raw = _parse_text(path.read_text())
        else:
            raise ValueError(f"trace path {str(path)!r}: unknown extension {suffix!r}; allowed: .npy, .json, .json.gz, "
                             ".txt, .csv")
        return validate_delays(raw)
    except DelaySequenceError as exc:
        raise DelaySequenceError(f"{exc} [trace file {path}]") from exc
    except OSError as exc:
        raise ValueError(f"cannot read trace file {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:  # json.JSONDecodeError, a corrupt .npy, ...
        if str(path) in str(exc):
            raise
        raise ValueError(f"cannot read trace file {str(path)!r}: {exc}") from None


def save_trace(seq: DelaySequence, path: str | Path) -> None:
    """Write ``seq.to_json_dict()`` as JSON, atomically (read back with :func:`load_trace` or
    ``DelaySequence.from_json_dict(json.load(...))``)."""
    if not isinstance(seq, DelaySequence):
        seq = from_trace(seq)
    from verify.io.output import atomic_write_text

    atomic_write_text(path, json.dumps(seq.to_json_dict(), allow_nan=False))

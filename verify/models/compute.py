r"""Computation-time models: how long each worker takes for each stochastic gradient.

One spec grammar (:mod:`verify.io.specs`, as for delay models), one registry of models with
:class:`verify.params.Param` parameters. A model describes ``n`` workers; the duration of a
computation is a function of the worker i (0-based), the global start index j (the j-th computation
started by anyone, in event order: the n initial ones at time 0 in worker order, then each restart
as it happens), the worker's own count k (its k-th computation) and the start time s:

=============  =================================================================  ======================
model          duration of a computation                                          parameters
=============  =================================================================  ======================
``fixed``      tau_i (the fixed computation model)                                ``times=1;1;2;10`` or
                                                                                  ``n``, ``law``, ``scale``
``random``     tau_i + eta_j, eta_j i.i.d. >= 0 (MindFlayer's model)              as fixed, plus ``eta``
               ``eta`` = exponential (mean ``mean``), lognormal (LogNormal(mu,    (``mean``, ``mu``,
               s)), pareto (``mean`` x Lomax(alpha) x (alpha - 1)), logcauchy     ``s``, ``alpha``)
               (exp(mu + s x Cauchy)), or none
``universal``  the first f with int_s^f v_i = 1 (one gradient = one unit of       as fixed, plus
               work; Tyurin 2025's computation power v_i): v_i = 1/tau_i,         ``period``, ``duty``,
               divided by ``factor`` during the first ``duty`` fraction of every  ``factor``, or
               ``period`` (periodic slowdowns), or 0 on [``outage_start``,        ``outage_worker``,
               ``outage_end``) for worker ``outage_worker`` (an outage)           ``outage_start/end``
``trace``      the per-worker compute times of a recorded ``picky async-run``     ``path`` (its
               (``DIR/async.json``): worker i's k-th computation takes its k-th   async.json)
               recorded time (cycled when the run is longer): end - start on the
               server's event clock (:func:`trace_durations`)
=============  =================================================================  ======================

Which time a ``trace`` holds: an ``async.json`` of format 2 (``computations``, every computation
started, cancelled ones too) gives end_s - start_s on the server's event clock (start: the event that
handed the computation out; end: its arrival), and end_s - start_s + :data:`TRACE_TICK` for a
computation that never arrived (cancelled, or still running at the end: it had not finished by end_s).
Those times are multiples of TRACE_TICK = 2^-30 s, so start + (end - start) = end exactly and the
event simulation's arrival times and order are the run's (tests/test_asyncrun.py). Format 1 (only
``steps_detail``: each applied gradient's ``compute_s``, the worker's own measurement) is still read,
but its times leave out the server's overhead and cannot reproduce the run's order.

Laws of ``fixed`` (i = 1..n): ``const`` tau_i = scale, ``sqrt`` tau_i = scale sqrt(i) (the authors'
simulators use 1 + sqrt(i)), ``linear`` tau_i = scale i, ``log`` log-spaced in [scale, scale x spread].

The arrays of a :class:`ComputeModel` (``kind``, ``shift``, ``scale``, the universal profile, the trace
times) are what the compiled event simulation (:mod:`verify.engine.events`) reads;
:meth:`ComputeModel.duration` is the literal Python definition. Random draws come from ``numpy.random.default_rng(seed)``
only, drawn in start order (:meth:`ComputeModel.draws`), so a (spec, seed, policy) gives one schedule.

The delay model ``workers`` (:mod:`verify.models.delays`) is a view of this module: mean times
log-spaced in [1, spread] times i.i.d. unit-mean draws (:func:`scaled_workers`), run by the
asynchronous policy (:func:`verify.engine.events_reference.asynchronous`).
"""
from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from theory.validation import check_int

from verify.io import specs
from verify.params import MAX_SEED, Param

__all__ = ["ComputeModel", "MODELS", "make", "parse_spec", "scaled_workers", "KIND_DRAWS", "KIND_UNIVERSAL", "KIND_TRACE",
           "TRACE_TICK", "trace_durations", "trace_model"]

KIND_DRAWS = 0  #: duration = shift_i + scale_i * z_j
KIND_UNIVERSAL = 1  #: duration from the piecewise-constant power profile
KIND_TRACE = 2  #: duration = the worker's k-th recorded time (cycled)
#: the tick of picky async-run's event clock, 2^-30 s; recorded times are multiples of it
TRACE_TICK = 2.0 ** -30


@dataclass(frozen=True, eq=False)
class ComputeModel:
    """A computation-time model of ``n`` workers (see the module docstring).

    ``kind`` KIND_DRAWS: duration = shift[i] + scale[i] * z[j] with z the draws (:meth:`draws`;
    all ones when ``dist`` is None). KIND_UNIVERSAL: worker i's power is ``rates[i, k]`` on
    [``bps[i, k]``, ``bps[i, k+1]``) (the last segment to infinity; with ``period`` > 0 the profile
    over [0, period) repeats). KIND_TRACE: ``trace[off[i] + k mod (off[i+1] - off[i])]``."""

    name: str
    params: dict
    n: int
    kind: int
    shift: np.ndarray
    scale: np.ndarray
    dist: str | None = None
    dist_params: dict = field(default_factory=dict)
    bps: np.ndarray | None = None
    rates: np.ndarray | None = None
    nseg: np.ndarray | None = None
    period: float = 0.0
    trace: np.ndarray | None = None
    off: np.ndarray | None = None

    @property
    def random(self) -> bool:
        return self.kind == KIND_DRAWS and self.dist is not None

    def base_times(self) -> np.ndarray:
        """tau_i of each worker (seconds per gradient at full power; the fixed part)."""
        return np.array(self.shift if self.kind != KIND_DRAWS or self.dist != "scaled" else self.scale, dtype=float)

    def draws(self, rng: np.random.Generator | None, size: int) -> np.ndarray:
        """The next ``size`` draws z (in start order) from ``rng``; ones for non-random models.
        Consecutive calls continue the stream (numpy's Generator draws the same numbers in chunks
        as in one call; tested)."""
        if not self.random:
            return np.ones(size)
        p = self.dist_params
        d = p.get("eta", self.dist)
        if d == "exponential":
            return rng.exponential(1.0, size) * p.get("mean", 1.0)
        if d == "pareto":
            return rng.pareto(p["alpha"], size) * (p["alpha"] - 1.0) * p.get("mean", 1.0)
        if d == "lognormal":
            with np.errstate(over="ignore"):
                return rng.lognormal(p["mu"], p["s"], size)
        if d == "logcauchy":
            with np.errstate(over="ignore"):
                return np.exp(p["mu"] + p["s"] * rng.standard_cauchy(size))
        if d == "constant":
            return np.ones(size)
        raise AssertionError(d)  # pragma: no cover

    def duration(self, i: int, j: int, k: int, s: float, z: np.ndarray) -> float:
        """The literal definition: seconds of worker i's computation started at time s, the j-th
        start overall and the worker's k-th; ``z`` the draws."""
        if self.kind == KIND_DRAWS:
            return self.shift[i] + self.scale[i] * z[j]
        if self.kind == KIND_TRACE:
            a, b = self.off[i], self.off[i + 1]
            return self.trace[a + k % (b - a)]
        return _universal_finish(s, self.bps[i], self.rates[i], int(self.nseg[i]), self.period) - s


def _universal_finish(s: float, bps: np.ndarray, rates: np.ndarray, nseg: int, period: float) -> float:
    """The first f >= s with int_s^f v = 1 for the piecewise-constant v (plain Python reference)."""
    work = 1.0
    base = math.floor(s / period) * period if period > 0 else 0.0
    u = s - base
    k = 0
    while k + 1 < nseg and bps[k + 1] <= u:
        k += 1
    while True:
        end = (bps[k + 1] if k + 1 < nseg else (period if period > 0 else math.inf))
        r = rates[k]
        if r > 0:
            avail = (end - u) * r
            if avail >= work:
                return base + u + work / r
            work -= avail
        u = end
        k += 1
        if k == nseg:  # only when periodic (the last segment of a non-periodic profile is infinite)
            base += period
            u = 0.0
            k = 0


# --------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    name: str
    description: str
    params: dict[str, Param]
    build: Callable[..., ComputeModel]


MODELS: dict[str, Model] = {}

_LAW = dict(
    n=Param(int, 4, 1.0, 1e6, doc="number of workers (with law)"),
    law=Param(str, "sqrt", choices=("const", "sqrt", "linear", "log"), doc="tau_i as a function of i = 1..n"),
    scale=Param(float, 1.0, 0.0, 1e12, low_open=True, doc="seconds: tau_i = scale * law(i)"),
    spread=Param(float, 10.0, 1.0, 1e12, doc="law=log: tau_n/tau_1"),
)
_TIMES = {"times": Param(str, None, doc="the n times tau_i, separated by ';' (instead of n/law)")}


def _register(name: str, description: str, **params: Param):
    def deco(fn: Callable[..., ComputeModel]) -> Callable[..., ComputeModel]:
        MODELS[name] = Model(name, description, params, fn)
        return fn

    return deco


def _times(name: str, given: Mapping[str, Any], p: dict[str, Any]) -> np.ndarray:
    """tau_i from ``times`` (a ';' list) or from n/law/scale/spread."""
    if "times" in given:
        for k in ("n", "law", "scale", "spread"):
            if k in given:
                raise ValueError(f"compute model {name!r}: give either 'times' or n/law/scale/spread; got both times and {k}")
        raw = given["times"]
        vals = raw if isinstance(raw, list) else [raw]
        try:
            t = np.array([float(v) for v in vals], dtype=float)
        except (TypeError, ValueError):
            t = np.array([math.nan])
        if t.size == 0 or not np.all(np.isfinite(t) & (t > 0)) or t.size > 10**6:
            raise ValueError(f"parameter 'times' of compute model {name!r} must be 1 to 1e6 finite times > 0 separated "
                             f"by ';' (e.g. times=1;1;2;10); got {raw!r}")
        return t
    n, law, scale = p["n"], p["law"], p["scale"]
    i = np.arange(1, n + 1, dtype=float)
    if law == "const":
        return np.full(n, scale)
    if law == "sqrt":
        return scale * np.sqrt(i)
    if law == "linear":
        return scale * i
    return scale * (np.logspace(0.0, math.log10(p["spread"]), n) if n > 1 else np.ones(1))


def _draws_model(name: str, p: dict[str, Any], t: np.ndarray, eta: str) -> ComputeModel:
    n = t.size
    if eta == "none":
        return ComputeModel(name, p, n, KIND_DRAWS, t, np.zeros(n))
    dp = {"eta": eta, **{k: p[k] for k in ("mean", "mu", "s", "alpha") if k in p}}
    return ComputeModel(name, p, n, KIND_DRAWS, t, np.ones(n), dist=eta, dist_params=dp)


@_register("fixed", "worker i needs tau_i seconds per gradient (the fixed computation model)", **_TIMES, **_LAW)
def _fixed(name: str, given: Mapping[str, Any], p: dict[str, Any]) -> ComputeModel:
    return _draws_model(name, p, _times(name, given, p), "none")


_ETA = dict(
    eta=Param(str, "exponential", choices=("exponential", "lognormal", "pareto", "logcauchy", "none"), doc="law of eta"),
    mean=Param(float, 1.0, 0.0, 1e12, doc="mean of eta (exponential, pareto)"),
    mu=Param(float, 0.0, -700.0, 700.0, doc="log-location (lognormal, logcauchy)"),
    s=Param(float, 1.0, 0.0, 1e6, doc="log-scale (lognormal, logcauchy)"),
    alpha=Param(float, 2.5, 1.0, 1e6, low_open=True, doc="Lomax shape (pareto)"),
)
_ETA_OWN = {"mean": ("exponential", "pareto"), "mu": ("lognormal", "logcauchy"), "s": ("lognormal", "logcauchy"),
            "alpha": ("pareto",)}


@_register("random", "tau_i + eta_j: fixed times plus i.i.d. random extra time (MindFlayer's model)", **_TIMES, **_LAW,
           **_ETA)
def _random(name: str, given: Mapping[str, Any], p: dict[str, Any]) -> ComputeModel:
    eta = p["eta"]
    for k, owners in _ETA_OWN.items():
        if k in given and eta not in owners:
            raise ValueError(f"parameter {k!r} of compute model 'random' only applies to eta in {owners}; got {k}="
                             f"{given[k]!r} with eta={eta!r}")
        if eta not in owners:
            p.pop(k)
    return _draws_model(name, p, _times(name, given, p), eta)


@_register("universal", "piecewise-constant computation power v_i(t): periodic slowdowns or an outage", **_TIMES, **_LAW,
           period=Param(float, 0.0, 0.0, 1e12, doc="seconds; > 0: periodic slowdowns"),
           duty=Param(float, 0.5, 0.0, 1.0, low_open=True, doc="slow fraction of each period"),
           factor=Param(float, 10.0, 1.0, 1e12, doc="slowdown factor during the slow part"),
           outage_worker=Param(int, -1, -1, 1e6, doc="worker (0-based) with an outage; -1: none"),
           outage_start=Param(float, 0.0, 0.0, 1e12, doc="seconds"),
           outage_end=Param(float, 0.0, 0.0, 1e12, doc="seconds (> outage_start)"))
def _universal(name: str, given: Mapping[str, Any], p: dict[str, Any]) -> ComputeModel:
    t = _times(name, given, p)
    n = t.size
    periodic = p["period"] > 0
    outage = p["outage_worker"] >= 0
    if periodic == outage:
        raise ValueError("compute model 'universal' needs exactly one of period > 0 (periodic slowdowns) or "
                         f"outage_worker >= 0 (an outage); got period={p['period']!r}, outage_worker={p['outage_worker']!r}")
    if periodic:
        P, d = p["period"], p["duty"]
        bps = np.tile([0.0, d * P], (n, 1)) if d < 1 else np.zeros((n, 2))
        rates = np.stack([1.0 / (t * p["factor"]), 1.0 / t], axis=1)
        nseg = np.full(n, 2 if d < 1 else 1, dtype=np.int64)
        return ComputeModel(name, p, n, KIND_UNIVERSAL, t, np.zeros(n), bps=np.ascontiguousarray(np.c_[bps, np.full(n, P)]),
                            rates=np.ascontiguousarray(rates), nseg=nseg, period=P)
    w, a, b = p["outage_worker"], p["outage_start"], p["outage_end"]
    if w >= n:
        raise ValueError(f"parameter 'outage_worker' of compute model 'universal' must be an integer in [-1, {n - 1}]; got {w}")
    if not b > a:
        raise ValueError(f"parameter 'outage_end' of compute model 'universal' must be > outage_start = {a!r}; got {b!r}")
    bps = np.zeros((n, 4))
    rates = np.zeros((n, 3))
    nseg = np.ones(n, dtype=np.int64)
    rates[:, 0] = 1.0 / t
    if a > 0:
        bps[w, :3] = [0.0, a, b]
        rates[w, :3] = [1.0 / t[w], 0.0, 1.0 / t[w]]
        nseg[w] = 3
    else:
        bps[w, :2] = [0.0, b]
        rates[w, :2] = [0.0, 1.0 / t[w]]
        nseg[w] = 2
    return ComputeModel(name, p, n, KIND_UNIVERSAL, t, np.zeros(n), bps=bps, rates=rates, nseg=nseg, period=0.0)


@_register("trace", "the per-worker compute times of a recorded picky async-run (DIR/async.json)",
           path=Param(str, None, doc="async.json of picky async-run --save DIR (or DIR)"))
def _trace(name: str, given: Mapping[str, Any], p: dict[str, Any]) -> ComputeModel:
    if p["path"] is None:
        raise ValueError("compute model 'trace' requires parameter 'path' (DIR/async.json of picky async-run --save DIR)")
    path = Path(p["path"])
    if path.is_dir():
        path = path / "async.json"
    try:
        data = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read compute trace {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"cannot read compute trace {str(path)!r}: {exc}") from None
    return trace_model(data, str(path), p)


def trace_model(data: Any, where: str = "async.json", params: dict[str, Any] | None = None) -> ComputeModel:
    """The ``trace`` model of an async.json's content ``data`` (format 2's ``computations``, else
    format 1's ``steps_detail``); workers are numbered in the sorted order of their names (the
    server's order)."""
    comps = data.get("computations") if isinstance(data, Mapping) else None
    if comps is not None:
        per = trace_durations(comps, where)
    else:
        per = _steps_detail_times(data, where)
    names = sorted(per)
    off = np.cumsum([0] + [len(per[w]) for w in names]).astype(np.int64)
    trace = np.concatenate([np.array(per[w]) for w in names])
    mean = np.array([np.mean(per[w]) for w in names])
    p = dict(params or {"path": where}, workers=names)
    return ComputeModel("trace", p, len(names), KIND_TRACE, mean, np.zeros(len(names)), trace=trace, off=off)


def trace_durations(comps: Any, where: str = "computations") -> dict[str, list[float]]:
    """Per worker, the durations of its computations in start order (format 2, module docstring):
    end_s - start_s for an applied one, end_s - start_s + TRACE_TICK for one that never arrived
    (``status`` "cancelled" or "unfinished")."""
    if not isinstance(comps, list) or not comps:
        raise ValueError(f"compute trace {where!r}: 'computations' must be a nonempty list (per computation: task, "
                         "worker, start_s, end_s, status)")
    per: dict[str, list[float]] = {}
    rows = []
    for k, c in enumerate(comps):
        try:
            task, w, a, b, st = int(c["task"]), str(c["worker"]), float(c["start_s"]), float(c["end_s"]), c["status"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"compute trace {where!r}: computations[{k}] needs 'task', 'worker', numeric 'start_s' and "
                             "'end_s', and 'status'") from None
        if st not in ("applied", "cancelled", "unfinished"):
            raise ValueError(f"compute trace {where!r}: computations[{k}].status must be 'applied', 'cancelled' or "
                             f"'unfinished'; got {st!r}")
        d = b - a + (TRACE_TICK if st != "applied" else 0.0)
        if not (math.isfinite(d) and d > 0):
            raise ValueError(f"compute trace {where!r}: computations[{k}] must end after it starts (finite times); got "
                             f"start_s={a!r}, end_s={b!r}")
        rows.append((task, w, d))
    for _, w, d in sorted(rows):  # start order = task order
        per.setdefault(w, []).append(d)
    return per


def _steps_detail_times(data: Any, where: str) -> dict[str, list[float]]:
    """Format 1: each applied gradient's worker-measured ``compute_s``, per worker in arrival order."""
    steps = data.get("steps_detail") if isinstance(data, Mapping) else None
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"compute trace {where!r} must be picky async-run's async.json with a nonempty "
                         "'computations' or 'steps_detail' list (per step: worker, compute_s)")
    per: dict[str, list[float]] = {}
    for k, s in enumerate(steps):
        try:
            w, c = str(s["worker"]), float(s["compute_s"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"compute trace {where!r}: steps_detail[{k}] needs 'worker' and a numeric 'compute_s'") from None
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"compute trace {where!r}: steps_detail[{k}].compute_s must be a finite time > 0; got {c!r}")
        per.setdefault(w, []).append(c)
    return per


# --------------------------------------------------------------------------------------------
# specs and the factory
# --------------------------------------------------------------------------------------------
def parse_spec(spec: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,..."`` (the package's spec grammar) or ``{"model": name, key: value}``."""
    if isinstance(spec, Mapping):
        rest = dict(spec)
        name = rest.pop("model", None) or rest.pop("name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a dict compute spec needs a 'model' key; got {spec!r}")
        return name, rest
    if not isinstance(spec, str):
        raise ValueError(f"compute spec must be a string like 'fixed:times=1;1;2;10'; got {spec!r}")
    return specs.parse_spec(spec, what="compute model name")


def make(spec: str | Mapping[str, Any]) -> ComputeModel:
    """The computation model of ``spec``; ValueError naming the model, the parameter, its value and
    the allowed range otherwise."""
    name, given = parse_spec(spec)
    if name not in MODELS:
        raise ValueError(f"unknown compute model {name!r}; known models: {', '.join(MODELS)}")
    model = MODELS[name]
    unknown = sorted(set(given) - set(model.params))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} (= {given[unknown[0]]!r}) for compute model {name!r}; "
                         f"allowed parameters: {', '.join(model.params)}")
    p = {}
    for k, prm in model.params.items():
        if k == "times":
            if k in given:
                p[k] = given[k] if isinstance(given[k], list) else [given[k]]
            continue
        p[k] = prm.coerce(f"compute model {name!r}", k, given[k]) if k in given else prm.default
    return model.build(name, given, p)


def scaled_workers(n: int, dist: str, spread: float, alpha: float = 2.5, s: float = 1.0) -> ComputeModel:
    """The delay model ``workers``'s fleet: worker i's compute times are mu_i Z with mu_i log-spaced in
    [1, spread] and Z i.i.d. with E Z = 1 (exponential; Lomax(alpha)(alpha - 1); LogNormal(-s^2/2, s);
    or 1)."""
    mu = np.array((np.logspace(0.0, math.log10(spread), n) if n > 1 else np.ones(1)).tolist())
    p = {"n": n, "dist": dist, "spread": spread}
    if dist == "constant":
        return ComputeModel("workers", p, n, KIND_DRAWS, np.zeros(n), mu)
    dp = {"exponential": {"eta": "exponential"}, "pareto": {"eta": "pareto", "alpha": alpha},
          "lognormal": {"eta": "lognormal", "mu": -0.5 * s * s, "s": s}}[dist]
    return ComputeModel("workers", p, n, KIND_DRAWS, np.zeros(n), mu, dist="scaled", dist_params=dp)


def check_seed(seed: Any) -> int:
    return check_int("seed", seed, 0, MAX_SEED)

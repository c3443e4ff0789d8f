"""The literal reference implementation: one run, a plain loop, beside the paper's pseudo-code.

Model (paper.md §2; every algorithm): steps t = 1..T. The server holds x_t and receives
g_t = grad f(x_{t-d_t}) + sigma z_t, a stochastic gradient computed at the iterate of step t - d_t
(0 <= d_t <= t-1), with z_t a fresh unit-variance noise vector. Then

    x_{t+1} = x_t - eta_t g_t   if the algorithm accepts the gradient,   x_{t+1} = x_t otherwise,

with (accept, eta_t) = ``alg.decide(||x_t - x_{t-d_t}||, d_t)`` (:mod:`verify.algorithms.rules`).

Noise convention: z_t is drawn at every step, used or not, from the lane's own
``numpy.random.Generator`` (``default_rng(seed)``) as row t of ``noise.sample(rng, T, d)`` (none
at all when sigma = 0); so algorithms run with the same seed see the same noise (common random
numbers). Task-keyed noise (recorded asynchronous runs): when the delay sequence carries the task
that delivered each step (``DelaySequence.tasks``), or ``noise_keys`` is given, z_t is instead
``noise.task_rows(seed, [k_t], d)[0]`` with k_t = the task of step t -- the noise the worker that
computed the gradient drew, keyed by (seed, task) alone: the Philox4x64-10 stream of counter
(j, k_t, 0, 0) and key (seed, TASK_NOISE_DOMAIN), read by the compiled
:func:`verify.models.noise.task_row_any` that the kernel calls too.

Measured at every step t, on x_t before its update: ||grad f(x_t)|| (first_hit, the minimum,
the trace), f(x_t) only at trace steps and, with ``measure_f``, for its minimum. A run stops
("diverged") at the first x_t that is non-finite (or has a non-finite gradient), or with
||x_t - x_1|| > the guard's radius.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

import theory
from theory.validation import check_int

from .._jit import dist, norm
from verify.models.delays import DelaySequence, DelayStats, from_trace
from ..params import MAX_SEED, MAX_STEPS
from verify.io.records import RunResult
from .rules import Algorithm

__all__ = ["reference_run", "DivergenceGuard", "AdaptiveDelay", "delay_stats"]

#: divergence reasons (the compiled engine returns the same codes)
DIVERGENCE_REASONS = {1: "non-finite iterate", 2: "||x_t - x_1|| > {radius:g}"}


@dataclass(frozen=True)
class DivergenceGuard:
    """A run is stopped and flagged when its iterate (or its gradient) is non-finite or
    ||x_t - x_1|| exceeds ``radius`` (default 1e12 (1 + ||x_1||)). Checked every step."""

    radius: float | None = None

    def __post_init__(self) -> None:
        if self.radius is not None and not (isinstance(self.radius, (int, float)) and self.radius > 0):
            raise ValueError(f"radius must be a number > 0 (or None for the default); got {self.radius!r}")

    def radius_for(self, x1: np.ndarray) -> float:
        return float(self.radius) if self.radius is not None else 1e12 * (1.0 + norm(np.asarray(x1, dtype=float)))


AdaptiveDelay = Callable[[int, list, Any], int]


def check_trace_every(trace_every: Any) -> int | None:
    """None (no trace) or a positive integer; ValueError otherwise (the engine's and the CLI's rule)."""
    return None if trace_every is None else check_int("trace_every", trace_every, 1)


def reference_run(
    problem: Any,
    delays: DelaySequence | np.ndarray | AdaptiveDelay,
    alg: Algorithm,
    *,
    seed: int,
    T: int | None = None,
    noise: Any = None,
    trace_every: int | None = None,
    stop_at_hit: bool = False,
    measure_f: bool = False,
    guard: DivergenceGuard = DivergenceGuard(),
    noise_keys: Sequence[int] | Callable[[int], int] | None = None,
) -> RunResult:
    """One run of ``alg``, written as the pseudo-code reads (O(T d) memory: it keeps every
    iterate). ``delays`` is a sequence, or a callable ``delay(t, iterates, problem) -> d_t`` for an
    adaptive adversary (then the result is flagged ``adaptive``). ``noise_keys``: the task of each
    step for task-keyed noise (an array, or ``key(t)`` called after ``delay(t, ...)``); default: the
    sequence's ``tasks`` if it has them, else the lane's own stream."""
    from verify.models.noise import make_noise

    if not isinstance(alg, Algorithm):
        raise ValueError(f"alg must be an algorithm from verify.algorithms.resolve; got {type(alg).__name__}")
    noise = make_noise("gaussian") if noise is None else noise
    seed = check_int("seed", seed, 0, MAX_SEED)
    trace_every = check_trace_every(trace_every)
    adaptive = callable(delays) and not isinstance(delays, DelaySequence)
    if adaptive:
        if T is None:
            raise ValueError("T is required with an adaptive delay function")
        T = check_int("T", T, 1, MAX_STEPS)
        dseq = None
    else:
        dseq = delays if isinstance(delays, DelaySequence) else from_trace(delays)
        T = len(dseq) if T is None else check_int("T", T, 1, MAX_STEPS)
        if T > len(dseq):
            raise ValueError(f"T = {T} exceeds the delay sequence length {len(dseq)}")
    if noise_keys is None and dseq is not None and dseq.tasks is not None:
        noise_keys = dseq.tasks
    if noise_keys is not None and not callable(noise_keys):
        keys = np.asarray(noise_keys, dtype=np.int64).reshape(-1)
        if keys.size < T:
            raise ValueError(f"noise_keys has {keys.size} entries; it needs one per step (T = {T})")
        noise_keys = lambda t, keys=keys: int(keys[t - 1])  # noqa: E731
    rng = np.random.default_rng(seed)
    radius = guard.radius_for(problem.x1)
    x1 = np.array(problem.x1, dtype=float)
    zero = np.zeros_like(x1)
    xs = [x1]  # xs[k] is x_{k+1}
    used: list[int] = []
    first_hit = None
    gmin, gmin_step, fmin = math.inf, 0, math.inf
    accepted = rejected = 0
    rejected_steps: list[int] = []
    max_dist = max_gap = 0.0
    min_rej = math.inf
    tr_steps, tr_g, tr_f = [], [], []
    div_step, div_code = None, 0
    steps_run = 0
    for t in range(1, T + 1):
        x_t = xs[t - 1]
        gx = problem.grad(x_t)
        G = norm(gx)
        if not (math.isfinite(G) and np.all(np.isfinite(x_t))):
            div_step, div_code = t, 1
            break
        if dist(x_t, x1) > radius:
            div_step, div_code = t, 2
            break
        if G <= alg.eps and first_hit is None:
            first_hit = t
        if G < gmin:
            gmin, gmin_step = G, t
        traced = bool(trace_every) and (t - 1) % trace_every == 0
        if measure_f or traced:
            fx = float(problem.f(x_t))
            if measure_f:
                fmin = min(fmin, fx)
            if traced:
                tr_steps.append(t), tr_g.append(G), tr_f.append(fx)
        if stop_at_hit and first_hit is not None:
            break
        steps_run = t
        # fresh noise at every step, used or not (none drawn when sigma = 0: sigma z = 0 anyway)
        keyed = noise_keys is not None
        z = noise.sample(rng, 1, x_t.shape[0])[0] if alg.sigma != 0.0 and not keyed else zero
        d_t = int(delays(t, xs, problem)) if adaptive else int(dseq.delays[t - 1])
        if keyed and alg.sigma != 0.0:  # the noise of the task that delivered step t's gradient
            z = noise.task_rows(seed, [noise_keys(t)], x_t.shape[0])[0]
        if not alg.uses_delays:
            d_t = 0
        if adaptive and not 0 <= d_t <= t - 1:
            raise ValueError(f"adaptive delay at step t={t} is {d_t}; it must satisfy 0 <= d_t <= t-1")
        used.append(d_t)
        y_t = xs[t - 1 - d_t]
        dist_t = dist(x_t, y_t) if d_t > 0 else 0.0
        accept, eta_t = alg.decide(dist_t, d_t)  # Algorithm 1: accept iff ||x_t - y_t|| <= rho, ...
        if accept:
            gy = problem.grad(y_t) if d_t > 0 else gx
            max_dist = max(max_dist, dist_t)
            max_gap = max(max_gap, dist(gx, gy))
            xs.append(x_t - eta_t * (gy + alg.sigma * z))
            accepted += 1
        else:
            xs.append(x_t)
            min_rej = min(min_rej, dist_t)
            rejected += 1
            rejected_steps.append(t)
    last = xs[-1]  # x_{steps_run + 1}; non-finite after a divergence (flagged)
    if adaptive:
        dseq = DelaySequence(delays=np.array(used, dtype=np.int64), model="adaptive", params={}, seed=None, adaptive=True)
    return RunResult(
        algorithm=alg.name,
        config=alg.as_dict(),
        problem=problem.describe(),
        noise=noise.describe(),
        seed=int(seed),
        T=int(T),
        steps_run=steps_run,
        first_hit=first_hit,
        min_grad_norm=gmin,
        min_grad_norm_step=gmin_step,
        min_f=fmin if measure_f else None,
        final_grad_norm=_finite_or_nan(lambda: norm(problem.grad(last))),
        final_f=_finite_or_nan(lambda: float(problem.f(last))),
        accepted=accepted,
        rejected=rejected,
        rejected_steps=np.array(rejected_steps, dtype=np.int64),
        max_accepted_distance=max_dist,
        max_accepted_grad_gap=max_gap,
        min_rejected_distance=min_rej if math.isfinite(min_rej) else None,
        diverged=div_code != 0,
        diverged_step=div_step,
        divergence_reason=DIVERGENCE_REASONS[div_code].format(radius=radius) if div_code else None,
        trace_every=trace_every,
        trace_steps=np.array(tr_steps, dtype=np.int64) if trace_every else None,
        trace_grad_norm=np.array(tr_g) if trace_every else None,
        trace_f=np.array(tr_f) if trace_every else None,
        delays=dseq,
        delay_stats=delay_stats(np.asarray(used, dtype=np.int64)),
        adaptive=adaptive,
        engine="reference",
        version=theory.__version__,
    )


def _finite_or_nan(fn: Callable[[], float]) -> float:
    with np.errstate(all="ignore"):
        v = fn()
    return v if math.isfinite(v) else math.nan


def delay_stats(d: np.ndarray) -> dict[str, Any]:
    """Statistics of the delays actually used (the steps run): T, tau_avg, tau_max, sum, ..."""
    if d.size == 0:
        return {"T": 0, "tau_avg": 0.0, "tau_max": 0, "sum": 0, "n_nonzero": 0, "quantiles": {}}
    return DelayStats.of(d).as_dict()

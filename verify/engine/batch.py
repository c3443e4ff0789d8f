"""The compiled path of the batch methods (:mod:`verify.algorithms.batch`): Rennala SGD and minibatch SGD.

:func:`batch_lane` is the loop of :func:`verify.algorithms.batch.reference_batch_run` in numba, with the
same compiled functions in the same order (the problem's grad, ``task_row_any`` for each task's noise
row, the norm), element by element as numpy computes the reference's vector expressions -- so the two
agree bit for bit (tests/test_batch.py, property-based). Memory O(d + K B) (the schedule's tasks);
the noise rows are drawn on demand.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from theory.validation import check_int

from .._jit import all_finite, dist, jit, norm
from verify.models.problems import f_any, grad_any
from verify.models.noise import TASK_STATE, task_row_any

__all__ = ["batch_lane", "run_batch_lane"]


@jit
def batch_lane(pcode, pvec, ncode, nvec, sigma, nseed, x1, tasks, K, gamma, eps, radius, stop_at_hit, trace_every,
               x_out, tr_g, tr_f):
    """K server steps; returns (steps_run, first_hit (0: none), min ||grad f||, its step, diverged step
    (0: none), divergence code (1 non-finite, 2 too far))."""
    d = x1.size
    B = tasks.shape[1]
    x = x1.copy()
    g = np.empty(d)
    acc = np.empty(d)
    z = np.zeros(d)
    st = np.empty(TASK_STATE, np.uint64)
    first_hit = 0
    gmin = math.inf
    gmin_step = 0
    div_step = 0
    div_code = 0
    steps_run = 0
    for i in range(K):
        k = i + 1
        grad_any(pcode, pvec, x, g)
        G = norm(g)
        if not (math.isfinite(G) and all_finite(x)):
            div_step, div_code = k, 1
            break
        if dist(x, x1) > radius:
            div_step, div_code = k, 2
            break
        if G <= eps and first_hit == 0:
            first_hit = k
        if G < gmin:
            gmin = G
            gmin_step = k
        if trace_every > 0 and i % trace_every == 0:
            tr_g[i // trace_every] = G
            tr_f[i // trace_every] = f_any(pcode, pvec, x)
        if stop_at_hit and first_hit != 0:
            break
        steps_run = k
        for q in range(d):
            acc[q] = 0.0
        for b in range(B):  # the B gradients of round k, all at x_k, in arrival order
            if sigma != 0.0:
                task_row_any(ncode, nvec, st, nseed, tasks[i, b], z)
            for q in range(d):
                acc[q] = acc[q] + (g[q] + sigma * z[q])
        for q in range(d):  # x_{k+1} = x_k - gamma (acc / B)
            x[q] = x[q] - gamma * (acc[q] / B)
    x_out[:] = x
    return steps_run, first_hit, gmin, gmin_step, div_step, div_code


def run_batch_lane(problem: Any, sched: Any, alg: Any, *, seed: int, T: int | None = None, noise: Any = None,
                   trace_every: int | None = None, stop_at_hit: bool = False, guard: Any = None,
                   sequence: Any = None) -> Any:
    """The compiled twin of :func:`verify.algorithms.batch.reference_batch_run` (same arguments, same
    :class:`~verify.io.records.RunResult`, ``engine = "numba"``)."""
    from verify.algorithms.batch import _result
    from verify.algorithms.reference import DivergenceGuard, check_trace_every
    from verify.models.noise import make_noise
    from verify.params import MAX_SEED, MAX_STEPS

    noise = make_noise("gaussian") if noise is None else noise
    guard = DivergenceGuard() if guard is None else guard
    seed = check_int("seed", seed, 0, MAX_SEED)
    te = check_trace_every(trace_every) or 0
    K = sched.steps if T is None else check_int("T", T, 1, min(MAX_STEPS, sched.steps))
    if sched.batch != alg.batch:
        raise ValueError(f"the schedule averages {sched.batch} gradients per step but algorithm {alg.name!r} has "
                         f"batch {alg.batch}")
    x1 = np.ascontiguousarray(problem.x1, dtype=np.float64)
    radius = guard.radius_for(x1)
    pcode, pvec = problem.kernel
    ncode, nvec = noise.kernel(x1.size)
    n_tr = (K + te - 1) // te if te else 0
    tr_g = np.full(n_tr, np.nan)
    tr_f = np.full(n_tr, np.nan)
    x_out = np.empty(x1.size)
    tasks = np.ascontiguousarray(sched.tasks[:K], dtype=np.int64)
    sr, fh, gmin, gstep, dstep, dcode = batch_lane(pcode, pvec, ncode, nvec, float(alg.sigma), seed, x1, tasks, K,
                                                   float(alg.gamma), float(alg.eps), radius, bool(stop_at_hit), te,
                                                   x_out, tr_g, tr_f)
    seen = ~np.isnan(tr_g)
    steps = np.arange(n_tr, dtype=np.int64) * te + 1 if te else None
    seq = sched.sequence("batch", {"policy": sched.policy, "B": sched.batch}, None) if sequence is None else sequence
    return _result(problem, noise, alg, seq, seed, K, int(sr), int(fh) or None, float(gmin), int(gstep), x_out,
                   int(dstep) or None, int(dcode), radius, te or None, steps[seen] if te else [],
                   tr_g[seen] if te else [], tr_f[seen] if te else [], "numba")

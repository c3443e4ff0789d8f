"""The compiled kernel: one run (a lane) as a plain loop that reads like Algorithm 1.

It computes exactly what :func:`verify.algorithms.reference_run` computes, with the same compiled
functions (the problem's f and grad, the noise row, the rule's decide, the norm), in the same
order -- so the two agree bit for bit, by construction; tests check it. What differs is only how
the past is kept:

Memory. The reference keeps every iterate (O(T d)). Here a pre-pass over the delays
(:func:`plan_slots`) finds, for every iterate, the last step that reads it, and gives each iterate
that a later step reads a slot for exactly that long (a free list): the number of slots is the
largest number of simultaneously live iterates (a single straggler: one slot; constant delay tau:
tau slots; never more than max_t d_t, never O(T) unless that many really are live). A slot holds
the iterate and its gradient (computed once, when the iterate was current), so a stale step
computes no gradient. The plan itself is one int32 per step (half the size of the int64 delays).

Everything else is O(d): x_t, x_{t+1}, grad f(x_t), the noise row. Rejections go to a bitset (one
bit per step) only when asked; the trace keeps every ``trace_every``-th measurement.

Threads. The kernel releases the GIL (``nogil``); :func:`verify.engine.run_batch` runs lanes in a
thread pool. Each lane draws its noise from its own ``numpy.random.Generator`` (numba shares the
generator's state with the Python object): the rows are the reference's ``noise.sample(rng, 1, d)``.
A sequence that carries tasks (a recorded asynchronous run) has its task-keyed rows computed on
demand, at the step that uses them, by ``task_row_any`` (a Philox4x64-10 stream keyed by (seed,
task), :mod:`verify.models.noise`): O(d) memory (one row and a 72-byte stream state), flat in T; the
reference loop and the asynchronous workers call the same compiled function.
Every ``PROGRESS_EVERY`` steps the kernel publishes its step count and checks a cancel flag, so a
long lane reports progress and stops promptly on Ctrl-C.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import all_finite, dist, jit, norm
from ..algorithms.rules import decide_any
from verify.models.problems import f_any, grad_any
from verify.models.noise import TASK_STATE, draw_any, task_row_any

__all__ = ["plan_slots", "run_lane", "PROGRESS_EVERY", "STATUS_DONE", "STATUS_CANCELLED"]

PROGRESS_EVERY = 1 << 14
STATUS_DONE, STATUS_CANCELLED = 0, 1


@jit
def plan_slots(delays, T, plan):
    """Fill ``plan`` (int32, length >= T) so that ``plan[i]`` is the slot that iterate i (0-based,
    x_{i+1}) is stored in when some later step reads it, else -1; return the number of slots.

    Step i (0-based) reads iterate i - delays[i], then stores iterate i (if a later step reads it):
    a slot is given back at the iterate's last read and can take the iterate of that same step, so
    slots = max_i #{j <= i : iterate j is read at a step > i} (constant delay tau: tau slots).
    """
    for i in range(T):
        plan[i] = -1
    for i in range(T):  # plan[j] = the last step that reads iterate j (steps in increasing order)
        di = delays[i]
        if di > 0:
            plan[i - di] = i
    cap = 16
    release = np.empty(cap, np.int64)  # release[s]: the step after which slot s is free again
    free = np.empty(cap, np.int64)
    n_free = 0
    n = 0
    for i in range(T):
        di = delays[i]
        if di > 0:
            s = plan[i - di]
            if release[s] == i:  # its last read: the slot is free once step i has read it
                free[n_free] = s
                n_free += 1
        last = plan[i]
        if last > i:  # iterate i is read later: give it a slot (written at the end of step i)
            if n_free > 0:
                n_free -= 1
                s = free[n_free]
            else:
                s = n
                n += 1
                if n > cap:
                    cap *= 2
                    r2 = np.empty(cap, np.int64)
                    r2[: n - 1] = release[: n - 1]
                    release = r2
                    f2 = np.empty(cap, np.int64)
                    f2[:n_free] = free[:n_free]
                    free = f2
            release[s] = last
            plan[i] = s
        else:
            plan[i] = -1
    return n


@jit
def run_lane(
    rcode, rvec, uses_delays,          # the algorithm: rule code, its input vector, d_t used or forced to 0
    pcode, pvec,                       # the problem (Problem.kernel)
    ncode, nvec, rng, sigma,           # the noise model (Noise.kernel), the lane's generator, sigma,
    tasks, nseed,                      # task-keyed noise: each step's task (int64, size 0: the generator's
                                       # stream), the run's seed (the streams' key)
    x1, delays, T, eps, radius,        # start, delays (int64), horizon, target, divergence radius
    stop_at_hit, measure_f, trace_every,
    x_out, rej_bits, tr_g, tr_f,       # outputs: last iterate, rejection bitset (size 0: not kept), trace
    progress, cancel, lane,            # progress[lane] = steps done; cancel[0] != 0: stop
):
    """One lane: steps t = 1..T of Algorithm 1 (or another rule), measuring x_t before each update.

    Returns (status, steps_run, first_hit (0: none), min ||grad f||, its step, min f (inf unless
    measure_f), accepted, max accepted distance, max accepted gradient gap, diverged step (0:
    none), divergence code (1 non-finite, 2 too far), slots used, min rejected distance (inf: none))."""
    d = x1.size
    x = x1.copy()
    xn = np.empty(d)
    g = np.empty(d)
    z = np.zeros(d)
    st = np.empty(TASK_STATE, np.uint64)  # the task stream's state (O(1): the rows are drawn on demand)
    plan = np.empty(T if uses_delays else 0, np.int32)
    n_slots = plan_slots(delays, T, plan) if uses_delays else 0
    xs = np.empty((n_slots, d))
    gs = np.empty((n_slots, d))

    first_hit = 0
    gmin = math.inf
    gmin_step = 0
    fmin = math.inf
    accepted = 0
    max_dist = 0.0
    min_rej = math.inf
    max_gap = 0.0
    div_step = 0
    div_code = 0
    steps_run = 0
    status = STATUS_DONE
    keep_rej = rej_bits.size > 0
    keyed = tasks.size > 0
    for i in range(T):
        t = i + 1
        if (i & (PROGRESS_EVERY - 1)) == 0:
            progress[lane] = i
            if cancel[0] != 0:
                status = STATUS_CANCELLED
                break
        # ---- measure x_t: ||grad f(x_t)||, divergence, first hit, minima, trace ----
        grad_any(pcode, pvec, x, g)
        G = norm(g)
        r = dist(x, x1)
        if not (math.isfinite(G) and math.isfinite(r)):  # (a finite x gives a finite r unless it overflows)
            if not (math.isfinite(G) and all_finite(x)):
                div_step, div_code = t, 1
                break
        if r > radius:
            div_step, div_code = t, 2
            break
        if G <= eps and first_hit == 0:
            first_hit = t
        if G < gmin:
            gmin = G
            gmin_step = t
        traced = trace_every > 0 and i % trace_every == 0
        if measure_f or traced:
            fx = f_any(pcode, pvec, x)
            if measure_f and fx < fmin:
                fmin = fx
            if traced:
                tr_g[i // trace_every] = G
                tr_f[i // trace_every] = fx
        if stop_at_hit and first_hit != 0:
            break
        steps_run = t
        # ---- the step: fresh noise (every step, used or not), the stale iterate, the rule ----
        if sigma != 0.0:
            if keyed:  # the noise of the task that delivered step t (DelaySequence.tasks), drawn now
                task_row_any(ncode, nvec, st, nseed, tasks[i], z)
            else:
                draw_any(ncode, nvec, rng, z)
        di = delays[i] if uses_delays else 0
        if di > 0:
            s = plan[i - di]
            y = xs[s]
            gy = gs[s]
            dist_t = dist(x, y)
        else:
            y = x
            gy = g
            dist_t = 0.0
        accept, eta_t = decide_any(rcode, rvec, dist_t, di)
        if accept:
            if dist_t > max_dist:
                max_dist = dist_t
            gap = dist(g, gy) if di > 0 else 0.0
            if gap > max_gap:
                max_gap = gap
            for k in range(d):  # x_{t+1} = x_t - eta_t (grad f(y_t) + sigma z_t)
                xn[k] = x[k] - eta_t * (gy[k] + sigma * z[k])
            accepted += 1
        else:
            if dist_t < min_rej:
                min_rej = dist_t
            if keep_rej:
                rej_bits[i >> 3] |= np.uint8(1 << (i & 7))
        if uses_delays and plan[i] >= 0:  # x_t is read by a later step: keep it, with its gradient
            s = plan[i]  # (written only now: the slot may be the one y_t was just read from)
            xs[s, :] = x
            gs[s, :] = g
        if accept:  # x_{t+1} is in xn; a rejected step keeps x_{t+1} = x_t in place
            x, xn = xn, x
    x_out[:] = x
    progress[lane] = steps_run
    return (status, steps_run, first_hit, gmin, gmin_step, fmin, accepted, max_dist, max_gap, div_step, div_code,
            n_slots, min_rej)

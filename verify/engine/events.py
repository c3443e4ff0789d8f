"""The event simulation, compiled: a computation model, draws and a dispatch policy -> the schedule.

Same semantics as the literal reference :mod:`verify.engine.events_reference` (read it first), bit for
bit (tests/test_events.py, property-based): the n workers start at time 0 reading x_1; the next event
is the earliest finish, simultaneous finishes in worker-index order; the j-th computation started
(in event order) uses draw z_j and is task j.

No Python object per event: one compiled loop over preallocated arrays, with a tournament tree over
the workers keyed by (finish time, worker) (each worker has one computation in flight; an event
recomputes one leaf-to-root path, with selects instead of branches), and, for
Ringmaster with stops, the workers in (re)start order in a linked list, so that the computations
whose delay reached R are a prefix of it (a restart reads the newest iterate).

:func:`simulate` draws z from ``numpy.random.default_rng(seed)`` in start order (more, continuing the
stream, when a policy with cancellations needs them) and returns a
:class:`~verify.engine.events_reference.Schedule`; :func:`delay_sequence` turns an asynchronous
schedule into the :class:`~verify.models.delays.DelaySequence` (with ``wall_clock`` and ``tasks``)
that the kernel runs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from theory.validation import check_int

from verify._jit import jit
from verify.models.compute import ComputeModel
from verify.models.delays import DelaySequence
from verify.params import MAX_SEED, MAX_STEPS

from .events_reference import Schedule, minibatch_workers

__all__ = ["POLICIES", "simulate", "run_policy", "delay_sequence"]

#: policy name -> code; every asynchronous algorithm (picky, delayed-sgd, delay-adaptive, stale-drop) uses "async"
POLICIES = {"async": 0, "ringmaster": 1, "ringmaster-stops": 2, "minibatch": 3, "rennala": 4}

NEED_DRAWS = -1


@jit
def _ufinish(s, bps, rates, nseg, period):
    """The first f >= s with int_s^f v = 1 (compute.py's _universal_finish, the same operations). Not
    inlined: its loop in the event loop's body slows the other models' events by ~1.5x."""
    work = 1.0
    if period > 0:
        base = math.floor(s / period) * period
    else:
        base = 0.0
    u = s - base
    k = 0
    while k + 1 < nseg and bps[k + 1] <= u:
        k += 1
    while True:
        if k + 1 < nseg:
            end = bps[k + 1]
        elif period > 0:
            end = period
        else:
            end = math.inf
        r = rates[k]
        if r > 0:
            avail = (end - u) * r
            if avail >= work:
                return base + u + work / r
            work -= avail
        u = end
        k += 1
        if k == nseg:
            base += period
            u = 0.0
            k = 0


@jit(inline="always")
def _dur(kind, i, j, k, s, shift, scale, z, bps, rates, nseg, period, trace, off):
    if kind == 0:
        return shift[i] + scale[i] * z[j]
    if kind == 2:
        a = off[i]
        return trace[a + k % (off[i + 1] - a)]
    return _ufinish(s, bps[i], rates[i], nseg[i], period) - s


@jit(inline="always")
def _pick(a, p):
    """Node p of the tournament tree ``a`` (node q holds (key, worker) at a[2q], a[2q+1]) becomes the
    smaller of its children 2p, 2p+1 by (finish time, worker): the heap order of the reference.
    Written as selects (no branch on the comparison: the finish times are unpredictable)."""
    b = 4 * p
    kl = a[b]
    il = a[b + 1]
    kr = a[b + 2]
    ir = a[b + 3]
    take_r = (kr < kl) | ((kr == kl) & (ir < il))
    a[2 * p] = kr if take_r else kl
    a[2 * p + 1] = ir if take_r else il


@jit(inline="always")
def _set(a, P, w, key):
    """Worker w's finish time becomes ``key``; the path to the root is recomputed."""
    p = P + w
    a[2 * p] = key
    while p > 1:
        p >>= 1
        _pick(a, p)


@jit
def _async_draws(T, shift, scale, z, time, worker, task, read):
    """The asynchronous policy for draw-based models (kind 0: duration shift_i + scale_i z_j), the hot
    case, as one tight loop (the general loop below does the same for every model; both are tested
    against the reference)."""
    n = shift.size
    if z.size < n + T - 1:
        return NEED_DRAWS
    P = 1
    while P < n:
        P *= 2
    tree = np.empty(4 * P)
    rd = np.empty(n, np.int64)
    tk = np.empty(n, np.int64)
    for i in range(P):
        tree[2 * (P + i)] = math.inf
        tree[2 * (P + i) + 1] = i
    for i in range(n):
        tree[2 * (P + i)] = 0.0 + (shift[i] + scale[i] * z[i])
        rd[i] = 1
        tk[i] = i
    for p in range(P - 1, 0, -1):
        _pick(tree, p)
    j = n
    for t in range(T):
        w = int(tree[3])
        f = tree[2]
        time[t] = f
        worker[t] = w
        task[t] = tk[w]
        read[t] = rd[w]
        if t + 1 < T:
            rd[w] = t + 2
            tk[w] = j
            _set(tree, P, w, f + (shift[w] + scale[w] * z[j]))
            j += 1
    return j


@jit
def _rennala(rounds, B, kind, shift, scale, z, bps, rates, nseg, period, trace, off, time, worker, task, read,
             dtask, dworker, dtime):
    """Rennala SGD's rounds (events_reference.rennala): per round every worker starts at ``now``; B kept
    arrivals (restarting their workers at the same iterate); the rest cancelled in worker-index order."""
    n = shift.size
    nz = z.size
    P = 1
    while P < n:
        P *= 2
    tree = np.empty(4 * P)
    tk = np.empty(n, np.int64)
    cnt = np.zeros(n, np.int64)
    now = 0.0
    j = 0
    pos = 0
    nd = 0
    for k in range(1, rounds + 1):
        for i in range(P):
            tree[2 * (P + i)] = math.inf
            tree[2 * (P + i) + 1] = i
        for i in range(n):
            if j >= nz:
                return NEED_DRAWS, 0
            tree[2 * (P + i)] = now + _dur(kind, i, j, cnt[i], now, shift, scale, z, bps, rates, nseg, period, trace, off)
            tk[i] = j
            cnt[i] += 1
            j += 1
        for p in range(P - 1, 0, -1):
            _pick(tree, p)
        f = now
        for held in range(1, B + 1):
            w = int(tree[3])
            f = tree[2]
            time[pos] = f
            worker[pos] = w
            task[pos] = tk[w]
            read[pos] = k
            pos += 1
            if held == B:
                _set(tree, P, w, math.inf)
                break
            if j >= nz:
                return NEED_DRAWS, 0
            _set(tree, P, w, f + _dur(kind, w, j, cnt[w], f, shift, scale, z, bps, rates, nseg, period, trace, off))
            tk[w] = j
            cnt[w] += 1
            j += 1
        for i in range(n):  # still in flight: cancelled (worker-index order)
            if tree[2 * (P + i)] != math.inf:
                dtask[nd] = tk[i]
                dworker[nd] = i
                dtime[nd] = f
                nd += 1
        now = f
    return j, nd


@jit
def _simulate(policy, T, R, use, kind, shift, scale, z, bps, rates, nseg, period, trace, off,
              time, worker, task, read, dtask, dworker, dtime):
    """Fill the schedule arrays; returns (starts, dropped) or (NEED_DRAWS, 0) when z runs out. The
    guard applies to every model (universal and trace ones read no draw): z's length bounds the starts,
    and so the cancelled rows, which are written into buffers of that length (no bounds checks here)."""
    n = shift.size
    nz = z.size
    if policy == 3:  # minibatch: rounds over the workers ``use`` (in index order)
        m = use.size
        now = 0.0
        cnt = np.zeros(n, np.int64)
        j = 0
        for r in range(T):
            end = now
            last = -1
            for q in range(m):
                i = use[q]
                if j >= nz:
                    return NEED_DRAWS, 0
                f = now + _dur(kind, i, j, cnt[i], now, shift, scale, z, bps, rates, nseg, period, trace, off)
                cnt[i] += 1
                j += 1
                if f > end or last < 0:
                    end = f
                    last = i
            time[r] = end
            worker[r] = last
            task[r] = j - m
            read[r] = r + 1
            now = end
        return j, 0
    if policy == 4:  # Rennala: rounds of R kept arrivals (R plays the batch size B here)
        return _rennala(T, R, kind, shift, scale, z, bps, rates, nseg, period, trace, off, time, worker, task, read,
                        dtask, dworker, dtime)
    fin = np.empty(n)
    rd = np.empty(n, np.int64)
    tk = np.empty(n, np.int64)
    cnt = np.zeros(n, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    buf = np.empty(n, np.int64)
    if nz < n:
        return NEED_DRAWS, 0
    P = 1
    while P < n:
        P *= 2
    tree = np.empty(4 * P)  # the tournament tree: leaves P..2P-1 are the workers (padding: +inf)
    for i in range(P):
        tree[2 * (P + i)] = math.inf
        tree[2 * (P + i) + 1] = i
    for i in range(n):
        fin[i] = 0.0 + _dur(kind, i, i, 0, 0.0, shift, scale, z, bps, rates, nseg, period, trace, off)
        tree[2 * (P + i)] = fin[i]
        rd[i] = 1
        tk[i] = i
        cnt[i] = 1
        prv[i] = i - 1
        nxt[i] = i + 1 if i + 1 < n else -1
    head = 0
    tail = n - 1
    for p in range(P - 1, 0, -1):
        _pick(tree, p)
    j = n
    k = 1
    steps = 0
    nd = 0
    while steps < T:
        w = int(tree[3])
        f = tree[2]
        s = rd[w]
        if policy != 0 and k - s >= R:
            dtask[nd] = tk[w]
            dworker[nd] = w
            dtime[nd] = f
            nd += 1
        else:
            time[steps] = f
            worker[steps] = w
            task[steps] = tk[w]
            read[steps] = s
            steps += 1
            k += 1
        if steps < T:
            if j >= nz:
                return NEED_DRAWS, 0
            fin[w] = f + _dur(kind, w, j, cnt[w], f, shift, scale, z, bps, rates, nseg, period, trace, off)
            rd[w] = k
            tk[w] = j
            cnt[w] += 1
            j += 1
            _set(tree, P, w, fin[w])
            if policy == 2:  # move w to the tail of the (re)start list
                if w != tail:
                    if prv[w] >= 0:
                        nxt[prv[w]] = nxt[w]
                    else:
                        head = nxt[w]
                    prv[nxt[w]] = prv[w]
                    prv[w] = tail
                    nxt[w] = -1
                    nxt[tail] = w
                    tail = w
        if policy == 2 and steps < T:
            c = 0
            while head >= 0 and k - rd[head] >= R:  # the stale prefix
                buf[c] = head
                c += 1
                head = nxt[head]
            if c > 0:
                if head >= 0:
                    prv[head] = -1
                else:
                    tail = -1
                for a in range(1, c):  # insertion sort: restarts in worker-index order
                    v = buf[a]
                    b = a - 1
                    while b >= 0 and buf[b] > v:
                        buf[b + 1] = buf[b]
                        b -= 1
                    buf[b + 1] = v
                for a in range(c):
                    w2 = buf[a]
                    dtask[nd] = tk[w2]
                    dworker[nd] = w2
                    dtime[nd] = f
                    nd += 1
                    if j >= nz:
                        return NEED_DRAWS, 0
                    fin[w2] = f + _dur(kind, w2, j, cnt[w2], f, shift, scale, z, bps, rates, nseg, period, trace, off)
                    rd[w2] = k
                    tk[w2] = j
                    cnt[w2] += 1
                    j += 1
                    _set(tree, P, w2, fin[w2])
                    prv[w2] = tail
                    nxt[w2] = -1
                    if tail >= 0:
                        nxt[tail] = w2
                    else:
                        head = w2
                    tail = w2
    return j, nd


def _model_arrays(cm: ComputeModel) -> tuple:
    one = np.zeros((1, 1))
    bps = cm.bps if cm.bps is not None else one
    rates = cm.rates if cm.rates is not None else one
    nseg = cm.nseg if cm.nseg is not None else np.ones(1, np.int64)
    trace = cm.trace if cm.trace is not None else np.zeros(1)
    off = cm.off if cm.off is not None else np.zeros(2, np.int64)
    return (cm.kind, np.ascontiguousarray(cm.shift, dtype=np.float64), np.ascontiguousarray(cm.scale, dtype=np.float64),
            np.ascontiguousarray(bps, dtype=np.float64), np.ascontiguousarray(rates, dtype=np.float64),
            np.ascontiguousarray(nseg, dtype=np.int64), float(cm.period), np.ascontiguousarray(trace, dtype=np.float64),
            np.ascontiguousarray(off, dtype=np.int64))


def run_policy(cm: ComputeModel, T: int, z: np.ndarray, policy: str = "async", R: int = 1, m: int | None = None) -> Schedule | None:
    """One compiled run on the given draws ``z``; None if the draws run out (the reference raises IndexError)."""
    code = POLICIES[policy]
    kind, shift, scale, bps, rates, nseg, period, trace, off = _model_arrays(cm)
    z = np.ascontiguousarray(z, dtype=np.float64)
    use = minibatch_workers(cm, m)
    cap = max(int(z.size), cm.n + T)
    rows = T * R if policy == "rennala" else T  # Rennala: B = R kept arrivals per round
    time = np.empty(rows)
    worker = np.empty(rows, np.int64)
    task = np.empty(rows, np.int64)
    read = np.empty(rows, np.int64)
    dtask = np.empty(cap, np.int64)
    dworker = np.empty(cap, np.int64)
    dtime = np.empty(cap)
    if code == 0 and kind == 0:  # the hot case: its own tight loop
        starts, nd = _async_draws(T, shift, scale, z, time, worker, task, read), 0
    else:
        starts, nd = _simulate(code, T, R, use, kind, shift, scale, z, bps, rates, nseg, period, trace, off,
                               time, worker, task, read, dtask, dworker, dtime)
    if starts == NEED_DRAWS:
        return None
    return Schedule(time, worker, task, read, dtask[:nd].copy(), dworker[:nd].copy(), dtime[:nd].copy(), int(starts))


def simulate(cm: ComputeModel, T: int, *, seed: int | None = 0, policy: str = "async", R: int | None = None,
             m: int | None = None, B: int | None = None) -> Schedule:
    """The schedule of ``policy`` (``async``, ``ringmaster``, ``ringmaster-stops``, ``minibatch``,
    ``rennala``) for T server steps under ``cm``, the draws from ``default_rng(seed)`` in start order.
    ``R``: Ringmaster's delay threshold; ``m``: minibatch's workers (the m fastest); ``B``: Rennala's
    gradients per round (its records are per kept arrival, B per step)."""
    T = check_int("T", T, 1, MAX_STEPS)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
    if policy.startswith("ringmaster"):
        if R is None:
            raise ValueError(f"policy {policy!r} needs the delay threshold R (an integer >= 1)")
        R = check_int("R", R, 1)
    elif R is not None:
        raise ValueError(f"R (the delay threshold) only applies to the ringmaster policies; got R={R!r} with policy {policy!r}")
    if m is not None:
        if policy != "minibatch":
            raise ValueError(f"m (workers per round) only applies to policy 'minibatch'; got m={m!r}")
        m = check_int("m", m, 1, cm.n)
    if policy == "rennala":
        if B is None:
            raise ValueError("policy 'rennala' needs the batch B (gradients per round, an integer >= 1)")
        R = check_int("B", B, 1)
    elif B is not None:
        raise ValueError(f"B (gradients per round) only applies to policy 'rennala'; got B={B!r}")
    rng = np.random.default_rng(None if seed is None else check_int("seed", seed, 0, MAX_SEED))
    size = {"async": cm.n + T - 1, "minibatch": (m or cm.n) * T, "rennala": (cm.n + (R or 1)) * T}.get(policy, cm.n + 2 * T)
    z = cm.draws(rng, size)
    while True:
        out = run_policy(cm, T, z, policy, R or 1, m)
        if out is not None:
            return out
        z = np.concatenate([z, cm.draws(rng, z.size)])  # the stream continues (tested)


def delay_sequence(sched: Schedule, model: str, params: dict[str, Any], seed: int | None) -> DelaySequence:
    """An asynchronous schedule as the DelaySequence the kernel runs: delays t - read, arrival times
    (``wall_clock``) and tasks (the noise is keyed by task)."""
    return DelaySequence(sched.delays, model, params, seed, wall_clock=sched.time, tasks=sched.task)

"""The literal reference of the event simulation: plain Python with ``heapq``, one event at a time.

A computation model (:mod:`verify.models.compute`) and a dispatch policy give a *schedule*: for each
server step t = 1..T its arrival time, the worker and the task (the global start index j of the
computation: the j-th computation started, in event order) that delivered it, and the iterate x_s it
was computed at (``read`` = s; the delay is d_t = t - s); and the computations discarded.

Events: the n workers all start at time 0 reading x_1 (starts j = 0..n-1 in worker order). The next
event is the earliest finish; simultaneous finishes are taken in worker-index order (the heap key is
(finish time, worker)). The compiled path (:mod:`verify.engine.events`) must give the same schedule
bit for bit (tests/test_events.py).

Policies here:

* :func:`asynchronous`: every arrival is a step; the worker restarts at the newest iterate x_{t+1}.
  (Picky SGD, delayed SGD, delay-adaptive SGD, stale-drop: their schedule does not depend on their
  decisions.)
* :func:`minibatch`: rounds; the m fastest workers (by base time tau_i, ties by index; m = n: all)
  all read x_r at the round's start, each computes one gradient, the round (one step, delay 0)
  ends with the last of them; their tasks are the round's m consecutive starts (worker-index order).
* :func:`rennala`: Rennala SGD's rounds: every worker computes at x_k (read = k); each arrival is
  kept and its worker restarts at x_k, until B gradients are held; the round's step applies at the
  B-th arrival, the computations still in flight are discarded (cancelled) and every worker starts
  at x_{k+1}. The literal loop "while sum_i B_i <= S" holds B = S + 1 gradients. Records are per
  kept arrival (B per round, round k's at positions (k-1)B .. kB-1).
* :func:`ringmaster`: Ringmaster ASGD with threshold R. Without stops, an arrival of delay
  t - s >= R is ignored (no step; the worker restarts at the current iterate); with stops, a
  computation is cancelled (and restarted at the current iterate) as soon as its delay reaches R,
  so every arrival is applied. Applied delays are <= R - 1 in both.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from verify.models.compute import ComputeModel

__all__ = ["Schedule", "asynchronous", "ringmaster", "minibatch", "minibatch_workers", "rennala"]


@dataclass(frozen=True, eq=False)
class Schedule:
    """Per step (length T): ``time`` (arrival, seconds), ``worker``, ``task``, ``read`` (the iterate
    index s its gradient was computed at; the delay is t - s). Discarded computations: ``dropped_task``,
    ``dropped_worker``, ``dropped_time`` (when they were ignored or cancelled). ``starts``: the number of
    computations started (draws consumed)."""

    time: np.ndarray
    worker: np.ndarray
    task: np.ndarray
    read: np.ndarray
    dropped_task: np.ndarray
    dropped_worker: np.ndarray
    dropped_time: np.ndarray
    starts: int

    @property
    def delays(self) -> np.ndarray:
        return np.arange(1, self.time.size + 1, dtype=np.int64) - self.read

    def equal(self, other: "Schedule") -> bool:
        """Bit-for-bit equality of every array (times compared as float64 bits)."""
        names = ("time", "worker", "task", "read", "dropped_task", "dropped_worker", "dropped_time")
        return self.starts == other.starts and all(
            getattr(self, a).dtype == getattr(other, a).dtype and np.array_equal(
                getattr(self, a).view(np.int64) if getattr(self, a).dtype == np.float64 else getattr(self, a),
                getattr(other, a).view(np.int64) if getattr(other, a).dtype == np.float64 else getattr(other, a))
            for a in names)


def _schedule(time, worker, task, read, dropped, starts) -> Schedule:
    d = np.array(dropped, dtype=float).reshape(-1, 3)
    return Schedule(np.array(time, dtype=np.float64), np.array(worker, dtype=np.int64), np.array(task, dtype=np.int64),
                    np.array(read, dtype=np.int64), d[:, 0].astype(np.int64), d[:, 1].astype(np.int64),
                    np.ascontiguousarray(d[:, 2]), starts)


def asynchronous(cm: ComputeModel, T: int, z: np.ndarray) -> Schedule:
    """Every arrival is a step, the worker restarts at the newest iterate. ``z``: at least
    n + T - 1 draws (:meth:`ComputeModel.draws`)."""
    n = cm.n
    count = [0] * n  # computations started per worker
    heap = []
    for i in range(n):
        heap.append((0.0 + cm.duration(i, i, 0, 0.0, z), i, 1, i))  # (finish, worker, read, task)
        count[i] = 1
    heapq.heapify(heap)
    j = n
    time, worker, task, read = [], [], [], []
    for t in range(1, T + 1):
        finish, i, s, tk = heap[0]
        time.append(finish)
        worker.append(i)
        task.append(tk)
        read.append(s)
        if t < T:
            heapq.heapreplace(heap, (finish + cm.duration(i, j, count[i], finish, z), i, t + 1, j))
            count[i] += 1
            j += 1
    return _schedule(time, worker, task, read, [], j)


def ringmaster(cm: ComputeModel, T: int, z: np.ndarray, R: int, stops: bool) -> Schedule:
    """Ringmaster ASGD (see the module docstring) until T steps are applied. ``z`` must hold every
    draw consumed; IndexError if it runs out (the caller draws more and reruns)."""
    n = cm.n
    count = [0] * n
    heap = []
    for i in range(n):
        heap.append((0.0 + cm.duration(i, i, 0, 0.0, z), i, 1, i))
        count[i] = 1
    heapq.heapify(heap)
    j = n
    k = 1  # the current iterate x_k (k - 1 steps applied)
    time, worker, task, read, dropped = [], [], [], [], []
    while len(time) < T:
        finish, i, s, tk = heapq.heappop(heap)
        if k - s >= R:  # without stops: ignored on arrival
            dropped.append((tk, i, finish))
        else:
            time.append(finish)
            worker.append(i)
            task.append(tk)
            read.append(s)
            k += 1
        if len(time) < T:  # the worker that delivered restarts at the current iterate x_k
            heapq.heappush(heap, (finish + cm.duration(i, j, count[i], finish, z), i, k, j))
            count[i] += 1
            j += 1
        if stops and len(time) < T:  # cancel each computation whose delay has reached R; restart it at x_k
            stale = sorted(e for e in heap if k - e[2] >= R)
            if stale:
                heap = [e for e in heap if k - e[2] < R]
                for (_, i2, _, t2) in sorted(stale, key=lambda e: e[1]):  # in worker-index order
                    dropped.append((t2, i2, finish))
                    heap.append((finish + cm.duration(i2, j, count[i2], finish, z), i2, k, j))
                    count[i2] += 1
                    j += 1
                heapq.heapify(heap)
    return _schedule(time, worker, task, read, dropped, j)


def minibatch_workers(cm: ComputeModel, m: int | None) -> np.ndarray:
    """The m fastest workers by base time (ties by index), in index order; all n when m is None."""
    if m is None:
        return np.arange(cm.n, dtype=np.int64)
    order = sorted(range(cm.n), key=lambda i: (float(cm.base_times()[i]), i))[:m]
    return np.array(sorted(order), dtype=np.int64)


def minibatch(cm: ComputeModel, T: int, z: np.ndarray, m: int | None = None) -> Schedule:
    """Minibatch SGD's rounds (module docstring). ``worker`` is the worker that finished last
    (the lowest index among equal finishes), ``task`` the round's first task."""
    use = minibatch_workers(cm, m)
    count = [0] * cm.n
    now, j = 0.0, 0
    time, worker, task, read = [], [], [], []
    for r in range(T):
        end, last = now, -1
        for i in use:
            f = now + cm.duration(int(i), j, count[i], now, z)
            count[i] += 1
            j += 1
            if f > end or last < 0:
                end, last = f, int(i)
        time.append(end)
        worker.append(last)
        task.append(j - len(use))
        read.append(r + 1)
        now = end
    return _schedule(time, worker, task, read, [], j)


def rennala(cm: ComputeModel, rounds: int, z: np.ndarray, B: int) -> Schedule:
    """Rennala SGD's rounds (module docstring): ``rounds`` rounds of B kept arrivals each."""
    n = cm.n
    count = [0] * n
    now, j = 0.0, 0
    time, worker, task, read, dropped = [], [], [], [], []
    for k in range(1, rounds + 1):
        heap = []
        for i in range(n):
            heap.append((now + cm.duration(i, j, count[i], now, z), i, j))
            count[i] += 1
            j += 1
        heapq.heapify(heap)
        held = 0
        while True:
            f, i, tk = heapq.heappop(heap)
            time.append(f)
            worker.append(i)
            task.append(tk)
            read.append(k)
            held += 1
            if held == B:
                break
            heapq.heappush(heap, (f + cm.duration(i, j, count[i], f, z), i, j))
            count[i] += 1
            j += 1
        for (_, i2, t2) in sorted(heap, key=lambda e: e[1]):  # cancelled, in worker-index order
            dropped.append((t2, i2, f))
        now = f
    return _schedule(time, worker, task, read, dropped, j)

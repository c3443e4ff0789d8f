"""Events per second of the compiled event simulation against a plain ``heapq`` loop.

The plain loop is what the authors' simulators do (github.com/vectozavr/ringmaster-lmo: a
discrete-event heap of (finish time, worker), one pop and one push per arrival): written here,
it keeps the same records as the compiled path (arrival time, worker, task, iterate read) in
preallocated numpy arrays and reads the same precomputed draws, so both do the same work.

Cases: the asynchronous policy and Ringmaster with stops (R = n/2, which cancels and restarts
computations), under ``random:n=N,law=sqrt,eta=exponential`` (tau_i = sqrt(i) + Exp(1)), for
n = 10, 1e3, 1e5 workers. Each timed case: warm-up (the compile), then the best of ``--reps``.
Target: compiled >= 20x the heapq loop. A spot check asserts both give the same schedule.

    python benchmarks/bench_events.py [--events 1e7] [--heapq-events 2e6] [--reps 3]

The heapq loop's cost per event is flat in the number of events (a heap of n entries), so it is
timed on ``--heapq-events`` (default 2e6) and reported per event; the compiled path on ``--events``.
"""
from __future__ import annotations

import argparse
import heapq
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from verify.engine import events  # noqa: E402
from verify.models import compute  # noqa: E402


def heapq_async(shift: np.ndarray, scale: np.ndarray, z: np.ndarray, T: int):
    """The plain loop: every arrival is a step; the worker restarts at the newest iterate."""
    n = shift.size
    sh, sc, zz = shift.tolist(), scale.tolist(), z  # python floats for the arithmetic
    heap = [(0.0 + (sh[i] + sc[i] * zz[i]), i, 1, i) for i in range(n)]
    heapq.heapify(heap)
    tm = np.empty(T)
    wk = np.empty(T, np.int64)
    tk = np.empty(T, np.int64)
    rd = np.empty(T, np.int64)
    j = n
    for t in range(T):
        f, i, s, k = heap[0]
        tm[t] = f
        wk[t] = i
        tk[t] = k
        rd[t] = s
        heapq.heapreplace(heap, (f + (sh[i] + sc[i] * zz[j]), i, t + 2, j))
        j += 1
    return tm, wk, tk, rd


def heapq_ringmaster_stops(shift: np.ndarray, scale: np.ndarray, z: np.ndarray, T: int, R: int):
    """The plain loop of Ringmaster ASGD with stops: after each step, the computations whose delay
    reached R are cancelled and restarted (a per-worker record of the iterate read; lazy deletion of
    cancelled heap entries by a version number, as a user would write it)."""
    n = shift.size
    sh, sc, zz = shift.tolist(), scale.tolist(), z
    read = [1] * n
    ver = [0] * n
    heap = [(0.0 + (sh[i] + sc[i] * zz[i]), i, 0) for i in range(n)]
    heapq.heapify(heap)
    order: list[int] = list(range(n))  # (re)start order: the stale ones are a prefix
    head = 0
    alive = [True] * n  # is order's entry still current, per (position)
    pos_of = list(range(n))
    tm = np.empty(T)
    j = n
    k = 1
    t = 0
    while t < T:
        f, i, v = heapq.heappop(heap)
        if v != ver[i]:
            continue
        tm[t] = f
        t += 1
        k += 1
        alive[pos_of[i]] = False
        read[i] = k
        heapq.heappush(heap, (f + (sh[i] + sc[i] * zz[j]), i, ver[i]))
        j += 1
        order.append(i)
        alive.append(True)
        pos_of[i] = len(order) - 1
        stale = []
        while head < len(order) and (not alive[head] or k - read[order[head]] >= R):
            if alive[head]:
                stale.append(order[head])
            head += 1
        for w in sorted(stale):
            ver[w] += 1
            read[w] = k
            heapq.heappush(heap, (f + (sh[w] + sc[w] * zz[j]), w, ver[w]))
            j += 1
            order.append(w)
            alive.append(True)
            pos_of[w] = len(order) - 1
    return tm, j


def best(fn, reps: int) -> float:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=float, default=1e7)
    ap.add_argument("--heapq-events", type=float, default=2e6)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", default="10,1000,100000")
    a = ap.parse_args()
    T, Th = int(a.events), int(a.heapq_events)
    print(f"bench_events: compiled event simulation vs a plain heapq loop; {T:.0e} events compiled, "
          f"{Th:.0e} heapq; best of {a.reps}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'policy':<18}{'n':>8}{'compiled ev/s':>16}{'heapq ev/s':>14}{'ratio':>9}")
    ok = True
    for n in (int(x) for x in a.workers.split(",")):
        cm = compute.make(f"random:n={n},law=sqrt,eta=exponential")
        rng = np.random.default_rng(0)
        z = cm.draws(rng, n + 3 * T)
        # spot check: the same schedule (first 1e5 events)
        small = min(T, 100_000)
        s = events.run_policy(cm, small, z, "async")
        tm, wk, tk, rd = heapq_async(cm.shift, cm.scale, z, small)
        assert np.array_equal(tm, s.time) and np.array_equal(wk, s.worker) and np.array_equal(rd, s.read)
        R = max(1, n // 2)
        s2 = events.run_policy(cm, small, z, "ringmaster-stops", R)
        tm2, _ = heapq_ringmaster_stops(cm.shift, cm.scale, z, small, R)
        assert np.array_equal(tm2, s2.time)
        for policy in ("async", "ringmaster-stops"):
            comp = best(lambda: events.run_policy(cm, T, z, policy, R), a.reps) / T
            if policy == "async":
                plain = best(lambda: heapq_async(cm.shift, cm.scale, z, Th), a.reps) / Th
            else:
                plain = best(lambda: heapq_ringmaster_stops(cm.shift, cm.scale, z, Th, R), a.reps) / Th
            ratio = plain / comp
            ok &= ratio >= 20
            print(f"{policy:<18}{n:>8}{1 / comp:>16.3g}{1 / plain:>14.3g}{ratio:>8.1f}x", flush=True)
    print("target: compiled >= 20x heapq:", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

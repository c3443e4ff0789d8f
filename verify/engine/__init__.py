"""The engine: many runs (lanes = seeds x algorithms x delay sequences) through the compiled kernel.

``run_batch(problem, delays, algorithms, seeds)`` runs one lane per seed; lane l uses
``algorithms[l]`` (or the single algorithm) and ``delays[l]`` (a sequence per lane is the normal
case; one sequence shared by every lane is the special case of a single one). Each lane is one call
of :func:`verify.engine.kernel.run_lane`, a plain compiled loop; lanes run in a thread pool over
the machine's cores (the kernel releases the GIL). Every lane's record equals
:func:`verify.algorithms.reference_run`'s for that lane, bit for bit (same compiled functions, same
order; tested on random configurations).

Memory per running lane: O(d x live iterates) for the iterates a later step still reads (their
slots), one int32 per step for the slot plan, and what the caller asked to record (a rejection
bitset of T/8 bytes, the trace). Task-keyed noise (a sequence with tasks) adds nothing that grows
with T beyond the tasks the sequence already holds: each row is drawn in the kernel when its step
runs. Lanes waiting for a thread hold nothing but their inputs.

Compilation: the first call in a fresh environment compiles the kernel (a few seconds); the code is
cached on disk (:mod:`verify._jit`), so later processes start in well under a second.
"""
from __future__ import annotations

import copy
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np

import theory
from theory.validation import check_int

from ..algorithms import Algorithm, DivergenceGuard, delay_stats
from ..algorithms.reference import DIVERGENCE_REASONS, check_trace_every
from verify.models.delays import DelaySequence, from_trace
from verify.io.progress import Progress
from ..params import MAX_SEED, MAX_STEPS
from verify.io.records import RunResult
from . import kernel as K

__all__ = ["run_batch", "live_slots", "Interrupted", "max_workers"]


def max_workers() -> int:
    """Threads used for lanes: ``$PICKY_THREADS`` if set, else the number of cores."""
    env = os.environ.get("PICKY_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"PICKY_THREADS must be a positive integer; got {env!r}")
        return n
    return os.cpu_count() or 1


class Interrupted(KeyboardInterrupt):
    """Raised by :func:`run_batch` on Ctrl-C after every lane has stopped; ``done`` = lane-steps
    completed, ``total`` = lane-steps requested."""

    def __init__(self, done: int, total: int):
        super().__init__(f"interrupted after {done} of {total} lane-steps")
        self.done, self.total = done, total


def live_slots(delays: Any) -> int:
    """The number of iterate slots the kernel keeps for this delay sequence: the largest number of
    iterates that are live at once (created, and read again by a later step)."""
    d = _as_delays(delays)
    plan = np.empty(d.size, np.int32)
    return int(K.plan_slots(d, d.size, plan))


def _as_delays(delays: Any) -> np.ndarray:
    seq = delays if isinstance(delays, DelaySequence) else from_trace(delays)
    return np.ascontiguousarray(seq.delays, dtype=np.int64)


def _as_list(x: Any, L: int, name: str) -> list:
    if isinstance(x, (list, tuple)):
        if len(x) != L:
            raise ValueError(f"{name} has {len(x)} entries but there are {L} lanes (one per seed)")
        return list(x)
    return [x] * L


def _seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a sequence of integers >= 0 (one per lane); got {seeds!r}")
    out = [check_int(f"seeds[{i}]", s, 0, MAX_SEED) for i, s in enumerate(seeds)]
    if not out:
        raise ValueError("seeds must not be empty (one seed per lane)")
    return out


def run_batch(
    problem: Any,
    delays: DelaySequence | np.ndarray | Sequence[DelaySequence],
    algorithms: Algorithm | Sequence[Algorithm],
    seeds: Sequence[int],
    *,
    T: int | None = None,
    noise: Any = None,
    trace_every: int | None = None,
    stop_at_hit: bool = False,
    measure_f: bool = False,
    record_rejections: bool = True,
    guard: DivergenceGuard = DivergenceGuard(),
    progress: bool | None = False,
    threads: int | None = None,
) -> list[RunResult]:
    """Run ``len(seeds)`` lanes; lane l uses ``algorithms[l]`` (or the single algorithm), ``seeds[l]``
    and ``delays[l]`` (or the single sequence). Returns one :class:`RunResult` per lane, equal to
    :func:`verify.algorithms.reference_run`'s (``engine = "numba"``).

    ``T``: horizon (default: the shortest sequence's length; every sequence must be at least this
    long). ``record_rejections``: keep the rejected steps (a bitset while running). ``threads``:
    lanes run in parallel (default :func:`max_workers`). Ctrl-C stops every lane within
    ``kernel.PROGRESS_EVERY`` steps and raises :class:`Interrupted`.
    """
    from verify.models.noise import make_noise

    noise = make_noise("gaussian") if noise is None else noise
    seeds = _seeds(seeds)
    L = len(seeds)
    algs: list[Algorithm] = _as_list(algorithms, L, "algorithms")
    for a in algs:
        if not isinstance(a, Algorithm):
            raise ValueError(f"algorithms must be verify.algorithms objects (from algorithms.resolve); got {type(a).__name__}")
    if isinstance(delays, (list, tuple)) and delays and all(isinstance(s, DelaySequence) for s in delays):
        seqs = _as_list(list(delays), L, "delays")
    else:
        seq = delays if isinstance(delays, DelaySequence) else from_trace(delays)
        seqs = [seq] * L
    lengths = sorted({len(s) for s in seqs})
    if T is None:
        if len(lengths) > 1:
            raise ValueError(f"the delay sequences have different lengths {lengths}; pass T (at most {lengths[0]})")
        T = lengths[0]
    T = check_int("T", T, 1, MAX_STEPS)
    if T > lengths[0]:
        raise ValueError(f"T = {T} exceeds a delay sequence's length {lengths[0]}")
    te = check_trace_every(trace_every) or 0
    d = problem.dim
    x1 = np.ascontiguousarray(problem.x1, dtype=np.float64)
    radius = guard.radius_for(x1)
    pcode, pvec = problem.kernel
    ncode, nvec = noise.kernel(d)
    n_tr = (T + te - 1) // te if te else 0
    arrays = {id(s): np.ascontiguousarray(s.delays[:T], dtype=np.int64) for s in seqs}
    empty_bits = np.zeros(0, np.uint8)
    no_tasks = _readonly(np.zeros(0, np.int64))  # read-only like the sequences' arrays: one compiled signature
    progress_arr = np.zeros(L, np.int64)
    cancel = np.zeros(1, np.uint8)
    outs: list[tuple | None] = [None] * L
    # built-in rules only: the disk-cached kernel; a user rule: the kernel recompiled with a dispatch over
    # the built-ins and the user rules (verify.algorithms.user.kernel, cached in memory)
    from ..algorithms.user import is_user, kernel as user_kernel

    lane_kernel = user_kernel() if any(is_user(a) for a in algs) else K.run_lane

    def one(lane: int) -> None:
        a = algs[lane]
        x_out = np.empty(d)
        bits = np.zeros((T + 7) // 8, np.uint8) if record_rejections else empty_bits
        tr_g = np.full(n_tr, np.nan)
        tr_f = np.full(n_tr, np.nan)
        rng = np.random.default_rng(seeds[lane])
        tasks = seqs[lane].tasks  # task-keyed noise, drawn in the kernel at each step (O(d), not O(T d))
        keys = _readonly(tasks[:T]) if tasks is not None and a.sigma != 0.0 else no_tasks
        res = lane_kernel(a.code, a.vector, a.uses_delays, pcode, pvec, ncode, nvec, rng, a.sigma, keys, seeds[lane],
                          x1, arrays[id(seqs[lane])], T, a.eps, radius, stop_at_hit, measure_f, te,
                          x_out, bits, tr_g, tr_f, progress_arr, cancel, lane)
        outs[lane] = (res, x_out, bits, tr_g, tr_f)

    n_threads = min(L, threads or max_workers())
    bar = Progress(L * T, f"engine {L} lanes x {T} steps", enabled=progress)
    try:
        if n_threads <= 1:
            for lane in range(L):
                one(lane)
                bar.update(int(progress_arr.sum()))
        else:
            with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="picky-lanes") as pool:
                futures = [pool.submit(one, lane) for lane in range(L)]
                try:
                    while not all(f.done() for f in futures):
                        _wait_any(futures, 0.25)
                        bar.update(int(progress_arr.sum()))
                    for f in futures:
                        f.result()
                except BaseException:
                    cancel[0] = 1  # lanes stop at their next progress check; queued ones stop at once
                    for f in futures:
                        f.cancel()
                    raise
    except KeyboardInterrupt:
        cancel[0] = 1
        bar.abort()
        raise Interrupted(int(progress_arr.sum()), L * T) from None
    if any(o is not None and o[0][0] == K.STATUS_CANCELLED for o in outs):  # pragma: no cover - via Ctrl-C
        bar.abort()
        raise Interrupted(int(progress_arr.sum()), L * T)
    bar.close()
    stats: dict[tuple, dict] = {}  # delay statistics once per (sequence, steps run, delays used)
    return [_record(problem, noise, algs[i], seqs[i], arrays[id(seqs[i])], seeds[i], T, te, measure_f, radius, outs[i],
                    stats) for i in range(L)]


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous int64 view (or copy) of ``a``."""
    v = np.ascontiguousarray(a, dtype=np.int64).view()
    v.flags.writeable = False
    return v


def _wait_any(futures, timeout: float) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    wait([f for f in futures if not f.done()], timeout=timeout, return_when=FIRST_COMPLETED)


def _finite_or_nan(v: float) -> float:
    return v if math.isfinite(v) else math.nan


def _record(problem, noise, alg, seq, darr, seed, T, te, measure_f, radius, out, stats) -> RunResult:
    (status, steps_run, first_hit, gmin, gmin_step, fmin, accepted, max_dist, max_gap, div_step, div_code,
     n_slots, min_rej), x_out, bits, tr_g, tr_f = out
    sr = int(steps_run)
    with np.errstate(all="ignore"):
        fg = _finite_or_nan(_norm(problem.grad(x_out)))
        ff = _finite_or_nan(float(problem.f(x_out)))
    key = (id(darr), sr, alg.uses_delays)
    if key not in stats:
        stats[key] = delay_stats(darr[:sr] if alg.uses_delays else np.zeros(sr, np.int64))
    rs = None
    if bits.size:
        rs = np.flatnonzero(np.unpackbits(bits, bitorder="little")[:sr]).astype(np.int64) + 1
    tr_steps = seen = None
    if te:  # the kernel writes the trace only at measured steps, where ||grad f|| is finite
        tr_steps = np.arange(tr_g.size, dtype=np.int64) * te + 1
        seen = ~np.isnan(tr_g)
    return RunResult(
        algorithm=alg.name,
        config=alg.as_dict(),
        problem=problem.describe(),
        noise=noise.describe(),
        seed=seed,
        T=T,
        steps_run=sr,
        first_hit=int(first_hit) if first_hit else None,
        min_grad_norm=float(gmin),
        min_grad_norm_step=int(gmin_step),
        min_f=float(fmin) if measure_f else None,
        final_grad_norm=fg,
        final_f=ff,
        accepted=int(accepted),
        rejected=sr - int(accepted),
        rejected_steps=rs,
        max_accepted_distance=float(max_dist),
        max_accepted_grad_gap=float(max_gap),
        min_rejected_distance=float(min_rej) if math.isfinite(min_rej) else None,
        diverged=bool(div_code),
        diverged_step=int(div_step) if div_code else None,
        divergence_reason=DIVERGENCE_REASONS[int(div_code)].format(radius=radius) if div_code else None,
        trace_every=te or None,
        trace_steps=tr_steps[seen] if te else None,
        trace_grad_norm=tr_g[seen].copy() if te else None,
        trace_f=tr_f[seen].copy() if te else None,
        delays=seq,
        delay_stats=copy.deepcopy(stats[key]),
        adaptive=False,
        engine="numba",
        version=theory.__version__,
        extra={"slots": int(n_slots)},
    )


def _norm(v: np.ndarray) -> float:
    from .._jit import norm

    return norm(np.ascontiguousarray(v, dtype=np.float64))

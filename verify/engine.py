"""The fast engine: many runs (lanes = seeds x configurations) advanced together with numpy.

It runs exactly the algorithms of :mod:`verify.algorithms` (same model, same noise convention,
same accept rules and update x_{t+1} = x_t - eta_t (grad f(x_{t-d_t}) + sigma z_t)), and reproduces
:func:`verify.algorithms.reference_run` lane by lane (tested to 1e-12; bit-for-bit in practice: every
value is computed by the reference's own numpy operations, in its order -- only a BLAS product, as in
the rotated quadratic, may round differently on a batch than on one vector).

Memory is O(lanes x d x live iterates), never O(T x d): only iterates that a later step still reads
are kept.

- One delay sequence shared by all lanes: each iterate that some later step reads (with d > 0) gets
  a slot from a free list when it is created and gives it back after its last read; the number of
  slots is the maximal number of simultaneously live iterates (for a single straggler: 1). The stale
  iterate of a step is then a contiguous (lanes, d) view, no gather. Its gradient is kept in a twin
  slot (computed once, when the iterate was current), so a stale step computes no gradient.
- Lanes with a few distinct sequences (e.g. ``sgd`` lanes, which see d_t = 0, mixed with delayed
  ones), or whose ring (below) would exceed 256 MiB: one batch per distinct sequence, each with its
  own slot plan.
- Many different sequences per lane: a ring buffer sized by the largest delay actually present,
  max d_t + 1; the stale gradient is recomputed.

Noise: lane l draws ``noise.sample(rng_l, block, d)`` from its own generator, block by block; the
rows are the z_t of consecutive steps, exactly the reference's draws.

How it is made fast (numbers: ``python benchmarks/bench_engine.py``)
--------------------------------------------------------------------
Lanes never interact, so everything below re-schedules the reference's floating-point operations
without changing any of them.

1. **Only the recursion runs step by step.** x_{t+1} needs grad f(y_t) and, for Picky, the test
   ||x_t - y_t|| <= rho; nothing else feeds back. The reference's per-step bookkeeping (divergence,
   first hit, minima of ||grad f|| and f, trace, counts, max distance / gradient gap) is done every
   ``_BOOK_STEPS`` steps with a few calls on (steps, lanes) arrays of per-step measurements. A lane
   that diverged (or hit, with ``stop_at_hit``) inside the block stops there: its statistics end at
   that step, and its iterate of that step was saved when it was measured. (It computes garbage
   until the block ends -- nothing reads it -- and is then parked at x_1.)
2. **Measurements batched at small d, in cache at large d.** ||grad f(x_t)||, f(x_t), ... are taken
   every BH steps on (BH, lanes, d) arrays, BH * lanes * d <= ``_MEASURE_ELEMS``: at small d that
   divides the number of numpy calls by BH; at large d BH = 1 and x_t is measured while in cache.
3. **||x_t - x_1|| by a bound.** It only decides "> radius?". A running upper bound from quantities
   measured anyway (step sizes, ||grad f(x_t)||, the gradient gap, the noise model's bound)
   decides it almost always; the exact norm is computed only where the bound is inconclusive.
4. **No copies at large d ("direct" mode, BH = 1, shared sequence):** an iterate that a later step
   reads is written straight into its slot, its gradient straight into the twin slot. Norms of
   differences and the update go through a cache-sized scratch: x_t - y_t and the increment are
   never stored in full.
5. **Two cores.** Large (lanes x d) are cut into lane groups run in two threads (numpy releases the
   GIL in its loops); a single group (small d) has its noise drawn by a worker thread instead, one
   block ahead. Each generator is used by one thread at a time, in block order: the same draws.
6. **Lean steps.** Preallocated buffers, ``out=`` everywhere, one scalar product when all lanes
   share eta (rejected lanes then keep x_t by a row copy), d_t = 0 steps reuse grad f(x_t), per-step
   integers (delays, slots) as Python lists.

Memory: 2 x slots (iterates and their gradients) or the ring of iterates, a few (lanes, d) arrays,
(BH, lanes, d) measuring blocks (BH * lanes * d <= ``_MEASURE_ELEMS``), (steps, lanes) scalars, and
the noise block (lanes * block * d <= ``_NOISE_ELEMS``, twice with the noise thread) -- O(lanes x d x
live iterates).
"""
from __future__ import annotations

import copy
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import theory

from .algorithms import Config, DivergenceGuard, _stats
from .delays import DelaySequence, from_trace
from .progress import Progress
from .records import RunResult

__all__ = ["run_batch", "slot_plan"]

# ---- tuning (sizes in float64 elements; see the module docstring). Chosen by measurement on a
# 2-core machine (benchmarks/bench_engine.py); results do not depend on them (a test may shrink them
# to run every code path -- direct mode, lane threads, noise thread -- on small problems). ---------
_GROUP_ELEMS = 1 << 17  # lane groups: lanes * d <= this (1 MiB per (lanes, d) array)
_PARALLEL_ELEMS = 1 << 17  # lanes * d >= this (and >= 2 cores): at least 2 groups, in 2 threads
_MAX_WORKERS = 2  # lane groups run in this many threads at most (and at most os.cpu_count())
_BOOK_STEPS = 64  # bookkeeping block (steps)
_MAX_SEQUENCE_GROUPS = 4  # lanes with <= this many distinct delay sequences run as one batch per sequence
_RING_BYTES = 1 << 28  # ... and so do more sequences when a ring of max_t d_t + 1 iterates would exceed 256 MiB
_MEASURE_ELEMS = 1 << 15  # norms and f are taken every BH steps, BH * lanes * d <= this
_SQUARES_ELEMS = 1 << 15  # chunks of the norms and updates (256 KiB), single-threaded
_SQUARES_ELEMS_MT = 1 << 17  # ... with groups in threads: longer numpy calls, fewer GIL hand-overs
_NOISE_ELEMS = 1 << 20  # noise block: lanes * block * d <= this (8 MiB)
_NOISE_MAX = 1024  # ... and block <= this
_THREAD_MIN = 1 << 18  # one group at a time: draw noise in a worker thread when noisy lanes * T * d >= this


def _sequence_groups(eff: list[np.ndarray]) -> list[list[int]]:
    """Lanes grouped by equal effective delay sequence (in order of first appearance)."""
    groups: dict[bytes, list[int]] = {}
    for i, e in enumerate(eff):
        groups.setdefault(np.ascontiguousarray(e).tobytes(), []).append(i)
    return list(groups.values())


def slot_plan(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Slots for a shared delay sequence (0-based step i reads iterate i - d[i]).

    Returns (store_slot, read_slot, n_slots): at the start of step i, iterate i (the current x) is
    stored in ``store_slot[i]`` if >= 0; step i reads its stale iterate from ``read_slot[i]``
    (-1: d[i] = 0, read the current x). A slot is reused only after the last read of its iterate.
    """
    T = d.shape[0]
    idx = np.arange(T)
    src = idx - d
    reads = d > 0
    last = np.full(T, -1, dtype=np.int64)
    np.maximum.at(last, src[reads], idx[reads])
    store = np.full(T, -1, dtype=np.int64)
    release: dict[int, list[int]] = {}
    free: list[int] = []
    n = 0
    needs = np.flatnonzero(last > idx)  # iterates read by a strictly later step
    for i in needs.tolist():
        # give back the slots of iterates whose last read happened before step i
        for j in [k for k in release if k < i]:
            free.extend(release.pop(j))
        if free:
            s = free.pop()
        else:
            s = n
            n += 1
        store[i] = s
        release.setdefault(int(last[i]), []).append(s)
    read = np.where(reads, store[src], -1)
    return store, read, n


def _as_list(x: Any, L: int, name: str) -> list:
    if isinstance(x, (list, tuple)):
        if len(x) != L:
            raise ValueError(f"{name} has {len(x)} entries but there are {L} lanes")
        return list(x)
    return [x] * L


@dataclass
class _Setup:
    """What all lane groups share: the problem, the delays and the per-lane parameters (arrays over
    all lanes; a group works on a slice of them)."""

    problem: Any
    noise: Any
    T: int
    d: int
    x1: np.ndarray
    radius: float
    trace_every: int | None
    stop_at_hit: bool
    block: int | None
    # delays: shared sequence (D0, store, read: Python lists) or per-lane (Dlane: (T, L))
    shared: bool
    D0: list | None
    D0arr: np.ndarray | None
    store: list | None
    read: list | None
    n_slots: int
    Dlane: np.ndarray | None
    # per-lane parameters
    eta: np.ndarray
    sigma: np.ndarray
    eps: np.ndarray
    rho: np.ndarray
    Rlim: np.ndarray
    adaptive: np.ndarray
    tauC: np.ndarray
    ksj: np.ndarray
    beta: np.ndarray
    rngs: list
    any_picky: bool
    any_drop: bool
    any_adapt: bool
    cancel: bool = False  # set when one lane group failed (or Ctrl-C): the others stop early


class _Out:
    """The per-lane statistics, filled group by group (each group writes its slice)."""

    def __init__(self, L: int, T: int, d: int, trace_every: int | None, record_rejections: bool):
        self.first_hit = np.full(L, -1, dtype=np.int64)
        self.gmin = np.full(L, np.inf)
        self.gmin_step = np.zeros(L, dtype=np.int64)
        self.fmin = np.full(L, np.inf)
        self.steps_run = np.zeros(L, dtype=np.int64)
        self.seen = np.zeros(L, dtype=np.int64)  # last step t whose iterate x_t was observed
        self.acc_n = np.zeros(L, dtype=np.int64)
        self.max_dist = np.zeros(L)
        self.max_gap = np.zeros(L)
        self.div_step = np.full(L, -1, dtype=np.int64)
        self.div_reason: list[str | None] = [None] * L
        self.rej = np.zeros((T, L), dtype=bool) if record_rejections else None
        n_tr = (T + trace_every - 1) // trace_every if trace_every else 0
        self.tr_g = np.full((n_tr, L), np.nan) if trace_every else None
        self.tr_f = np.full((n_tr, L), np.nan) if trace_every else None
        self.X = np.empty((L, d))  # the last iterate x_{steps_run + 1} of each lane


def run_batch(
    problem: Any,
    delays: DelaySequence | np.ndarray | Sequence[DelaySequence],
    configs: Config | Sequence[Config],
    seeds: Sequence[int],
    *,
    T: int | None = None,
    noise: Any = None,
    trace_every: int | None = None,
    stop_at_hit: bool = False,
    record_rejections: bool = True,
    guard: DivergenceGuard = DivergenceGuard(),
    block: int | None = None,
    progress: bool | None = False,
) -> list[RunResult]:
    """Run len(seeds) lanes; lane l uses configs[l] (or the single config) and seeds[l].

    ``delays``: one sequence for all lanes, or one per lane. Returns one RunResult per lane, equal
    to what :func:`verify.algorithms.reference_run` returns for that lane (engine = "numpy").
    ``block``: noise is drawn in blocks of this many steps (default: sized to the lanes and d).
    """
    from .problems import make_noise

    noise = make_noise("gaussian") if noise is None else noise
    seeds = [int(s) for s in seeds]
    L = len(seeds)
    if L == 0:
        raise ValueError("seeds must not be empty (one seed per lane)")
    cfgs: list[Config] = _as_list(configs, L, "configs")
    if isinstance(delays, (list, tuple)) and delays and isinstance(delays[0], DelaySequence):
        seqs = _as_list(list(delays), L, "delays")
    else:
        seq = delays if isinstance(delays, DelaySequence) else from_trace(delays)
        seqs = [seq] * L
    T = min(len(s) for s in seqs) if T is None else int(T)
    for s in seqs:
        if len(s) < T:
            raise ValueError(f"T = {T} exceeds a delay sequence's length {len(s)}")
    if T < 1:
        raise ValueError(f"T must be a positive integer; got {T}")
    if block is not None and int(block) < 1:
        raise ValueError(f"block must be a positive integer; got {block}")
    d = problem.dim
    x1 = np.asarray(problem.x1, dtype=float)

    # ---- delays: a slot plan for a shared sequence, else a ring buffer per group -------------
    alg = [c.algorithm for c in cfgs]
    eff = [np.zeros(T, dtype=np.int64) if a == "sgd" else s.delays[:T] for a, s in zip(alg, seqs)]
    shared = all(e is eff[0] or np.array_equal(e, eff[0]) for e in eff)
    if not shared:
        groups = _sequence_groups(eff)
        ring_bytes = (max(int(e.max(initial=0)) for e in eff) + 1) * L * d * 8
        if len(groups) <= _MAX_SEQUENCE_GROUPS or ring_bytes > _RING_BYTES:
            # one batch per distinct sequence, each with its own slot plan: memory stays
            # O(lanes x d x live iterates) even when a ring would need max_t d_t + 1 iterates
            out: list[RunResult | None] = [None] * L
            for lanes in groups:
                sub = run_batch(
                    problem, [seqs[i] for i in lanes], [cfgs[i] for i in lanes], [seeds[i] for i in lanes],
                    T=T, noise=noise, trace_every=trace_every, stop_at_hit=stop_at_hit,
                    record_rejections=record_rejections, guard=guard, block=block, progress=progress,
                )
                for i, r in zip(lanes, sub):
                    out[i] = r
            return out  # type: ignore[return-value]
    if shared:
        store_slot, read_slot, n_slots = slot_plan(eff[0])
        D0, store, read, Dlane = eff[0].tolist(), store_slot.tolist(), read_slot.tolist(), None
    else:
        D0 = store = read = None
        n_slots = 0
        Dlane = np.stack(eff, axis=1)  # (T, L)

    # ---- per-lane parameters -------------------------------------------------------------
    rho = np.array([c.rho if a == "picky" else np.inf for c, a in zip(cfgs, alg)])
    Rlim = np.array([c.R if a == "stale-drop" else np.iinfo(np.int64).max for c, a in zip(cfgs, alg)], dtype=np.int64)
    adaptive = np.array([a == "delay-adaptive" for a in alg])
    S = _Setup(
        problem=problem, noise=noise, T=T, d=d, x1=x1, radius=guard.radius_for(x1),
        trace_every=trace_every, stop_at_hit=stop_at_hit, block=None if block is None else int(block),
        shared=shared, D0=D0, D0arr=eff[0] if shared else None, store=store, read=read, n_slots=n_slots, Dlane=Dlane,
        eta=np.array([c.eta for c in cfgs]), sigma=np.array([c.sigma for c in cfgs]),
        eps=np.array([c.eps for c in cfgs]), rho=rho, Rlim=Rlim, adaptive=adaptive,
        tauC=np.array([c.tau_C if a == "delay-adaptive" else np.inf for c, a in zip(cfgs, alg)]),
        ksj=np.array([c.rule == "ksj" for c in cfgs]), beta=np.array([c.beta for c in cfgs]),
        rngs=[np.random.default_rng(s) for s in seeds],
        any_picky=bool(np.isfinite(rho).any()), any_drop=bool((Rlim < np.iinfo(np.int64).max).any()),
        any_adapt=bool(adaptive.any()),
    )
    R = _Out(L, T, d, trace_every, record_rejections)

    # ---- run the lane groups: in two threads when the arrays are large enough for numpy's loops
    # (which release the GIL) to dominate; else one after the other, with the noise of a group
    # drawn by a worker thread -------------------------------------------------------------------
    cores = os.cpu_count() or 1
    n_groups = -(-L * d // _GROUP_ELEMS)
    if cores > 1 and L > 1 and L * d >= _PARALLEL_ELEMS:
        n_groups = max(n_groups, 2)
    per = -(-L // n_groups)  # equal-sized groups
    slices = [slice(a, min(L, a + per)) for a in range(0, L, per)]
    bar = Progress(T * len(slices), f"engine {L} lanes", enabled=progress)
    done = [0] * len(slices)

    def ticker(g: int):
        def tick(t: int) -> None:
            done[g] = t
            bar.update(sum(done))
        return tick

    workers = min(len(slices), _MAX_WORKERS, cores)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="picky-lanes") as pool:
            futures = [pool.submit(_run_group, S, sl, R, None, ticker(g), True) for g, sl in enumerate(slices)]
            try:
                for f in futures:
                    f.result()
            except BaseException:  # an error, or Ctrl-C: stop the other groups at their next block
                S.cancel = True
                raise
    else:
        noisy_work = sum(1 for c in cfgs if c.sigma != 0.0) * T * d
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="picky-noise") if noisy_work >= _THREAD_MIN and cores > 1 else None
        try:
            for g, sl in enumerate(slices):
                _run_group(S, sl, R, pool, ticker(g), False)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
    bar.close()

    # ---- records -------------------------------------------------------------------------
    with np.errstate(all="ignore"):
        GX = problem.grad(R.X)
        final_g = np.sqrt(np.sum(GX * GX, axis=1))
        final_f = np.asarray(problem.f(R.X), dtype=float)
    tr_steps = np.arange(len(R.tr_g), dtype=np.int64) * trace_every + 1 if trace_every else None
    stats_cache: dict[tuple, dict] = {}  # delay statistics are the same for lanes with the same delays
    out = []
    for lane in range(L):
        sr = int(R.steps_run[lane])
        key = (sr,) if shared else (id(seqs[lane]), alg[lane] == "sgd", sr)
        if key not in stats_cache:
            stats_cache[key] = _stats(np.asarray(eff[lane][:sr], dtype=np.int64))
        diverged = R.div_step[lane] >= 0
        rs = np.flatnonzero(R.rej[:sr, lane]) + 1 if R.rej is not None else None
        fg = float(final_g[lane]) if math.isfinite(final_g[lane]) else math.nan
        ff = float(final_f[lane]) if math.isfinite(final_f[lane]) else math.nan
        seen = tr_steps <= R.seen[lane] if trace_every else None
        out.append(
            RunResult(
                algorithm=alg[lane],
                config=cfgs[lane].as_dict(),
                problem=problem.describe(),
                noise=noise.describe(),
                seed=seeds[lane],
                T=T,
                steps_run=sr,
                first_hit=int(R.first_hit[lane]) if R.first_hit[lane] > 0 else None,
                min_grad_norm=float(R.gmin[lane]),
                min_grad_norm_step=int(R.gmin_step[lane]),
                min_f=float(R.fmin[lane]),
                final_grad_norm=fg,
                final_f=ff,
                accepted=int(R.acc_n[lane]),
                rejected=sr - int(R.acc_n[lane]),
                rejected_steps=rs.astype(np.int64) if rs is not None else None,
                max_accepted_distance=float(R.max_dist[lane]),
                max_accepted_grad_gap=float(R.max_gap[lane]),
                diverged=bool(diverged),
                diverged_step=int(R.div_step[lane]) if diverged else None,
                divergence_reason=R.div_reason[lane],
                trace_every=trace_every,
                trace_steps=tr_steps[seen] if trace_every else None,
                trace_grad_norm=R.tr_g[seen, lane].copy() if trace_every else None,
                trace_f=R.tr_f[seen, lane].copy() if trace_every else None,
                delays=seqs[lane],
                delay_stats=copy.deepcopy(stats_cache[key]),
                adaptive=False,
                engine="numpy",
                version=theory.__version__,
            )
        )
    return out


def _norm_rows(V: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """out = ||V||_2 along the last axis by the reference's own operations, ``sqrt(add.reduce(v * v))``
    (same order, so the same bits). The squares go to ``scratch`` (a flat buffer) in chunks of rows
    that fit in it, so a large V is read once from memory and the squares stay in cache."""
    d = V.shape[-1]
    V2, o2 = V.reshape(-1, d), out.reshape(-1)
    rows = V2.shape[0]
    step = max(1, scratch.size // d)
    for a in range(0, rows, step):
        b = min(rows, a + step)
        sq = scratch[: (b - a) * d].reshape(b - a, d)
        np.multiply(V2[a:b], V2[a:b], out=sq)
        np.add.reduce(sq, axis=-1, out=o2[a:b])
    return np.sqrt(out, out=out)


def _diff_norm_rows(A: np.ndarray, B: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """out = ||A - B||_2 along the last axis (the reference's ``sqrt(add.reduce((a - b) * (a - b)))``),
    chunk by chunk in ``scratch``: A - B is never written out in full."""
    d = A.shape[-1]
    step = max(1, scratch.size // d)
    for a in range(0, A.shape[0], step):
        b = min(A.shape[0], a + step)
        sq = scratch[: (b - a) * d].reshape(b - a, d)
        np.subtract(A[a:b], B[a:b], out=sq)
        np.multiply(sq, sq, out=sq)
        np.add.reduce(sq, axis=-1, out=out[a:b])
    return np.sqrt(out, out=out)


def _update_rows(X: np.ndarray, G: np.ndarray, Z: np.ndarray | None, mult, Xn: np.ndarray, scratch: np.ndarray) -> None:
    """Xn = X - (G + Z) * mult (Z: sigma z_t, or None for no noise; mult: a scalar or a column), the
    reference's operations in its order, chunk by chunk in ``scratch`` (the increment is never
    written out in full)."""
    d = X.shape[-1]
    step = max(1, scratch.size // d)
    col = isinstance(mult, np.ndarray)
    for a in range(0, X.shape[0], step):
        b = min(X.shape[0], a + step)
        u = scratch[: (b - a) * d].reshape(b - a, d)
        if Z is not None:
            np.add(G[a:b], Z[a:b], out=u)
            np.multiply(u, mult[a:b] if col else mult, out=u)
        else:
            np.multiply(G[a:b], mult[a:b] if col else mult, out=u)
        np.subtract(X[a:b], u, out=Xn[a:b])


def _keep_rows(Xn: np.ndarray, X: np.ndarray, keep: np.ndarray) -> None:
    """Xn[j] = X[j] for the lanes j in ``keep`` (rejected steps: x_{t+1} = x_t exactly)."""
    idx = np.flatnonzero(keep)
    if idx.size * 4 > keep.size:
        np.copyto(Xn, X, where=keep[:, None])
    else:
        Xn[idx] = X[idx]


class _Block:
    """Per-step scalars of a bookkeeping block: rows = steps, columns = the group's lanes."""

    def __init__(self, B: int, Lg: int):
        self.gn = np.empty((B, Lg))  # ||grad f(x_t)||
        self.fx = np.empty((B, Lg))  # f(x_t)
        self.xdev = np.empty((B, Lg))  # ||x_t - x_1||, or an upper bound on it (see measure)
        self.xbad = np.zeros((B, Lg), dtype=bool)  # x_t has a non-finite entry
        self.gap = np.empty((B, Lg))  # ||grad f(x_t) - grad f(y_t)|| (rows with d_t > 0)
        self.dist = np.empty((B, Lg))  # ||x_t - y_t|| (rows with d_t > 0)
        self.acc = np.zeros((B, Lg), dtype=bool)  # the step's gradient was accepted
        self.coef = np.zeros((B, Lg))  # eta_t * accepted


_U = 2.0**-53  # unit roundoff of float64


def _run_group(S: _Setup, sl: slice, R: _Out, pool: ThreadPoolExecutor | None, tick, threaded: bool) -> None:
    """Run lanes ``sl`` for all T steps and write their statistics into R[sl].

    Blocking: the per-iterate measurements (norms, f) are taken every BH steps on (BH, lanes, d)
    arrays (BH = 1 at large d, so x_t is measured while in cache; larger at small d, fewer calls);
    the bookkeeping (divergence, hits, minima, counts) runs every BL steps (a multiple of BH) on
    (BL, lanes) arrays of those measurements.

    Where the iterates live: with BH > 1 (or per-lane delays) the iterates of a measuring block sit
    in one half of ``XA`` while the next block is written into the other half, and an iterate that
    a later step reads is copied to its slot (with its gradient). With BH = 1 and a shared sequence
    ("direct" mode) an iterate that will be read later is *written* into its slot in the first
    place (and its gradient computed into the gradient slot), others into one of two scratch
    arrays: no copies at all."""
    problem, T, d, x1 = S.problem, S.T, S.d, S.x1
    grad = problem.grad
    Lg = sl.stop - sl.start
    lanes = np.arange(Lg)
    eta, rho, Rlim, sigma, eps = S.eta[sl], S.rho[sl], S.Rlim[sl], S.sigma[sl], S.eps[sl]
    rngs = S.rngs[sl]
    any_picky, any_drop, any_adapt = S.any_picky, S.any_drop, S.any_adapt
    radius, stop_at_hit = S.radius, S.stop_at_hit

    # ---- buffers ---------------------------------------------------------------------------
    BH = int(max(1, min(_BOOK_STEPS, _MEASURE_ELEMS // (Lg * d))))
    BL = min(-(-_BOOK_STEPS // BH), -(-T // BH)) * BH
    NB = min(S.block or int(max(1, min(_NOISE_MAX, _NOISE_ELEMS // (Lg * d)))), T)  # noise block
    direct = S.shared and BH == 1
    GXh = np.empty((BH, Lg, d))  # grad f(x_t) (the update's direction when d_t = 0)
    Dh = np.empty((BH, Lg, d))  # x_t - y_t (rows with d_t > 0); then scratch
    Eh = None if direct else np.empty((BH, Lg, d))  # grad f(x_t) - grad f(y_t) (rows with d_t > 0)
    # scratch for the chunked norms and updates: chunks that stay in cache, or (when two groups run
    # in threads) whole arrays: fewer, longer numpy calls, fewer GIL hand-overs
    sq = np.empty(max(_SQUARES_ELEMS if not threaded else _SQUARES_ELEMS_MT, d))
    blk = _Block(BL, Lg)
    coef = np.empty(Lg)  # eta_t * accepted
    coef2 = coef[:, None]
    alive = np.ones(Lg, dtype=bool)  # not stopped (divergence, or hit with stop_at_hit) before this block
    all_alive = True
    flagged = np.zeros(Lg, dtype=bool)  # lanes whose stopping iterate was saved in this block
    # live iterates and their gradients: grad f(x_s) is computed once, when x_s is the current
    # iterate, and kept next to x_s for the later steps that read it
    if S.shared:
        D0, store, read = S.D0, S.store, S.read
        n = max(S.n_slots, 1)
        xbuf, gbuf = np.empty((n, Lg, d)), np.empty((n, Lg, d))
        Dlane = W = None
    else:  # a ring of the last W iterates (iterate i in xbuf[i % W]); grad f(y_t) is recomputed
        Dlane = np.ascontiguousarray(S.Dlane[:, sl])  # (T, Lg)
        W = int(Dlane.max()) + 1
        xbuf = np.empty((W, Lg, d))
        xflat = xbuf.reshape(W * Lg, d)
        Yg, Gg = np.empty((Lg, d)), np.empty((Lg, d))  # the gathered stale iterates, their gradients
    if direct:
        two = np.empty((2, Lg, d))

        def xloc(i: int) -> np.ndarray:  # where iterate i (x_{i+1}) lives
            return xbuf[store[i]] if i < T and store[i] >= 0 else two[i & 1]

        XA = None
        xloc(0)[...] = x1
    else:
        XA = np.empty((2, BH, Lg, d))  # XA[c, k]: iterate x_t of row k of a measuring block
        XA[0, 0] = x1
    nxt = (0, 0)  # XA: where the current iterate is

    # ---- noise: Zs[:, k] = sigma z_t for the steps of the current noise block ------------------
    noisy = [j for j in range(Lg) if sigma[j] != 0.0]
    scale = not bool(np.all((sigma == 1.0) | (sigma == 0.0)))  # multiply by sigma only if needed
    sig3 = sigma[:, None, None]
    nz_bufs = [np.zeros((Lg, NB, d)) for _ in range(2 if (pool is not None and noisy) else 1)]

    def draw(Z: np.ndarray, n: int, which: list[int]) -> np.ndarray:
        # lanes with sigma = 0 draw nothing and keep zeros (sigma z = 0 either way); so do stopped
        # lanes (zeroed: they stay parked, finite)
        for j in which:
            S.noise.sample(rngs[j], n, d, out=Z[j, :n])
        if len(which) < len(noisy):
            drawn = set(which)
            Z[[j for j in noisy if j not in drawn], :n] = 0.0
        if scale:
            np.multiply(Z[:, :n], sig3, out=Z[:, :n])  # the reference's sigma * z, same bits
        return Z

    def lanes_to_draw() -> list[int]:
        return [j for j in noisy if alive[j]]  # stopped lanes need no more noise

    # with the worker thread: two buffers, block k+1 is drawn into one while block k is read from
    # the other; each generator is used by one thread at a time, in block order
    nz_next = pool.submit(draw, nz_bufs[0], NB, lanes_to_draw()) if pool is not None and noisy else None
    nz_turn = 0
    Zs = nz_bufs[0]

    def step_sizes(dd) -> np.ndarray:  # delay-adaptive lanes' eta_t (others: eta)
        over = S.adaptive[sl] & (dd > S.tauC[sl])
        if not over.any():
            return eta
        dsafe = np.maximum(dd, 1)
        ksj, beta, tauC = S.ksj[sl], S.beta[sl], S.tauC[sl]
        return np.where(over, np.where(ksj, np.minimum(eta, 1.0 / (4.0 * beta * dsafe)), eta * tauC / dsafe), eta)

    # ---- ||x_t - x_1|| without a pass over x_t ------------------------------------------------
    # It only decides "> radius?". A running upper bound does that as long as it stays below the
    # radius: ||x_{t+1} - x_1|| <= ||x_t - x_1|| + eta_t acc_t ||grad f(y_t) + sigma z_t|| (+ the
    # rounding of the update), with ||grad f(y_t)|| <= ||grad f(x_t)|| + ||grad f(x_t) - grad f(y_t)||
    # (both measured anyway) and ||z_t|| <= the noise model's bound. Generous slack covers every
    # rounding (each norm is within (d + 3) u of the exact one). Where the bound is not conclusive
    # (divergent runs, a small radius, unbounded noise) the exact norm is computed, and the bound is
    # restarted from it.
    zbound = getattr(S.noise, "bound", None)
    use_bound = not noisy or zbound is not None
    zterm = sigma * (zbound or 0.0)  # sigma_l sup ||z||
    nx1 = float(np.sqrt(np.add.reduce(x1 * x1)))
    eps_b = 1e-12 + 4.0 * (d + 8) * _U  # relative error of a measured norm (and of the sums here)
    pad = 1e-15 * nx1  # ... and of x_t - u: u ||x_{t+1}|| <= u (||x_1|| + b), u b covered by eps_b
    lim_b = min(radius, 1e300) / (1.0 + 1e-9 + 4.0 * (d + 8) * _U)  # bound below this: not too far
    bnd = np.zeros(Lg)  # upper bound on ||x_t - x_1|| for the first iterate not yet measured
    xbad_dirty = False  # blk.xbad has True entries (reset after the bookkeeping)
    dpos_all = None if not S.shared else (S.D0arr > 0)

    def measure(k0: int, n: int, Xr: np.ndarray, GXr: np.ndarray, i_first: int, with_d: bool) -> None:
        """Norms and f of the iterates x_t of rows k0 .. k0+n-1 (Xr, their gradients GXr: (n, lanes,
        d)) and of the Dh, Eh rows of their steps (with_d: some have d_t > 0); then save the iterate
        of any lane that stops here (the bookkeeping decides the same from the same numbers)."""
        nonlocal bnd, xbad_dirty
        r = slice(k0, k0 + n)
        gn, fx, xdev, xbad, gap = blk.gn[r], blk.fx[r], blk.xdev[r], blk.xbad[r], blk.gap[r]
        if with_d:
            _norm_rows(Eh[:n], gap, sq)
            if not any_picky:  # (Picky lanes measured ||x_t - y_t|| in the step)
                _norm_rows(Dh[:n], blk.dist[r], sq)
        _norm_rows(GXr, gn, sq)
        fx[...] = problem.f(Xr)
        exact = True
        if use_bound:
            # increments eta_t acc_t (||grad f(x_t)|| + ||grad f(x_t) - grad f(y_t)|| + sigma sup||z||)
            if n == 1 and S.shared:
                inc = gn + gap if dpos_all[i_first] else gn.copy()
            elif S.shared:
                inc = gn.copy()
                rows = np.flatnonzero(dpos_all[i_first : i_first + n])
                inc[rows] += gap[rows]
            else:
                inc = np.where(Dlane[i_first : i_first + n] > 0, gap, 0.0)
                inc += gn
            if noisy:
                inc += zterm
            inc *= blk.coef[r]
            # b_{k+1} = (b_k + inc_k) F + pad  (F, pad: every rounding; see above), unrolled
            Fn = 1.0 + 2.0 * n * eps_b
            if n == 1:
                bb = bnd
                m = bb.max()
            else:
                cs = np.cumsum(inc, axis=0)
                bb = cs - inc
                bb += bnd + pad * np.arange(n)[:, None]
                bb *= Fn
                m = bb.max()
            if not m < lim_b and (not all_alive or flagged.any()):  # only lanes still running count
                m = np.where(alive & ~flagged, bb, 0.0).max()
            if m < lim_b:
                xdev[...] = bb
                bnd = bnd + (inc[0] if n == 1 else cs[-1])
                bnd += n * pad
                bnd *= Fn
                exact = False
        if exact:
            np.subtract(Xr, x1, out=Dh[:n])
            _norm_rows(Dh[:n], xdev, sq)  # the reference's ||x_t - x_1||
            xbad[...] = False
            nf = ~np.isfinite(xdev)
            if nf.any():  # non-finite x_t, or an overflowing norm of a finite one
                xbad[nf] = ~np.isfinite(Xr[nf]).all(axis=-1)
                xbad_dirty = True
            if use_bound:
                bnd = (xdev[-1] + inc[-1] + pad) * (1.0 + 2.0 * eps_b)
        # lanes that stop in these rows: keep their iterate (first stopping row). Quick screen first.
        maybe = not np.isfinite(gn.sum() + fx.sum())
        if exact:
            maybe = maybe or bool(xdev.max() > radius) or xbad_dirty
        if stop_at_hit and not maybe:
            maybe = bool((gn <= eps).any())
        if maybe:
            stop = ~(np.isfinite(gn) & np.isfinite(fx)) | xbad | (xdev > radius)
            if stop_at_hit:
                stop |= gn <= eps
            stop &= alive & ~flagged
            if stop.any():
                for j in np.flatnonzero(stop.any(axis=0)).tolist():
                    R.X[sl.start + j] = Xr[int(stop[:, j].argmax()), j]
                    flagged[j] = True

    acc_per_step = any_picky or any_drop  # else acc = alive for the whole block
    eta1 = float(eta[0]) if not any_adapt and bool((eta == eta[0]).all()) else None
    with np.errstate(all="ignore"):
        i0 = 0
        while i0 < T:
            nb = min(BL, T - i0)
            if not acc_per_step:
                blk.acc[:nb] = alive
                if not any_adapt:
                    np.multiply(eta, alive, out=coef)  # constant over the block
                    blk.coef[:nb] = coef
            # ---------------- the recursion, step by step ----------------
            for k in range(nb):
                i = i0 + k
                kh = k % BH
                if noisy and i % NB == 0:  # next noise block
                    if nz_next is None:
                        Zs = draw(nz_bufs[0], min(NB, T - i), lanes_to_draw())
                    else:
                        Zs = nz_next.result()
                        if i + NB < T:
                            nz_turn ^= 1
                            nz_next = pool.submit(draw, nz_bufs[nz_turn], min(NB, T - i - NB), lanes_to_draw())
                # x_t, x_{t+1} (to be written), grad f(x_t); y_t and grad f(y_t) (None: d_t = 0)
                if direct:
                    X, Xn = xloc(i), xloc(i + 1)
                    s = store[i]
                    GX = gbuf[s] if s >= 0 else GXh[0]
                    grad(X, out=GX)
                    r = read[i]
                    Y, G = (None, GX) if r < 0 else (xbuf[r], gbuf[r])
                    dd = D0[i]
                else:
                    c = nxt[0]
                    X, GX = XA[c, kh], GXh[kh]
                    nxt = (c, kh + 1) if kh + 1 < BH else (1 - c, 0)
                    Xn = XA[nxt]
                    grad(X, out=GX)
                    if S.shared:
                        s = store[i]
                        if s >= 0:  # x_t is read by a later step: keep it, and its gradient
                            np.copyto(xbuf[s], X)
                            np.copyto(gbuf[s], GX)
                        r = read[i]
                        Y, G = (None, GX) if r < 0 else (xbuf[r], gbuf[r])
                        dd = D0[i]
                    else:
                        np.copyto(xbuf[i % W], X)
                        dd = Dlane[i]
                        Y = np.take(xflat, ((i - dd) % W) * Lg + lanes, axis=0, out=Yg, mode="clip")
                        G = grad(Y, out=Gg)
                if Y is not None:
                    if direct:  # ||x_t - y_t||, ||grad f(x_t) - grad f(y_t)|| now, chunk by chunk
                        _diff_norm_rows(X, Y, blk.dist[k], sq)
                        _diff_norm_rows(GX, G, blk.gap[k], sq)
                    else:  # kept for the measurement of the block
                        np.subtract(X, Y, out=Dh[kh])
                        np.subtract(GX, G, out=Eh[kh])
                # accept rule and step size
                if acc_per_step:
                    a = blk.acc[k]
                    if any_picky and Y is not None:
                        if not direct:
                            _norm_rows(Dh[kh], blk.dist[k], sq)  # ||x_t - y_t||, as the reference
                        np.less_equal(blk.dist[k], rho, out=a)
                        if not all_alive:
                            a &= alive
                    else:
                        a[:] = alive
                    if any_drop:
                        a &= dd < Rlim
                    np.multiply(step_sizes(dd) if any_adapt else eta, a, out=coef)
                    blk.coef[k] = coef
                elif any_adapt:
                    np.multiply(step_sizes(dd), alive, out=coef)
                    blk.coef[k] = coef
                # x_{t+1} = x_t - eta_t (grad f(y_t) + sigma z_t) on accepted lanes, x_t on the others.
                # (In direct mode Xn may be y_t's slot, if this was its last read: written last.)
                Zk = Zs[:, i % NB] if noisy else None
                if eta1 is not None:  # one eta for all lanes: a scalar product (cheaper than a column)
                    _update_rows(X, G, Zk, eta1, Xn, sq)
                    acc_k = blk.acc[k]
                    if not acc_k.all():
                        _keep_rows(Xn, X, ~acc_k)
                else:  # eta_t * accepted per lane (0: x_{t+1} = x_t - 0 = x_t)
                    _update_rows(X, G, Zk, coef2, Xn, sq)
                if direct:
                    measure(k, 1, X[None], GX[None], i, False)
                elif kh == BH - 1 or k == nb - 1:
                    measure(k - kh, kh + 1, XA[c, : kh + 1], GXh[: kh + 1], i - kh, True)
            # ---------------- the bookkeeping of the block ----------------
            has = _bookkeeping(S, sl, R, i0, nb, blk, alive)
            flagged[:] = False
            if xbad_dirty:
                blk.xbad[...] = False
                xbad_dirty = False
            if has.any():  # park stopped lanes at x_1 (finite, harmless; nothing reads them)
                alive &= ~has
                (xloc(i0 + nb) if direct else XA[nxt])[has] = x1
                bnd[has] = 0.0
                all_alive = False
                if not alive.any():
                    break
            i0 += nb
            tick(i0)
            if S.cancel:
                return
    # lanes still running end at x_{T+1}; stopped lanes' last iterates are already in R.X
    R.X[sl][alive] = (xloc(T) if direct else XA[nxt])[alive]
    if nz_next is not None:
        nz_next.result()  # let a pending draw finish (and raise its error, if any)


def _bookkeeping(S: _Setup, sl: slice, R: _Out, i0: int, nb: int, blk: _Block, alive: np.ndarray) -> np.ndarray:
    """The reference's per-step checks and statistics for iterates x_{i0+1} .. x_{i0+nb}, from the
    block's measurements, in a few calls on (nb, lanes) arrays: a lane stops at its first step
    whose iterate diverged (non-finite, or too far from x_1), or hit eps with ``stop_at_hit``.
    Returns the lanes that stopped in this block."""
    Lg = sl.stop - sl.start
    cols = np.arange(Lg)
    gn, fx, xdev = blk.gn[:nb], blk.fx[:nb], blk.xdev[:nb]
    acc = blk.acc[:nb]
    dpos = (S.D0arr[i0 : i0 + nb] > 0)[:, None] if S.shared else S.Dlane[i0 : i0 + nb, sl] > 0

    # divergence, in the reference's order: non-finite (gradient, f, iterate), then too far
    bad = ~(np.isfinite(gn) & np.isfinite(fx)) | blk.xbad[:nb]
    div = bad | (xdev > S.radius)
    hit = gn <= S.eps[sl]
    stop = div | hit if S.stop_at_hit else div
    has = stop.any(axis=0) & alive
    kstop = np.where(has, stop.argmax(axis=0), nb)  # first stopping step (row) of each lane
    is_div = has & div[np.minimum(kstop, nb - 1), cols]
    mon_end = np.where(is_div | ~has, kstop, kstop + 1)  # rows the reference observes: < mon_end
    rows = np.arange(nb)[:, None]
    mon = (rows < mon_end) & alive  # observed iterates
    ran = (rows < kstop) & alive  # steps performed

    o = sl
    # first hit, minima, trace
    h = mon & hit
    new = h.any(axis=0) & (R.first_hit[o] < 0)
    R.first_hit[o][new] = i0 + h.argmax(axis=0)[new] + 1
    gm = np.where(mon, gn, np.inf)
    kmin = gm.argmin(axis=0)
    vmin = gm[kmin, cols]
    better = vmin < R.gmin[o]
    R.gmin[o][better] = vmin[better]
    R.gmin_step[o][better] = i0 + kmin[better] + 1
    np.minimum(R.fmin[o], np.where(mon, fx, np.inf).min(axis=0), out=R.fmin[o])
    te = S.trace_every
    if te:
        ks = np.arange((-i0) % te, nb, te)
        if ks.size:
            idx = (i0 + ks) // te
            R.tr_g[idx, o] = np.where(mon[ks], gn[ks], np.nan)
            R.tr_f[idx, o] = np.where(mon[ks], fx[ks], np.nan)
    R.seen[o][alive] = i0 + mon_end[alive]
    R.steps_run[o][alive] = i0 + kstop[alive]
    # accepted steps and their invariants (d_t = 0: distance and gap are exactly 0)
    ok = ran & acc
    R.acc_n[o] += ok.sum(axis=0)
    if R.rej is not None:
        R.rej[i0 : i0 + nb, o] = ran & ~acc
    use = ok & dpos
    if use.any():
        np.maximum(R.max_dist[o], np.where(use, blk.dist[:nb], 0.0).max(axis=0), out=R.max_dist[o])
        np.maximum(R.max_gap[o], np.where(use, blk.gap[:nb], 0.0).max(axis=0), out=R.max_gap[o])
    # divergence records (the stopped lanes' iterates were saved by the measurement)
    for j in np.flatnonzero(is_div).tolist():
        k = int(kstop[j])
        R.div_step[sl.start + j] = i0 + k + 1
        R.div_reason[sl.start + j] = "non-finite iterate" if bad[k, j] else f"||x_t - x_1|| > {S.radius:g}"
    return has

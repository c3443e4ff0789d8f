"""The fast engine: many runs (lanes = seeds x configurations) advanced together with numpy.

It runs exactly the algorithms of :mod:`verify.algorithms` (same model, same noise convention,
same accept rules and update x_{t+1} = x_t - eta_t (grad f(x_{t-d_t}) + sigma z_t)), and reproduces
:func:`verify.algorithms.reference_run` lane by lane (tested to 1e-12; bit-for-bit in practice).

Memory is O(lanes x d x live iterates), never O(T x d): only iterates that a later step still reads
are kept.

- One delay sequence shared by all lanes: each iterate that some later step reads (with d > 0) gets
  a slot from a free list when it is created and gives it back after its last read; the number of
  slots is the maximal number of simultaneously live iterates (for a single straggler: 1). The stale
  iterate of a step is then a contiguous (lanes, d) view, no gather.
- Different sequences per lane (or ``sgd`` lanes mixed with delayed ones): a ring buffer sized by the
  largest delay actually present, max d_t + 1.

Noise: lane l draws ``noise.sample(rng_l, block, d)`` from its own generator, block by block; the
rows are the z_t of consecutive steps, exactly the reference's draws.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

import theory

from .algorithms import Config, DivergenceGuard, _stats
from .delays import DelaySequence, from_trace
from .progress import Progress
from .records import RunResult

__all__ = ["run_batch", "slot_plan"]


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
    d = problem.dim
    x1 = np.asarray(problem.x1, dtype=float)

    # ---- per-lane parameters -------------------------------------------------------------
    alg = [c.algorithm for c in cfgs]
    eta = np.array([c.eta for c in cfgs])
    sigma = np.array([c.sigma for c in cfgs])[:, None]
    eps = np.array([c.eps for c in cfgs])
    rho = np.array([c.rho if a == "picky" else np.inf for c, a in zip(cfgs, alg)])
    Rlim = np.array([c.R if a == "stale-drop" else np.iinfo(np.int64).max for c, a in zip(cfgs, alg)], dtype=np.int64)
    adaptive = np.array([a == "delay-adaptive" for a in alg])
    tauC = np.array([c.tau_C if a == "delay-adaptive" else np.inf for c, a in zip(cfgs, alg)])
    ksj = np.array([c.rule == "ksj" for c in cfgs])
    beta = np.array([c.beta for c in cfgs])
    any_picky = bool(np.isfinite(rho).any())
    any_drop = bool((Rlim < np.iinfo(np.int64).max).any())
    any_adapt = bool(adaptive.any())

    # ---- delays and the buffer of live iterates ------------------------------------------
    eff = [np.zeros(T, dtype=np.int64) if a == "sgd" else s.delays[:T] for a, s in zip(alg, seqs)]
    shared = all(e is eff[0] or np.array_equal(e, eff[0]) for e in eff)
    if shared:
        D0 = eff[0]
        store_slot, read_slot, n_slots = slot_plan(D0)
        buf = np.empty((max(n_slots, 1), L, d))
        Dlane = None
    else:
        Dlane = np.stack(eff, axis=1)  # (T, L)
        W = int(Dlane.max()) + 1
        buf = np.empty((W, L, d))
        lanes = np.arange(L)

    # ---- state -------------------------------------------------------------------------
    X = np.tile(x1, (L, 1))
    GX = np.empty((L, d))
    GY = np.empty((L, d))
    U = np.empty((L, d))
    tmp = np.empty((L, d))
    rngs = [np.random.default_rng(s) for s in seeds]
    if block is None:  # noise drawn in blocks of <= 32 MiB
        block = int(min(1024, max(1, (1 << 22) // (L * d))))
    Zb = np.zeros((L, block, d))  # lanes with sigma = 0 draw no noise (sigma z = 0 either way)
    noisy = [lane for lane in range(L) if cfgs[lane].sigma != 0.0]
    radius = guard.radius_for(x1)
    alive = np.ones(L, dtype=bool)
    first_hit = np.full(L, -1, dtype=np.int64)
    gmin = np.full(L, np.inf)
    gmin_step = np.zeros(L, dtype=np.int64)
    fmin = np.full(L, np.inf)
    steps_run = np.zeros(L, dtype=np.int64)
    seen = np.zeros(L, dtype=np.int64)  # last step t whose iterate x_t was observed
    acc_n = np.zeros(L, dtype=np.int64)
    max_dist = np.zeros(L)
    max_gap = np.zeros(L)
    div_step = np.full(L, -1, dtype=np.int64)
    div_reason: list[str | None] = [None] * L
    rej = np.zeros((T, L), dtype=bool) if record_rejections else None
    n_tr = (T + trace_every - 1) // trace_every if trace_every else 0
    tr_g = np.full((n_tr, L), np.nan) if trace_every else None
    tr_f = np.full((n_tr, L), np.nan) if trace_every else None
    bar = Progress(T, f"engine {L} lanes", enabled=progress)

    add_reduce = np.add.reduce

    def norms(V: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.multiply(V, V, out=tmp)
        return np.sqrt(add_reduce(tmp, axis=1), out=out)

    gn = np.empty(L)
    dist = np.empty(L)
    gap = np.empty(L)
    xdev = np.empty(L)
    with np.errstate(all="ignore"):
        for i in range(T):
            t = i + 1
            if i % block == 0:
                nb = min(block, T - i)
                for lane in noisy:
                    noise.sample(rngs[lane], nb, d, out=Zb[lane, :nb])
            # current iterate: exact gradient norm, f, divergence
            problem.grad(X, out=GX)
            norms(GX, gn)
            fx = problem.f(X)
            np.subtract(X, x1, out=U)
            norms(U, xdev)
            # ||x_t - x_1|| is non-finite iff x_t is; gn and f catch overflow in the problem
            bad = alive & ~(np.isfinite(gn) & np.isfinite(fx) & np.isfinite(xdev))
            far = alive & ~bad & (xdev > radius)
            if bad.any() or far.any():
                for lane in np.flatnonzero(bad | far):
                    div_step[lane] = t
                    div_reason[lane] = "non-finite iterate" if bad[lane] else f"||x_t - x_1|| > {radius:g}"
                alive &= ~(bad | far)
            seen[alive] = t
            hit = alive & (gn <= eps) & (first_hit < 0)
            first_hit[hit] = t
            better = alive & (gn < gmin)
            gmin[better] = gn[better]
            gmin_step[better] = t
            np.fmin(fmin, fx, out=fmin, where=alive)
            if trace_every and i % trace_every == 0:
                k = i // trace_every
                tr_g[k] = np.where(alive, gn, np.nan)
                tr_f[k] = np.where(alive, fx, np.nan)
            if stop_at_hit:
                alive &= first_hit < 0
            if not alive.any():
                break
            steps_run[alive] = t
            # the stale iterate y_t = x_{t - d_t}
            if shared:
                if store_slot[i] >= 0:
                    buf[store_slot[i]] = X
                dnow = int(D0[i])
                if dnow == 0:
                    Y, GYv = X, GX
                else:
                    Y = buf[read_slot[i]]
                    problem.grad(Y, out=GY)
                    GYv = GY
                dvec = None
            else:
                buf[i % (buf.shape[0])] = X
                dvec = Dlane[i]
                Y = buf[(i - dvec) % buf.shape[0], lanes]
                problem.grad(Y, out=GY)
                GYv = GY
                dnow = -1
            # accept rule and step size
            acc = alive.copy()
            if any_picky and dnow != 0:
                np.subtract(X, Y, out=U)
                norms(U, dist)
                acc &= dist <= rho
            elif any_picky:
                dist.fill(0.0)
            if any_drop:
                acc &= (dnow if dvec is None else dvec) < Rlim
            step = eta
            if any_adapt:
                dd = np.full(L, dnow) if dvec is None else dvec
                over = adaptive & (dd > tauC)
                if over.any():
                    dsafe = np.maximum(dd, 1)
                    step = np.where(over, np.where(ksj, np.minimum(eta, 1.0 / (4.0 * beta * dsafe)), eta * tauC / dsafe), eta)
            # invariants over accepted steps
            if dnow != 0:
                if not any_picky:
                    np.subtract(X, Y, out=U)
                    norms(U, dist)
                np.subtract(GX, GYv, out=U)
                norms(U, gap)
                np.maximum(max_dist, np.where(acc, dist, 0.0), out=max_dist)
                np.maximum(max_gap, np.where(acc, gap, 0.0), out=max_gap)
            acc_n += acc
            if rej is not None:
                rej[i] = alive & ~acc
            # x_{t+1} = x_t - eta_t (grad f(y_t) + sigma z_t) on accepted lanes
            np.multiply(Zb[:, i % block], sigma, out=U)
            U += GYv
            U *= (step * acc)[:, None]
            X -= U
            bar.update(t)
    bar.close()

    # ---- records -------------------------------------------------------------------------
    with np.errstate(all="ignore"):
        problem.grad(X, out=GX)
        final_g = np.sqrt(np.sum(GX * GX, axis=1))
        final_f = np.asarray(problem.f(X), dtype=float)
    tr_steps = np.arange(n_tr, dtype=np.int64) * trace_every + 1 if trace_every else None
    out = []
    for lane in range(L):
        sr = int(steps_run[lane])
        diverged = div_step[lane] >= 0
        used = eff[lane][:sr]
        rs = np.flatnonzero(rej[:sr, lane]) + 1 if rej is not None else None
        fg = float(final_g[lane]) if math.isfinite(final_g[lane]) else math.nan
        ff = float(final_f[lane]) if math.isfinite(final_f[lane]) else math.nan
        out.append(
            RunResult(
                algorithm=alg[lane],
                config=cfgs[lane].as_dict(),
                problem=problem.describe(),
                noise=noise.describe(),
                seed=seeds[lane],
                T=T,
                steps_run=sr,
                first_hit=int(first_hit[lane]) if first_hit[lane] > 0 else None,
                min_grad_norm=float(gmin[lane]),
                min_grad_norm_step=int(gmin_step[lane]),
                min_f=float(fmin[lane]),
                final_grad_norm=fg,
                final_f=ff,
                accepted=int(acc_n[lane]),
                rejected=sr - int(acc_n[lane]),
                rejected_steps=rs.astype(np.int64) if rs is not None else None,
                max_accepted_distance=float(max_dist[lane]),
                max_accepted_grad_gap=float(max_gap[lane]),
                diverged=bool(diverged),
                diverged_step=int(div_step[lane]) if diverged else None,
                divergence_reason=div_reason[lane],
                trace_every=trace_every,
                trace_steps=tr_steps[tr_steps <= seen[lane]] if trace_every else None,
                trace_grad_norm=tr_g[tr_steps <= seen[lane], lane].copy() if trace_every else None,
                trace_f=tr_f[tr_steps <= seen[lane], lane].copy() if trace_every else None,
                delays=seqs[lane],
                delay_stats=_stats(np.asarray(used, dtype=np.int64)),
                adaptive=False,
                engine="numpy",
                version=theory.__version__,
            )
        )
    return out

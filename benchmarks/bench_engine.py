"""Engine benchmark: throughput vs a plain loop, memory traffic vs a numpy copy, peak memory, first call.

Run:  python benchmarks/bench_engine.py            (full, ~4 min on 2 cores; < 10 min)
      python benchmarks/bench_engine.py --quick    (< 1 min, shorter horizons; targets judged on them)
      add --profile to print the where-does-the-time-go breakdown even when every target passes
(after ``pip install -e .``, or with ``PYTHONPATH=.`` from the repository root).

(a) "d = 10, 256 lanes, sigma = 1, T = 1e5, Pareto delays": logsum d=10, delays
    pareto:alpha=1.5,scale=3, eps=0.1, Picky SGD (and delayed SGD) with the defaults of
    ``verify.algorithms.resolve``. Lane-steps/s of
      - the plain loop: a per-run Python/numpy loop as a user writes it (ring buffer of the last
        max_delay+1 iterates, ``np.linalg.norm(x - y) <= rho``, one ``default_rng(seed)``, noise
        ``rng.standard_normal(d) / sqrt(d)`` on accepted steps, the logsum gradient 2x/(1+x^2),
        ||grad f(x_t)|| measured every step for the first hit) -- written here, not reference_run;
      - ``verify.algorithms.reference_run`` (one lane);
      - ``verify.engine.run_batch`` with one shared sequence for all 256 lanes, and with a
        different sequence per lane (``delays.make(spec, T, seed=s)`` for lane seed s).
    The plain loop and the reference run fewer steps of the same sequence (their cost per step is
    flat in t). Target: engine >= 100x the plain loop, shared and per-lane. Also engine/reference,
    and a spot check that the engine reproduces reference_run on seed 0 exactly.
(b) "d = 1000, 256 lanes, sigma = 0 and sigma = 1: bytes moved as a fraction of a numpy copy
    measured in the same run": quadratic d=1000, same delays, Picky. Traffic model per lane-step,
    in d-vectors of 8-byte floats: reads x_t, y_t = x_{t-d_t} [d_t > 0], z_t [sigma != 0],
    grad f(x_t), grad f(y_t) [d_t > 0]; writes x_{t+1}, and the snapshot of x_t and of its gradient
    [if a later step reads x_t] -- the fractions taken from the actual sequence. Bytes / elapsed,
    as a fraction of np.copyto's (read + write) bytes/s on a (256, 1000) float64 array, measured
    in the same run. Targets: >= 50% at sigma = 0, >= 30% at sigma = 1. Also lane-steps/s and
    what 1000 standard normals cost (numpy's rng.standard_normal, ns per normal).
(c) "peak memory (tracemalloc or RSS) at T = 1e7, one lane, d = 10": a fresh subprocess builds
    the sequence (pareto, T = 1e7), warms the kernel on 1000 steps, then runs one Picky lane
    (sigma = 1, record_rejections=True). ru_maxrss and VmHWM (peak RSS) before and after. Just
    before the run the freed heap is returned (malloc_trim(0)) and the peak RSS is reset
    (/proc/self/clear_refs), because building the sequence has a larger transient peak that would
    hide the run's (ru_maxrss cannot be reset, and in a child it starts at the parent's peak, so it
    is printed, not compared). Target: peak RSS during the run - RSS before it (which already holds
    the imports, the compiled kernel and the sequence) <= 200 MB. numba's allocations are invisible
    to tracemalloc, so RSS is the measure; tracemalloc is printed too.
(d) "first-call time in a fresh process (compilation)": ``python -c "import verify.engine; <tiny
    run>; run_batch once"`` with a cold numba cache ($PICKY_NUMBA_CACHE = a new temp directory)
    and with the warm default cache, and ``python -c "import verify.engine"`` alone. No target
    (the engine's docstring says "a few seconds" cold, "well under a second" warm).

Timings: time.perf_counter, a warm-up first, best of a few repetitions. MB = 10^6 bytes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import verify  # noqa: F401
except ImportError:  # running from a checkout without ``pip install -e .``
    sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

from verify import algorithms as A  # noqa: E402
from verify.models import delays as D
from verify import engine as E  # noqa: E402
from verify.models import problems as P
from verify.models.noise import make_noise

DELAYS = "pareto:alpha=1.5,scale=3"
LANES = 256
EPS = 0.1
MB = 1e6
SUMMARY: list[tuple[str, str, str, str]] = []  # (case, measured, target, PASS/FAIL/info)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def best_time(fn, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls (after the caller's warm-up), and the last result."""
    best, res = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {cpu}; {os.cpu_count()} cores (engine threads: {E.max_workers()}); "
            f"Python {platform.python_version()}; numpy {np.__version__}; numba {numba.__version__}; "
            f"{platform.system()} {platform.release()}")


def _spin(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


def machine_stability() -> str:
    """The same pure-Python loop timed 10 times: this VM's speed changes from second to second."""
    ts = []
    for _ in range(10):
        t0 = time.perf_counter()
        _spin(1_000_000)
        ts.append(time.perf_counter() - t0)
    return (f"machine speed: a 1e6-iteration Python loop took {min(ts) * 1e3:.0f}..{max(ts) * 1e3:.0f} ms over 10 "
            f"runs (max/min {max(ts) / min(ts):.2f}); every case is timed best of several")


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------
# (a) throughput: plain loop, reference, engine (shared / per-lane sequences)
# --------------------------------------------------------------------------------------------
def plain_loop(x1: np.ndarray, delays: np.ndarray, T: int, eta: float, rho: float | None, sigma: float,
               eps: float, seed: int) -> tuple[int | None, int]:
    """What a user writes for one run: a ring buffer of the last max_delay+1 iterates; Picky's test
    ``np.linalg.norm(x - y) <= rho`` (``rho=None``: delayed SGD, every gradient applied); noise
    ``rng.standard_normal(d) / sqrt(d)`` on accepted steps; the logsum gradient 2x/(1+x^2);
    ||grad f(x_t)|| every step for the first hit. Returns (first_hit, accepted)."""
    d = x1.size
    K = int(delays.max()) + 1
    buf = np.empty((K, d))
    x = x1.copy()
    rng = np.random.default_rng(seed)
    sq = math.sqrt(d)
    first_hit, accepted = None, 0
    for t in range(T):
        buf[t % K] = x
        g = 2 * x / (1 + x * x)
        if first_hit is None and np.linalg.norm(g) <= eps:
            first_hit = t + 1
        y = buf[(t - delays[t]) % K]
        if rho is None or np.linalg.norm(x - y) <= rho:
            gy = 2 * y / (1 + y * y)
            x = x - eta * (gy + sigma * rng.standard_normal(d) / sq)
            accepted += 1
    return first_hit, accepted


SPOT_FIELDS = ("first_hit", "min_grad_norm", "final_grad_norm", "accepted")


def part_a(T: int, T_plain: int, T_ref: int, reps: int) -> None:
    print(f"\n(a) throughput: logsum d=10, {LANES} lanes, sigma=1, eps={EPS}, delays {DELAYS}, T={T:g}"
          + ("" if T == 100_000 else "  [--quick: the target's T is 1e5]"))
    prob = P.make("logsum", 10)
    seq = D.make(DELAYS, T, seed=0)
    st = seq.stats()
    t0 = time.perf_counter()
    per_lane = [D.make(DELAYS, T, seed=s) for s in range(LANES)]
    t_make = time.perf_counter() - t0
    seeds = list(range(LANES))
    print(f"    shared sequence (seed 0): tau_avg={st.tau_avg:.2f}, tau_max={st.tau_max}, "
          f"{st.n_nonzero / T:.0%} of steps with d_t > 0, live_slots={E.live_slots(seq)}; per-lane: "
          f"{LANES} sequences delays.make(spec, T, seed=s), built in {t_make:.1f} s (not timed below), "
          f"live_slots {min(E.live_slots(s) for s in per_lane)}..{max(E.live_slots(s) for s in per_lane)}")
    print(f"    engine: {LANES} lanes x {T} steps; plain loop: one run of {T_plain} steps; reference_run: one lane "
          f"of {T_ref} steps (same sequence; the plain loop's and the reference's cost per step is flat in t); "
          f"best of {reps}, the four cases interleaved")
    x1 = np.array(prob.x1)
    for name in ("picky", "delayed-sgd"):
        cfg = A.resolve(name, beta=prob.beta, F=prob.F, eps=EPS, sigma=1.0, delays=seq)
        rho = getattr(cfg, "rho", None)
        params = f"eta={cfg.eta:.4g}" + (f", rho={rho:.4g}" if rho is not None else "")
        # warm-ups
        E.run_batch(prob, seq, cfg, seeds[:4], T=min(T, 1000))
        E.run_batch(prob, per_lane[:4], cfg, seeds[:4], T=min(T, 1000))
        plain_loop(x1, seq.delays, 200, cfg.eta, rho, 1.0, EPS, 0)
        A.reference_run(prob, seq, cfg, seed=0, T=200)
        fns = {
            "plain": lambda: plain_loop(x1, seq.delays, T_plain, cfg.eta, rho, 1.0, EPS, 0),
            "ref": lambda: A.reference_run(prob, seq, cfg, seed=0, T=T_ref),
            "shared": lambda: E.run_batch(prob, seq, cfg, seeds, T=T),
            "per-lane": lambda: E.run_batch(prob, per_lane, cfg, seeds, T=T),
        }
        best = {k: math.inf for k in fns}
        for _ in range(reps):  # interleaved, so that every case sees the machine's fast and slow phases
            for k, fn in fns.items():
                tk, out = best_time(fn, 1)
                best[k] = min(best[k], tk)
                if k == "ref":
                    ref = out
        t_plain, t_ref, t_sh, t_pl = best["plain"], best["ref"], best["shared"], best["per-lane"]
        r_plain, r_ref = T_plain / t_plain, T_ref / t_ref
        r_sh, r_pl = LANES * T / t_sh, LANES * T / t_pl
        print(f"    {name} ({params}):")
        print(f"      plain loop      {r_plain:11.4g} lane-steps/s ({t_plain * 1e6 / T_plain:.1f} us/step)")
        print(f"      reference_run   {r_ref:11.4g} lane-steps/s ({t_ref * 1e6 / T_ref:.1f} us/step)")
        for case, r, t in (("shared", r_sh, t_sh), ("per-lane", r_pl, t_pl)):
            ratio = r / r_plain
            print(f"      engine {case:8s} {r:11.4g} lane-steps/s ({t:.2f} s) | engine/plain {ratio:6.1f}x "
                  f"(target >= 100x: {verdict(ratio >= 100)}) | engine/reference {r / r_ref:6.0f}x")
            SUMMARY.append((f"(a) {name}, {case} seq: engine/plain loop", f"{ratio:.0f}x", ">= 100x",
                            verdict(ratio >= 100)))
        SUMMARY.append((f"(a) {name}: engine/reference_run (shared, per-lane)", f"{r_sh / r_ref:.0f}x, {r_pl / r_ref:.0f}x",
                        "-", "info"))
        # spot check: the engine reproduces reference_run (seed 0, same horizon, same sequence)
        (eng,) = E.run_batch(prob, seq, cfg, [0], T=T_ref)
        same = {f: getattr(ref, f) == getattr(eng, f) for f in SPOT_FIELDS}
        same["rejected_steps"] = bool(np.array_equal(ref.rejected_steps, eng.rejected_steps))
        ok = all(same.values())
        print(f"      spot check seed 0, T={T_ref}: engine == reference_run exactly: {'yes' if ok else 'NO'} "
              f"(first_hit {eng.first_hit}, min ||grad|| {eng.min_grad_norm:.17g}, final ||grad|| "
              f"{eng.final_grad_norm:.17g}, accepted {eng.accepted}, {eng.rejected} rejected steps"
              + ("" if ok else f"; differing: {[k for k, v in same.items() if not v]}") + ")")
        SUMMARY.append((f"(a) {name}: engine == reference_run (seed 0, T={T_ref})",
                        "exact" if ok else "differs", "exact", verdict(ok)))
    if _want_profile("(a)"):
        profile_kernel(prob, seq, "(a)", lanes=16, T=min(T, 100_000), T_full=T)


# --------------------------------------------------------------------------------------------
# (b) memory traffic at d = 1000
# --------------------------------------------------------------------------------------------
def copy_bandwidth(d: int) -> tuple[float, float]:
    """np.copyto on a (LANES, d) float64 array: (seconds per copy, read + write bytes/s), best of 7 x 50."""
    src = np.random.default_rng(0).standard_normal((LANES, d))
    dst = np.empty_like(src)
    np.copyto(dst, src)
    t, _ = best_time(lambda: [np.copyto(dst, src) for _ in range(50)], 7)
    return t / 50, 2 * src.nbytes * 50 / t


def traffic_model(delays: np.ndarray, noisy: bool) -> tuple[float, float, dict]:
    """The traffic model, per lane-step averaged over ``delays``, in d-vectors (see the docstring)."""
    T = delays.size
    stale = delays > 0
    read_later = np.zeros(T, bool)  # iterate i (x_{i+1}) is read by some later step
    idx = np.arange(T)
    read_later[(idx - delays)[stale]] = True
    p, q = float(stale.mean()), float(read_later.mean())
    parts = {"x_t": 1.0, "y_t": p, "z_t": 1.0 if noisy else 0.0, "grad f(x_t)": 1.0, "grad f(y_t)": p,
             "x_(t+1)": 1.0, "snapshot x_t + grad": 2 * q}
    reads = parts["x_t"] + parts["y_t"] + parts["z_t"] + parts["grad f(x_t)"] + parts["grad f(y_t)"]
    writes = parts["x_(t+1)"] + parts["snapshot x_t + grad"]
    return reads, writes, parts


def part_b(T: int, reps: int) -> None:
    d = 1000
    print(f"\n(b) memory traffic: quadratic d={d}, {LANES} lanes, delays {DELAYS} (seed 0, shared), Picky, "
          f"eps={EPS}, T={T}, best of {reps} (interleaved)")
    prob = P.make("quadratic", d)
    seq = D.make(DELAYS, T, seed=0)
    vec = d * 8
    seeds = list(range(LANES))
    cfgs = {sg: A.resolve("picky", beta=prob.beta, F=prob.F, eps=EPS, sigma=sg, delays=seq) for sg in (0.0, 1.0)}
    rng = np.random.default_rng(0)
    z = np.empty(d)
    for cfg in cfgs.values():
        E.run_batch(prob, seq, cfg, seeds[:4], T=min(T, 100))  # warm-up
    best = {"copy": math.inf, "normals": math.inf, 0.0: math.inf, 1.0: math.inf}
    res = {}
    for _ in range(reps):  # interleaved: the copy, the normals and both engine runs see the same machine phases
        best["copy"] = min(best["copy"], copy_bandwidth(d)[0])
        best["normals"] = min(best["normals"], best_time(lambda: [rng.standard_normal(out=z) for _ in range(200)], 7)[0] / 200)
        for sg, cfg in cfgs.items():
            t, res[sg] = best_time(lambda: E.run_batch(prob, seq, cfg, seeds, T=T, record_rejections=False), 1)
            best[sg] = min(best[sg], t)
    t_copy = best["copy"]
    copy_bps = 2 * LANES * vec / t_copy
    print(f"    np.copyto of a ({LANES}, {d}) float64 array ({LANES * vec / MB:.2f} MB): {t_copy * 1e6:.0f} us "
          f"-> {copy_bps / 1e9:.1f} GB/s (read + write bytes; one thread; best of {reps} x 7 x 50 copies)")
    print("    traffic model per lane-step, in d-vectors of 8-byte floats: reads x_t, y_t [d_t>0], z_t "
          "[sigma!=0], grad f(x_t), grad f(y_t) [d_t>0]; writes x_(t+1), snapshot of x_t + its gradient "
          "[read later]")
    for sigma in (0.0, 1.0):
        t = best[sigma]
        reads, writes, parts = traffic_model(seq.delays[:T], sigma != 0.0)
        bps = (reads + writes) * vec * LANES * T / t
        frac = bps / copy_bps
        acc = sum(r.accepted for r in res[sigma]) / sum(r.steps_run for r in res[sigma])
        target = 0.5 if sigma == 0.0 else 0.3
        print(f"    sigma={sigma:g}: {LANES * T / t:.4g} lane-steps/s ({t:.2f} s; {t / (LANES * T) * E.max_workers() * 1e6:.2f} "
              f"us per lane-step per thread); accepted {acc:.1%} of steps")
        print(f"      model {reads:.2f} reads + {writes:.2f} writes = {reads + writes:.2f} vectors/lane-step "
              f"({', '.join(f'{k} {v:.2f}' for k, v in parts.items() if v)}) = {(reads + writes) * vec / 1e3:.1f} kB")
        print(f"      bytes moved {bps / 1e9:.2f} GB/s = {frac:.1%} of the copy's {copy_bps / 1e9:.1f} GB/s "
              f"(target >= {target:.0%}: {verdict(frac >= target)})")
        SUMMARY.append((f"(b) d=1000, sigma={sigma:g}: bytes moved / np.copyto ({LANES * T / t:.3g} lane-steps/s)",
                        f"{frac:.1%}", f">= {target:.0%}", verdict(frac >= target)))
        if sigma != 0.0:
            ns = best["normals"] / d * 1e9
            print(f"      numpy rng.standard_normal, {d} at a time: {ns:.1f} ns per normal = {ns * d / 1e3:.1f} us "
                  f"per lane-step (one thread) -- generation, not traffic, dominates at sigma = 1")
            SUMMARY.append(("(b) numpy standard_normal (1000 at a time)", f"{ns:.1f} ns/normal", "-", "info"))
    if _want_profile("(b)"):
        profile_kernel(prob, seq, "(b)", lanes=16, T=T, T_full=T, copy_bps=copy_bps)


# --------------------------------------------------------------------------------------------
# profile: where the kernel's time goes (measured: kernel per lane-step vs its compiled primitives)
# --------------------------------------------------------------------------------------------
PROFILE = {"force": False, "quick": False}


def _want_profile(part: str) -> bool:
    failed = any(r[0].startswith(part) and r[3] == "FAIL" for r in SUMMARY)
    if failed and PROFILE["quick"] and not PROFILE["force"]:
        print(f"    profile {part}: skipped in --quick (run the full version, or add --profile)")
        return False
    return PROFILE["force"] or failed


def timed_batch(*args, **kw) -> dict:
    """run_batch with its parts timed: the kernel calls (summed over threads: thread-seconds) and the
    records (built serially on the calling thread after the lanes), by wrapping the two functions
    run_batch calls; the rest is pool, generators, allocations and the Python glue."""
    import threading

    acc = {"kernel": 0.0, "record": 0.0}
    lock = threading.Lock()
    real_lane, real_record = E.K.run_lane, E._record

    def lane(*a):
        t0 = time.perf_counter()
        try:
            return real_lane(*a)
        finally:
            with lock:
                acc["kernel"] += time.perf_counter() - t0

    def record(*a):
        t0 = time.perf_counter()
        try:
            return real_record(*a)
        finally:
            acc["record"] += time.perf_counter() - t0

    E.K.run_lane, E._record = lane, record
    try:
        t0 = time.perf_counter()
        E.run_batch(*args, **kw)
        acc["wall"] = time.perf_counter() - t0
    finally:
        E.K.run_lane, E._record = real_lane, real_record
    return acc


def _primitive_loops():
    """Compiled loops that call each primitive of the kernel n times (a store into the input per
    iteration keeps the compiler from hoisting the call out of the loop)."""
    from verify._jit import all_finite, dist, norm
    from verify.models.problems import grad_any
    from verify.models.noise import draw_any

    @numba.njit(nogil=True)
    def l_norm(v, n):
        s = 0.0
        for i in range(n):
            v[0] = 0.5 + (i & 1)
            s += norm(v)
        return s

    @numba.njit(nogil=True)
    def l_dist(a, b, n):
        s = 0.0
        for i in range(n):
            a[0] = 0.5 + (i & 1)
            s += dist(a, b)
        return s

    @numba.njit(nogil=True)
    def l_finite(v, n):
        c = 0
        for i in range(n):
            v[0] = 0.5 + (i & 1)
            c += all_finite(v)
        return c

    @numba.njit(nogil=True)
    def l_grad(pc, pv, x, g, n):
        for i in range(n):
            x[0] = 0.5 + (i & 1)
            grad_any(pc, pv, x, g)

    @numba.njit(nogil=True)
    def l_update(x, gy, z, xn, n):
        for i in range(n):
            x[0] = 0.5 + (i & 1)
            for k in range(x.size):
                xn[k] = x[k] - 0.001 * (gy[k] + 1.0 * z[k])

    @numba.njit(nogil=True)
    def l_copy(xs, x, n):
        for i in range(n):
            x[0] = 0.5 + (i & 1)
            xs[i & 1, :] = x

    @numba.njit(nogil=True)
    def l_draw(nc, nv, rng, z, n):
        for i in range(n):
            draw_any(nc, nv, rng, z)

    return l_norm, l_dist, l_finite, l_grad, l_update, l_copy, l_draw


def profile_kernel(prob, seq, part: str, lanes: int, T: int, T_full: int, copy_bps: float | None = None) -> None:
    d = prob.dim
    print(f"    profile {part} (measured; one thread unless said): d={d}, {lanes} lanes x {T} steps")
    seeds = list(range(lanes))
    per, accs = {}, {}
    for sigma in (0.0, 1.0):
        cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=EPS, sigma=sigma, delays=seq)
        E.run_batch(prob, seq, cfg, seeds[:1], T=min(T, 100), threads=1)
        t1, res = best_time(lambda: E.run_batch(prob, seq, cfg, seeds, T=T, threads=1, record_rejections=False), 3)
        t2, _ = best_time(lambda: E.run_batch(prob, seq, cfg, seeds, T=T, record_rejections=False), 3)
        per[sigma] = t1 / (lanes * T)
        acc = accs[sigma] = sum(r.accepted for r in res) / sum(r.steps_run for r in res)
        print(f"      kernel, sigma={sigma:g}: {per[sigma] * 1e6:.3f} us/lane-step on 1 thread; "
              f"{E.max_workers()} threads: {t1 / t2:.2f}x faster; accepted {acc:.1%}")
    print(f"      => the noise row costs {(per[1.0] - per[0.0]) * 1e6:.3f} us/lane-step "
          f"({(per[1.0] - per[0.0]) / per[1.0]:.0%} of the sigma=1 step)")
    nthr = E.max_workers()
    for sigma in (0.0, 1.0):
        cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=EPS, sigma=sigma, delays=seq)
        for L, TT in ((LANES, T_full), (lanes, T)):
            b = timed_batch(prob, seq, cfg, list(range(L)), T=TT, record_rejections=False)
            print(f"      run_batch sigma={sigma:g}, {L} lanes x {TT} steps, {nthr} threads (one run): wall {b['wall']:.3f} s; "
                  f"kernel {b['kernel']:.3f} thread-s (= {b['kernel'] / (nthr * b['wall']):.0%} of {nthr} threads x wall, "
                  f"{b['kernel'] / (L * TT) * 1e6:.3f} us/lane-step); records {b['record']:.3f} s serial "
                  f"({b['record'] / L * 1e3:.2f} ms/lane)")
    from verify.algorithms import delay_stats

    t_ds, _ = best_time(lambda: delay_stats(np.ascontiguousarray(seq.delays[:T_full])), 5)
    print(f"      of the records: delay_stats of the {T_full} delays (np.quantile; computed for every lane, also when "
          f"they share one sequence) {t_ds * 1e3:.2f} ms/lane")
    l_norm, l_dist, l_finite, l_grad, l_update, l_copy, l_draw = _primitive_loops()
    rng = np.random.default_rng(1)
    a, b, g, z, xn = (rng.standard_normal(d) for _ in range(5))
    xs = np.empty((2, d))
    pcode, pvec = prob.kernel
    ncode, nvec = make_noise("gaussian").kernel(d)
    n = max(2000, 2_000_000 // d)
    calls = {
        "grad f (1 per step)": lambda m: l_grad(pcode, pvec, a, g, m),
        "norm (||grad f(x_t)||)": lambda m: l_norm(a, m),
        "all_finite(x_t) (only when ||grad f|| or ||x_t - x_1|| is non-finite)": lambda m: l_finite(a, m),
        "dist (x_t-x_1, x_t-y_t, grad gap)": lambda m: l_dist(a, b, m),
        "update x_(t+1)": lambda m: l_update(a, b, z, xn, m),
        "snapshot copy (x or grad)": lambda m: l_copy(xs, a, m),
        "noise row (numba rng.standard_normal)": lambda m: l_draw(ncode, nvec, rng, z, m),
    }
    cost = {}
    for k, fn in calls.items():
        fn(2)  # compile
        t, _ = best_time(lambda: fn(n), 3)
        cost[k] = t / n
    print("      compiled primitives, per call at this d: " + "; ".join(f"{k} {v * 1e9:.0f} ns" for k, v in cost.items()))
    dl = seq.delays[:T]
    p = float(np.mean(dl > 0))
    _, _, parts = traffic_model(dl, False)
    q = parts["snapshot x_t + grad"] / 2
    c = cost

    def model(acc: float) -> float:
        return (c["grad f (1 per step)"] + c["norm (||grad f(x_t)||)"]
                + c["dist (x_t-x_1, x_t-y_t, grad gap)"] * (1 + p + acc * p)
                + c["update x_(t+1)"] * acc + c["snapshot copy (x or grad)"] * 2 * q)

    model0, noise = model(accs[0.0]), c["noise row (numba rng.standard_normal)"]
    acc_ = accs[0.0]
    print(f"      sum of primitives per lane-step (grad + norm + dist x (1 + p + acc p) + update x acc "
          f"+ copy x 2q, p = {p:.2f}, q = {q:.2f}): sigma=0 {model0 * 1e6:.3f} us (kernel {per[0.0] * 1e6:.3f} us); "
          f"sigma=1 {(model(accs[1.0]) + noise) * 1e6:.3f} us incl. the noise row {noise * 1e6:.3f} us "
          f"(kernel {per[1.0] * 1e6:.3f} us)")
    red = cost["norm (||grad f(x_t)||)"] / d * 1e9
    print(f"      a left-to-right reduction takes {red:.2f} ns per element (a serial add chain: no fast-math, "
          f"so no SIMD); reductions are {(cost['norm (||grad f(x_t)||)'] + cost['dist (x_t-x_1, x_t-y_t, grad gap)'] * (1 + p + acc_ * p)) / model0:.0%} "
          "of the sigma=0 primitives")
    if copy_bps:
        nthr = E.max_workers()
        reductions = (c["norm (||grad f(x_t)||)"]
                      + c["dist (x_t-x_1, x_t-y_t, grad gap)"] * (1 + p + accs[0.0] * p))
        for sg, what, t_alone in ((0.0, "the reductions alone", reductions), (1.0, "the noise row alone", noise)):
            rr, ww, _ = traffic_model(dl, sg != 0.0)
            ceiling = (rr + ww) * d * 8 / (t_alone / nthr) / copy_bps
            print(f"      ceiling at sigma={sg:g}: {what} ({t_alone * 1e6:.2f} us/lane-step, {nthr} threads) cap the bytes "
                  f"moved at {ceiling:.0%} of the copy, whatever the rest costs")
        r, w, _ = traffic_model(dl, False)
        t_bw = (r + w) * d * 8 / copy_bps
        print(f"      moving the model's {(r + w) * d * 8 / 1e3:.1f} kB/lane-step at the copy's bandwidth would take "
              f"{t_bw * 1e6:.3f} us; the kernel takes {per[0.0] * 1e6:.3f} us (1 thread): it is bound by arithmetic "
              "latency, not by memory")


# --------------------------------------------------------------------------------------------
# (c) peak memory at T = 1e7, one lane, d = 10 (fresh subprocess)
# --------------------------------------------------------------------------------------------
MEM_CHILD = r"""
import json, resource, sys, time, tracemalloc
def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) * 1024
    return -1
T = int(sys.argv[1])
import numpy as np
from verify import algorithms as A, engine as E
from verify.models import delays as D, problems as P

imports = status('VmRSS')
prob = P.make('logsum', 10)
t0 = time.perf_counter()
seq = D.make(sys.argv[2], T, seed=0)
t_make = time.perf_counter() - t0
make_hwm = status('VmHWM')
cfg = A.resolve('picky', beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0, delays=seq)
E.run_batch(prob, seq, cfg, [0], T=1000, record_rejections=True, threads=1)  # load / compile the kernel
try:  # hand freed heap (e.g. the transient of building the sequence) back to the OS, so that the run
    import ctypes  # cannot hide its own allocations in it: the baseline is then live memory
    trimmed = bool(ctypes.CDLL('libc.so.6').malloc_trim(0)) or True
except (OSError, AttributeError):
    trimmed = False
before = dict(maxrss=maxrss(), hwm=status('VmHWM'), rss=status('VmRSS'))
try:
    with open('/proc/self/clear_refs', 'w') as fh:  # reset VmHWM (the peak RSS) to the current RSS
        fh.write('5')
    reset = True
except OSError:
    reset = False
baseline = status('VmHWM') if reset else before['rss']
tracemalloc.start()
t0 = time.perf_counter()
(r,) = E.run_batch(prob, seq, cfg, [0], T=T, record_rejections=True, threads=1)
elapsed = time.perf_counter() - t0
tm_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
after = dict(maxrss=maxrss(), hwm=status('VmHWM'), rss=status('VmRSS'))
print(json.dumps(dict(T=T, imports=imports, before=before, reset=reset, baseline=baseline, after=after,
                      trimmed=trimmed, make_hwm=make_hwm, tm_peak=tm_peak, seq_bytes=int(seq.delays.nbytes), t_make=t_make, elapsed=elapsed,
                      slots=r.extra['slots'], rejected=r.rejected, first_hit=r.first_hit)))
"""


def _vm(key: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def part_c(T: int) -> None:
    print(f"\n(c) peak memory: one lane, logsum d=10, Picky sigma=1, record_rejections=True, delays {DELAYS}, "
          f"T={T:g} (fresh subprocess)" + ("" if T == 10_000_000 else "  [--quick: the target's T is 1e7]"))
    out = subprocess.run([sys.executable, "-c", MEM_CHILD, str(T), DELAYS], capture_output=True, text=True,
                         env=child_env(), check=False)
    if out.returncode != 0:
        print("    subprocess failed:\n" + out.stderr[-3000:])
        SUMMARY.append((f"(c) peak memory T={T:g}", "error", "<= 200 MB", "FAIL"))
        return
    m = json.loads(out.stdout.strip().splitlines()[-1])
    b, a = m["before"], m["after"]
    peak = a["hwm"] if m["reset"] else a["maxrss"]
    inc = peak - m["baseline"]
    print(f"    run: {m['elapsed']:.2f} s ({T / m['elapsed']:.3g} steps/s), {m['slots']} slots, "
          f"{m['rejected']} rejected steps (recorded), first_hit {m['first_hit']}")
    print(f"    delay sequence: {m['seq_bytes'] / MB:.0f} MB (int64; built in {m['t_make']:.2f} s; building it took the "
          f"peak RSS to {m['make_hwm'] / MB:.0f} MB, {(m['make_hwm'] - m['imports']) / MB:.0f} MB over the imports)")
    print(f"    RSS after imports {m['imports'] / MB:.0f} MB; before the run (imports + sequence + kernel loaded by "
          f"a 1000-step warm-up{', then malloc_trim(0)' if m['trimmed'] else ''}): RSS {b['rss'] / MB:.0f} MB, peak so far VmHWM {b['hwm'] / MB:.0f} MB, "
          f"ru_maxrss {b['maxrss'] / MB:.0f} MB")
    print(f"    after the run: ru_maxrss {a['maxrss'] / MB:.0f} MB; VmHWM (peak since the reset) {a['hwm'] / MB:.0f} MB; "
          f"RSS {a['rss'] / MB:.0f} MB")
    if m["reset"]:
        print("    (the peak before the run is the transient of building the sequence; so VmHWM -- the peak RSS "
              "that ru_maxrss reports -- was reset to the current RSS via /proc/self/clear_refs just before the "
              "run. ru_maxrss itself cannot be reset, and in a child of a big process it starts at the parent's "
              f"peak (Linux keeps the pre-exec high-water mark; this benchmark's own peak RSS is now {_vm('VmHWM') / MB:.0f} MB), "
              "so it is printed but not compared)")
    else:
        print("    (could not reset the peak RSS: the run's peak may be hidden by an earlier one)")
    print(f"    absolute peak RSS during the run {peak / MB:.0f} MB; increase over the pre-run RSS {m['baseline'] / MB:.0f} MB "
          f"(which holds the imports, the kernel and the {m['seq_bytes'] / MB:.0f} MB sequence) = what the run costs beyond "
          f"its inputs: {inc / MB:.0f} MB (target <= 200 MB: {verdict(inc <= 200 * MB)})")
    print(f"    tracemalloc peak (numpy's allocations only; numba's are not seen): {m['tm_peak'] / MB:.0f} MB. For scale, "
          f"T-sized buffers of one lane: slot plan (int32) {4 * T / MB:.0f} MB, rejection bitset {T / 8 / MB:.2f} MB, "
          f"the record's unpacked bitset {T / MB:.0f} MB and its delay_stats (np.quantile copies the "
          f"{m['seq_bytes'] / MB:.0f} MB delays)")
    SUMMARY.append((f"(c) T={T:g}: peak RSS - pre-run RSS (absolute peak {peak / MB:.0f} MB)",
                    f"{inc / MB:.0f} MB", "<= 200 MB", verdict(inc <= 200 * MB)))


# --------------------------------------------------------------------------------------------
# (d) first call in a fresh process
# --------------------------------------------------------------------------------------------
FIRST_CALL_CHILD = (
    "import time; t0 = time.perf_counter(); import verify.engine as E; t1 = time.perf_counter(); "
    "from verify import algorithms as A, delays as D, problems as P; "
    "p = P.make('logsum', 10); s = D.make('pareto:alpha=1.5,scale=3', 1000, seed=0); "
    "a = A.resolve('picky', beta=p.beta, F=p.F, eps=0.1, sigma=1.0, delays=s); t2 = time.perf_counter(); "
    "E.run_batch(p, s, a, [0, 1], T=1000); t3 = time.perf_counter(); "
    "print(t1 - t0, t2 - t1, t3 - t2)"
)
IMPORT_CHILD = "import verify.engine"


def _run_child(code: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return wall, out.stdout.strip()


def part_d(reps_cold: int, reps_warm: int, reps_import: int, warmup: bool) -> None:
    print("\n(d) first call in a fresh process: python -c \"import verify.engine; logsum d=10, pareto T=1000, "
          "Picky; run_batch(2 lanes) once\" (wall time of the whole process)")
    env = child_env()
    t_py = min(_run_child("pass", env)[0] for _ in range(3))
    if warmup:
        _run_child(IMPORT_CHILD, env)
    t_imp = min(_run_child(IMPORT_CHILD, env)[0] for _ in range(reps_import))
    print(f"    python -c pass: {t_py:.2f} s; python -c 'import verify.engine': {t_imp:.2f} s (best of {reps_import})")
    rows = []
    for label, reps in (("cold cache", reps_cold), ("warm default cache", reps_warm)):
        best = (math.inf, "")
        if label.startswith("warm") and warmup:
            _run_child(FIRST_CALL_CHILD, env)  # warm-up: the cache holds this source's kernel
        for _ in range(reps):
            tmp = tempfile.mkdtemp(prefix="picky-numba-cold-") if label.startswith("cold") else None
            try:
                e = child_env(PICKY_NUMBA_CACHE=tmp) if tmp else env
                wall, line = _run_child(FIRST_CALL_CHILD, e)
            finally:
                if tmp:
                    shutil.rmtree(tmp, ignore_errors=True)
            best = min(best, (wall, line))
        wall, line = best
        imp, setup, call = (float(v) for v in line.split())
        rows.append((label, wall, call))
        print(f"    {label:18s}: {wall:5.2f} s whole process = import verify.engine {imp:.2f} s + setup {setup:.2f} s "
              f"+ first run_batch {call:.2f} s (best of {reps}"
              + (", each with a new empty $PICKY_NUMBA_CACHE)" if label.startswith("cold") else ")"))
    SUMMARY.append(("(d) import verify.engine (fresh process)", f"{t_imp:.2f} s", "-", "info"))
    for label, wall, call in rows:
        SUMMARY.append((f"(d) first run_batch, {label}", f"{call:.2f} s ({wall:.1f} s process)", "-", "info"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short horizons (< 1 min)")
    ap.add_argument("--profile", action="store_true", help="print the (a)/(b) profiles even if the targets pass")
    args = ap.parse_args(argv)
    PROFILE["force"], PROFILE["quick"] = args.profile, args.quick
    t0 = time.perf_counter()
    print("picky-sgd engine benchmark" + (" (--quick)" if args.quick else "") + f", {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    print(machine_stability())
    if args.quick:
        plan = [(part_a, dict(T=10_000, T_plain=5_000, T_ref=5_000, reps=2)), (part_b, dict(T=500, reps=2)),
                (part_c, dict(T=1_000_000)), (part_d, dict(reps_cold=1, reps_warm=1, reps_import=1, warmup=False))]
    else:
        plan = [(part_a, dict(T=100_000, T_plain=20_000, T_ref=20_000, reps=4)), (part_b, dict(T=2_000, reps=3)),
                (part_c, dict(T=10_000_000)), (part_d, dict(reps_cold=2, reps_warm=3, reps_import=3, warmup=True))]
    for fn, kw in plan:
        t1 = time.perf_counter()
        fn(**kw)
        print(f"    [{fn.__name__} took {time.perf_counter() - t1:.0f} s]")
    print("\nsummary" + (" (--quick: shorter horizons than the targets')" if args.quick else ""))
    w = max(len(r[0]) for r in SUMMARY)
    wm = max(len(r[1]) for r in SUMMARY)
    print(f"  {'case':{w}s}  {'measured':{wm}s}  {'target':10s}  result")
    for case, meas, target, res in SUMMARY:
        print(f"  {case:{w}s}  {meas:{wm}s}  {target:10s}  {res}")
    n_fail = sum(r[3] == "FAIL" for r in SUMMARY)
    n_t = sum(r[3] in ("PASS", "FAIL") for r in SUMMARY)
    print(f"  {n_t - n_fail} of {n_t} targets pass; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Engine benchmark: throughput vs the reference, memory traffic vs a plain copy, live-iterate memory.

Run:  python benchmarks/bench_engine.py            (full, ~1-2 min; < 5 min)
      python benchmarks/bench_engine.py --quick    (~20 s, shorter horizons)
(after ``pip install -e .``, or with ``PYTHONPATH=.`` from the repository root).

(a) lane-steps/s of ``verify.engine.run_batch`` (256 lanes, one shared Pareto(alpha=1.5, scale=3)
    delay sequence, logsum d=10, sigma=1, eps=0.1, defaults from ``resolve``) vs
    ``verify.algorithms.reference_run`` (one lane; a shorter horizon of the same sequence -- its
    cost per step does not depend on t). Target: engine/reference >= 50x.
(b) at d=1000 (quadratic, 256 lanes, same delay model, Picky): the engine's bytes moved per second
    under a documented traffic model, as a fraction of np.copyto's bytes per second on arrays of the
    engine's (lanes, d) state, measured in the same run. Target >= 30%. Also: the (L, d)-array passes
    the engine actually makes per step, counted by tracing every numpy call of a short run.
(c) the live-iterate buffer (slots x lanes x d x 8 bytes) vs O(T x d) storage.

Timings: time.perf_counter, a warm-up run first, best of a few repeats.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np

try:
    import verify  # noqa: F401
except ImportError:  # running from a checkout without ``pip install -e .``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verify import algorithms as A  # noqa: E402
from verify import delays as D  # noqa: E402
from verify import engine as E  # noqa: E402
from verify import problems as P  # noqa: E402

DELAYS = "pareto:alpha=1.5,scale=3"
LANES = 256
MB = 1e6


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {cpu}; {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"numpy {np.__version__}; {platform.system()} {platform.release()}")


# --------------------------------------------------------------------------------------------
# (a) throughput
# --------------------------------------------------------------------------------------------
def part_a(T_eng: int, T_ref: int, reps_eng: int, reps_ref: int) -> None:
    print(f"\n(a) throughput: logsum d=10, {LANES} lanes, delays {DELAYS} (seed 0), sigma=1, eps=0.1")
    prob = P.make("logsum", 10)
    seq = D.make(DELAYS, T_eng, seed=0)
    st = seq.stats()
    print(f"    delay sequence T={T_eng}: tau_avg={st.tau_avg:.2f}, tau_max={st.tau_max}, "
          f"{np.mean(seq.delays > 0):.0%} of steps have d_t > 0")
    print(f"    engine: T={T_eng} steps x {LANES} lanes, best of {reps_eng}; reference: one lane, "
          f"T={T_ref} steps of the same sequence (cost per step is flat in t), best of {reps_ref}")
    seeds = list(range(LANES))
    for alg in ("picky", "delayed-sgd"):
        cfg = A.resolve(alg, beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0, delays=seq)
        E.run_batch(prob, seq, cfg, seeds, T=min(T_eng, 1000))  # warm-up
        A.reference_run(prob, seq, cfg, seed=0, T=min(T_ref, 500))
        t_eng = best_time(lambda: E.run_batch(prob, seq, cfg, seeds, T=T_eng), reps_eng)
        t_ref = best_time(lambda: A.reference_run(prob, seq, cfg, seed=0, T=T_ref), reps_ref)
        r_eng, r_ref = LANES * T_eng / t_eng, T_ref / t_ref
        # spot check: the engine reproduces the reference (seed 0, same horizon) bit for bit
        ref = A.reference_run(prob, seq, cfg, seed=0, T=T_ref)
        (eng,) = E.run_batch(prob, seq, cfg, [0], T=T_ref)
        same = all(getattr(ref, f) == getattr(eng, f) for f in (
            "first_hit", "min_grad_norm", "min_grad_norm_step", "min_f", "final_grad_norm", "final_f",
            "accepted", "max_accepted_distance", "max_accepted_grad_gap")) and np.array_equal(ref.rejected_steps, eng.rejected_steps)
        ratio = r_eng / r_ref
        print(f"    {alg:12s} reference {r_ref:11.4g} lane-steps/s | engine {r_eng:11.4g} lane-steps/s "
              f"| engine/reference {ratio:6.1f}x (target >= 50x: {'PASS' if ratio >= 50 else 'FAIL'}) "
              f"| engine == reference (seed 0, T={T_ref}): {'bit-for-bit' if same else 'NO'}")


# --------------------------------------------------------------------------------------------
# (b) memory traffic
# --------------------------------------------------------------------------------------------
class _Tally:
    """Bytes of (L, d)-sized numpy operands read and written, over all threads."""

    def __init__(self, big: int):
        self.big, self.read, self.written, self.calls = big, 0, 0, 0
        self.lock = threading.Lock()

    def add(self, reads, writes) -> None:
        r = sum(a.nbytes for a in reads if isinstance(a, np.ndarray) and a.size >= self.big)
        w = sum(a.nbytes for a in writes if isinstance(a, np.ndarray) and a.size >= self.big)
        with self.lock:
            self.read += r
            self.written += w
            self.calls += 1


TALLY: _Tally | None = None


def _plain(x):
    if isinstance(x, Traced):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


class Traced(np.ndarray):
    """An ndarray whose every ufunc call and numpy function call is tallied (reads: array inputs;
    writes: outputs). Results of traced operations are traced too."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kw):
        outs = out if out is not None else ()
        res = getattr(ufunc, method)(*_plain(inputs), **({"out": _plain(out)} if out is not None else {}), **_plain(kw))
        made = [] if out is not None else ([res] if isinstance(res, np.ndarray) else list(res) if isinstance(res, tuple) else [])
        TALLY.add(inputs, list(outs) + made)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return res.view(Traced) if isinstance(res, np.ndarray) else res

    def __array_function__(self, func, types_, args, kwargs):
        res = func(*_plain(args), **_plain(kwargs))
        name = func.__name__
        if name == "copyto":  # copyto(dst, src)
            TALLY.add([args[1]], [args[0]])
        elif name == "take":
            o = kwargs.get("out")
            TALLY.add([o if o is not None else res], [o if o is not None else res])
        elif name in ("einsum", "where", "cumsum", "sum", "max", "min", "any", "all", "concatenate", "stack"):
            TALLY.add([a for a in args if isinstance(a, np.ndarray)], [res] if isinstance(res, np.ndarray) else [])
        if isinstance(res, np.ndarray) and not isinstance(res, Traced):
            res = res.view(Traced)
        return res


class _NpProxy:
    """Stands in for the ``np`` of a module during the traced run: numpy, with a few overrides."""

    def __init__(self, **overrides):
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(np, name)


def traced_passes(prob, seq, cfg, T: int) -> tuple[float, float, int]:
    """Run the engine for T steps with every buffer it allocates traced; return (reads, writes) of
    (L, d)-sized arrays per step, in units of one (L, d) float64 array, and the numpy call count."""
    global TALLY
    TALLY = _Tally(big=16 * prob.dim)
    real_e, real_p = E.np, P.np
    eng_np = _NpProxy(empty=lambda *a, **k: np.empty(*a, **k).view(Traced),
                      zeros=lambda *a, **k: np.zeros(*a, **k).view(Traced))
    prob_np = _NpProxy(asarray=lambda x, dtype=None: np.asanyarray(x, dtype=dtype))  # keep traced inputs traced
    E.np, P.np = eng_np, prob_np
    try:
        E.run_batch(prob, seq, cfg, list(range(LANES)), T=T, record_rejections=False)
    finally:
        E.np, P.np = real_e, real_p
    unit = LANES * prob.dim * 8 * T
    return TALLY.read / unit, TALLY.written / unit, TALLY.calls


def model_arrays(seq, T: int, noisy: bool) -> tuple[float, float, dict]:
    """The documented traffic model, per step on average over the first T steps of ``seq``, in
    (L, d) float64 arrays: reads x_t, y_t = x_{t-d_t} (d_t > 0), z_t (sigma != 0), grad f(x_t),
    grad f(y_t) (d_t > 0); writes x_{t+1} and the snapshot of x_t when a later step reads it."""
    dl = seq.delays[:T]
    store, _, _ = E.slot_plan(dl)
    parts = {
        "x_t": 1.0, "y_t": float(np.mean(dl > 0)), "z_t": 1.0 if noisy else 0.0,
        "grad f(x_t)": 1.0, "grad f(y_t)": float(np.mean(dl > 0)),
        "x_{t+1}": 1.0, "snapshot": float(np.mean(store >= 0)),
    }
    reads = sum(parts[k] for k in ("x_t", "y_t", "z_t", "grad f(x_t)", "grad f(y_t)"))
    writes = parts["x_{t+1}"] + parts["snapshot"]
    return reads, writes, parts


def part_b(T: int, reps: int, trace_T: int) -> None:
    d = 1000
    print(f"\n(b) memory traffic: quadratic d={d} (spectrum linear 0.01..1, f = x^T diag(lam) x / 2), "
          f"{LANES} lanes, delays {DELAYS} (seed 0), Picky, eps=0.1, T={T}, best of {reps}")
    prob = P.make("quadratic", d)
    seq = D.make(DELAYS, T, seed=0)
    A_ = np.random.default_rng(0).standard_normal((LANES, d))
    B_ = np.empty_like(A_)
    np.copyto(B_, A_)
    t_copy = best_time(lambda: [np.copyto(B_, A_) for _ in range(50)], 7) / 50
    copy_bps = 2 * A_.nbytes / t_copy  # read + write
    arr = LANES * d * 8
    print(f"    plain copy: np.copyto of a ({LANES}, {d}) float64 array ({arr / MB:.2f} MB): "
          f"{t_copy * 1e6:.0f} us -> {copy_bps / 1e9:.2f} GB/s (read + write bytes)")
    print("    traffic model ('bytes moved'), per step, in (L, d) float64 arrays of "
          f"{arr / MB:.2f} MB: reads x_t, y_t = x_(t-d_t) [if d_t > 0], z_t [if sigma != 0], "
          "grad f(x_t), grad f(y_t) [if d_t > 0]; writes x_(t+1), and the snapshot of x_t [if a "
          "later step reads it] -- averaged over this sequence's steps")
    for sigma in (0.0, 1.0):
        cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=sigma, delays=seq)
        E.run_batch(prob, seq, cfg, list(range(LANES)), T=min(T, 50))  # warm-up
        t = best_time(lambda: E.run_batch(prob, seq, cfg, list(range(LANES)), T=T), reps)
        per_step = t / T
        reads, writes, parts = model_arrays(seq, T, sigma != 0.0)
        model_bps = (reads + writes) * arr / per_step
        frac = model_bps / copy_bps
        print(f"    sigma={sigma:g}: {per_step * 1e3:.3f} ms/step ({LANES * T / t:.3g} lane-steps/s); model "
              f"{reads:.2f} reads + {writes:.2f} writes = {reads + writes:.2f} arrays/step "
              f"({', '.join(f'{k} {v:.2f}' for k, v in parts.items() if v)})")
        print(f"      model bytes moved: {model_bps / 1e9:.2f} GB/s = {frac:.0%} of the copy's "
              f"{copy_bps / 1e9:.2f} GB/s (target >= 30%: {'PASS' if frac >= 0.30 else 'FAIL'})")
        try:
            tr, tw, calls = traced_passes(prob, seq, cfg, trace_T)
            actual_bps = (tr + tw) * arr / per_step
            print(f"      measured passes (every numpy call of a {trace_T}-step run traced; operands of "
                  f">= 16 rows of d counted, scratch included): {tr:.2f} reads + {tw:.2f} writes = "
                  f"{tr + tw:.2f} arrays/step, {calls / trace_T:.0f} numpy calls/step -> "
                  f"{actual_bps / 1e9:.2f} GB/s = {actual_bps / copy_bps:.0%} of the copy")
        except Exception as exc:  # pragma: no cover - diagnostics only
            print(f"      (pass tracing unavailable: {type(exc).__name__}: {exc})")
        if sigma != 0.0:
            z = np.empty((64, d))
            rng = np.random.default_rng(0)
            t_rng = best_time(lambda: rng.standard_normal(out=z), 20)
            per_step_rng = LANES * d * t_rng / z.size
            print(f"      (sigma > 0: drawing z_t alone -- {LANES} generators, numpy standard_normal "
                  f"-- costs {per_step_rng * 1e3:.3f} ms/step on one core, "
                  f"{z.size / t_rng / 1e6:.0f} M normals/s; it is generation, not traffic)")


# --------------------------------------------------------------------------------------------
# (c) memory of live iterates
# --------------------------------------------------------------------------------------------
def part_c(T_a: int, T_b: int) -> None:
    print("\n(c) live-iterate memory (shared delay sequence: one slot per simultaneously live iterate)")
    for d, T in ((10, T_a), (1000, T_b)):
        seq = D.make(DELAYS, T, seed=0)
        _, _, n_slots = E.slot_plan(seq.delays)
        live = n_slots * LANES * d * 8
        full = T * LANES * d * 8
        print(f"    d={d:5d}, T={T:7d}: {n_slots} slots (tau_max = {seq.delays.max()}): live iterates "
              f"{live / MB:8.2f} MB (x2 = {2 * live / MB:.2f} MB with their cached gradients) vs "
              f"O(T x d) storage {full / MB:10.1f} MB -> {full / live:,.0f}x less")
    # measured: peak of numpy allocations during one engine run (everything: buffers, blocks, noise)
    d, T = 1000, T_b
    prob = P.make("quadratic", d)
    seq = D.make(DELAYS, T, seed=0)
    cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=1.0, delays=seq)
    tracemalloc.start()
    E.run_batch(prob, seq, cfg, list(range(LANES)), T=T, record_rejections=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"    measured (tracemalloc) peak of a whole engine run at d={d}, T={T}, sigma=1: "
          f"{peak / MB:.1f} MB = {peak / (LANES * d * 8):.1f} (L, d) arrays "
          f"(vs {T} for O(T x d))")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short horizons (~20 s)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print("picky-sgd engine benchmark" + (" (--quick)" if args.quick else ""))
    print(machine_line())
    if args.quick:
        part_a(T_eng=10_000, T_ref=3_000, reps_eng=2, reps_ref=2)
        part_b(T=500, reps=2, trace_T=20)
        part_c(T_a=10_000, T_b=500)
    else:
        part_a(T_eng=100_000, T_ref=20_000, reps_eng=2, reps_ref=3)
        part_b(T=2_000, reps=3, trace_T=60)
        part_c(T_a=100_000, T_b=2_000)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Task-keyed noise drawn on demand (issue 23): memory flat in T, and its speed against per-lane noise.

Run:  python benchmarks/bench_task_noise.py                 (T = 1e5, 1e6, 1e7 for memory; ~3-4 min on 2 cores)
      python benchmarks/bench_task_noise.py --T 100000 1000000   (skip the 1e7 case)
(after ``pip install -e .``, or with ``PYTHONPATH=.`` from the repository root).

(a) Memory, d = 100, one lane (logsum, Picky SGD with its defaults, sigma = 1, eps = 0.01, no
    rejection record, no trace), delays ``geometric:mean=2``, the tasks of a recorded run (here
    ``T - 1 - t``: distinct, not in step order). For each T a fresh subprocess builds the sequence,
    warms the kernel on 1000 steps, returns the freed heap (malloc_trim(0)), resets the peak RSS
    (/proc/self/clear_refs) and runs the lane twice: with the sequence's tasks (task-keyed noise,
    each row drawn in the kernel) and with the same delays without tasks (the lane's own generator),
    the peak RSS reset before each. Printed: each run's peak RSS over the RSS before it, and their
    difference = what task-keyed noise costs beyond the per-lane noise. Target: that difference flat
    in T (O(d): a row and a 72-byte stream state), where precomputed rows would need 8 T d bytes
    (800 MB at T = 1e6, 8 GB at 1e7). The rest of a run's peak is the engine's own O(T) (the int32
    slot plan, the record's delay statistics), the same with and without tasks.
(b) Speed, d = 10 and 100, one lane, one thread, T = 2e5: kernel steps/s with task-keyed noise and
    with per-lane noise (same delays, same rule), best of 3 after a warm-up, and the difference per
    step. (No sigma = 0 baseline: without noise logsum's iterates decay into subnormal floats, which
    are slower, so it is no floor.) And the cost of one row per noise model: ``Noise.task_rows`` (the compiled Philox transform, 1e4 tasks in one call) vs
    ``Noise.sample`` (numpy's generator, 1e4 rows) vs the previous scheme's per-task generator
    ``default_rng(SeedSequence(seed, spawn_key=(domain, task)))`` plus one row (what precomputing cost).

MB = 10^6 bytes. Timings: time.perf_counter.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import verify  # noqa: F401
except ImportError:  # running from a checkout without ``pip install -e .``
    sys.path.insert(0, str(ROOT))

from verify import algorithms as A  # noqa: E402
from verify import engine as E  # noqa: E402
from verify.models import delays as D  # noqa: E402
from verify.models import problems as P  # noqa: E402
from verify.models.noise import make_noise  # noqa: E402

MB = 1e6
DIM = 100
DELAYS = "geometric:mean=2"

MEM_CHILD = r"""
import ctypes, json, sys, time
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) * 1024
    return -1
def reset_peak():
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as fh:  # VmHWM (peak RSS) := the current RSS
        fh.write('5')
    return status('VmHWM')
T, dim, spec = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import numpy as np
from verify import algorithms as A, engine as E
from verify.models import delays as D, problems as P
prob = P.make('logsum', dim)
base = D.make(spec, T, seed=0)
tasked = D.DelaySequence(base.delays, 'tasked', {}, None, tasks=np.arange(T - 1, -1, -1, dtype=np.int64))
plain = D.DelaySequence(base.delays, 'tasked', {}, None)
cfg = A.resolve('picky', beta=prob.beta, F=prob.F, eps=0.01, sigma=1.0, delays=base)
for s in (tasked, plain):  # load the kernel (both paths: one compiled function)
    E.run_batch(prob, s, cfg, [0], T=1000, record_rejections=False, threads=1)
out = {'T': T, 'dim': dim, 'inputs_bytes': int(base.delays.nbytes + tasked.tasks.nbytes)}
for name, s in (('tasked', tasked), ('plain', plain)):
    before = reset_peak()
    t0 = time.perf_counter()
    (r,) = E.run_batch(prob, s, cfg, [0], record_rejections=False, threads=1)
    out[name] = {'before': before, 'peak': status('VmHWM'), 'seconds': time.perf_counter() - t0,
                 'steps': r.steps_run, 'final_f': r.final_f, 'slots': r.extra['slots']}
print(json.dumps(out))
"""


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PICKY_THREADS", "1")
    return env


def part_a(Ts: list[int]) -> list[tuple]:
    print(f"(a) memory: one lane, logsum d={DIM}, Picky sigma=1, delays {DELAYS}, tasks T-1..0; fresh subprocess per T")
    rows = []
    for T in Ts:
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", MEM_CHILD, str(T), str(DIM), DELAYS], capture_output=True, text=True,
                             env=child_env(), check=False)
        if out.returncode != 0:
            print(f"    T={T:.0e}: subprocess failed:\n" + out.stderr[-3000:])
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        inc = {k: (m[k]["peak"] - m[k]["before"]) / MB for k in ("tasked", "plain")}
        print(f"    T={T:.0e} ({time.perf_counter() - t0:.0f} s in all): inputs (delays + tasks) {m['inputs_bytes'] / MB:.0f} MB; "
              f"peak RSS over the pre-run RSS: task-keyed {inc['tasked']:.1f} MB "
              f"({m['tasked']['seconds']:.1f} s, {m['tasked']['steps'] / m['tasked']['seconds']:.3g} steps/s), "
              f"per-lane noise {inc['plain']:.1f} MB ({m['plain']['seconds']:.1f} s); "
              f"difference {inc['tasked'] - inc['plain']:+.1f} MB; precomputed rows would be {8 * T * DIM / MB:.0f} MB")
        rows.append((T, inc["tasked"], inc["plain"]))
    if len(rows) >= 2:
        diffs = [t - p for _, t, p in rows]
        growth = MB * (rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0]) if rows[-1][0] > rows[0][0] else 0.0
        print(f"    task-keyed minus per-lane: {', '.join(f'{x:+.1f}' for x in diffs)} MB at T = "
              f"{', '.join(f'{T:.0e}' for T, *_ in rows)}; the task-keyed run's own peak grows by "
              f"{growth:.1f} bytes per step (the engine's O(T): the int32 slot plan and the record's delay statistics), "
              f"against {8 * DIM} bytes per step for precomputed rows")
    return rows


def _best(fn, reps: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def part_b(T: int) -> None:
    print(f"\n(b) speed: one lane, one thread, logsum, Picky, delays {DELAYS}, T = {T:.0e}; best of 3")
    for dim in (10, DIM):
        prob = P.make("logsum", dim)
        base = D.make(DELAYS, T, seed=0)
        tasked = D.DelaySequence(base.delays, "tasked", {}, None, tasks=np.arange(T - 1, -1, -1, dtype=np.int64))
        res = {}
        cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.01, sigma=1.0, delays=base)
        for name, seq in (("task-keyed", tasked), ("per-lane", base)):
            res[name] = T / _best(lambda: E.run_batch(prob, seq, cfg, [0], record_rejections=False, threads=1))
        print(f"    d={dim}: steps/s task-keyed {res['task-keyed']:.3g}, per-lane {res['per-lane']:.3g} "
              f"(ratio {res['task-keyed'] / res['per-lane']:.2f}); task-keyed costs "
              f"{1e6 * (1 / res['task-keyed'] - 1 / res['per-lane']):+.2f} us per step more")
    n = 10_000
    tasks = np.arange(n, dtype=np.int64)
    print(f"    one row of d={DIM}, per model (us): task_rows (Philox, {n} tasks in one call) | sample (numpy generator, "
          f"{n} rows) | previous scheme: default_rng(SeedSequence(seed, spawn_key=(domain, task))) + one row")
    for spec in ("gaussian", "bounded", "rademacher", "student_t:df=3"):
        nz = make_noise(spec)
        t_task = _best(lambda: nz.task_rows(1, tasks, DIM)) / n
        t_sample = _best(lambda: nz.sample(np.random.default_rng(1), n, DIM)) / n
        m = 1000
        t_old = _best(lambda: [nz.sample(np.random.default_rng(np.random.SeedSequence(1, spawn_key=(0x7461736B, k))), 1, DIM)
                               for k in range(m)]) / m
        print(f"      {spec:15s} {1e6 * t_task:7.2f} | {1e6 * t_sample:7.2f} | {1e6 * t_old:7.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000], help="horizons of (a)")
    ap.add_argument("--speed-T", type=int, default=200_000, help="horizon of (b)")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; numpy {np.__version__}")
    part_a(args.T)
    part_b(args.speed_T)
    return 0


if __name__ == "__main__":
    sys.exit(main())

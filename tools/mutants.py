"""Planted bugs: each mutant changes one line of a copy of the package; the test suite and
``picky verify --profile quick`` are run against it, and must go red.

    python tools/mutants.py                 # every mutant: suite, then picky verify (about 40 min)
    python tools/mutants.py --only M03 M07  # some of them
    python tools/mutants.py --suite-only    # skip picky verify (about 25 min)
    python tools/mutants.py --verify-only   # only picky verify (the suite columns are kept from the last report)
    python tools/mutants.py --list

Why a script and not mutmut or cosmic-ray: the mutants that matter here are semantic (an accept rule's
"<=" becoming "<", a stale index off by one, a theory constant, the noise stream of rejected steps) and
live in SymPy expressions, compiled kernels and statistical tests; generic operator mutation produces
thousands of mostly irrelevant mutants, each of which would recompile the numba kernel (about 20 s) and
run a 2-minute suite. A short list of meaningful mutants, each asserted to apply exactly once, is
cheaper and says more. Each mutant runs in a fresh copy of the checkout (``theory/``, ``verify/``,
``tests/``, ``pyproject.toml``) with its own numba cache directory, imported through ``PYTHONPATH``
(ahead of the editable install); the suite runs with ``-x`` (the first failing test kills the mutant).

Output: a table on stdout and ``tools/mutants-report.md``: per mutant, killed by the suite (the first
failing test), killed by ``picky verify`` (the claims whose verdict changed or the crash), and the kill
rates.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    id: str
    area: str
    path: str
    old: str
    new: str
    what: str


MUTANTS = [
    Mutant("M01", "accept rule", "theory/rules.py", "accept=sp.Le(dist, rho),", "accept=sp.Lt(dist, rho),",
           "Picky's test '<=' becomes '<' (a distance equal to rho is rejected)"),
    Mutant("M02", "accept rule", "theory/rules.py", "accept=sp.Le(dist, rho),", "accept=sp.Le(dist, 2 * rho),",
           "Picky accepts stale gradients up to 2 rho"),
    Mutant("M03", "threshold", "theory/results.py", "RHO_D = eps / (2 * beta)", "RHO_D = eps / beta",
           "Theorem D's threshold eps/(2 beta) becomes eps/beta"),
    Mutant("M04", "stale index", "verify/algorithms/reference.py", "y_t = xs[t - 1 - d_t]", "y_t = xs[max(t - 2 - d_t, 0)]",
           "the reference reads the iterate one step older than d_t says"),
    Mutant("M05", "stale gradient", "verify/engine/kernel.py", "            gy = gs[s]\n", "            gy = g\n",
           "the kernel applies the current gradient instead of the stale one"),
    Mutant("M06", "noise stream", "verify/engine/kernel.py", "            else:\n                draw_any(",
           "            elif i % 2 == 0:\n                draw_any(",
           "the kernel draws a fresh noise row only every other step (the stream shifts; odd steps reuse the last row)"),
    Mutant("M07", "noise model", "verify/models/noise.py", "return GAUSSIAN, np.array([1.0 / math.sqrt(dim)])",
           "return GAUSSIAN, np.array([1.0 / dim])", "Gaussian noise scaled by 1/dim instead of 1/sqrt(dim) (variance 1/dim)"),
    Mutant("M08", "delay statistics", "verify/models/delays.py", "tau_avg=total / d.size,", "tau_avg=total / max(1, d.size - 1),",
           "tau_avg divides by T - 1"),
    Mutant("M09", "default step", "theory/results.py", "ETA_D = 1 / (beta * sp.Max(9, ", "ETA_D = 1 / (beta * sp.Max(8, ",
           "Theorem D's step cap 1/(9 beta) becomes 1/(8 beta)"),
    Mutant("M10", "default step", "theory/rules.py",
           "        Parameter(eta, _DSGD_STEP, \"theory delayed-sgd step_size at the sequence's tau_max (choice made here)\",",
           "        Parameter(eta, _DSGD_STEP.subs(tau_max, tau_avg), \"theory delayed-sgd step_size at the sequence's tau_max (choice made here)\",",
           "delayed SGD's default step scaled to tau_avg instead of tau_max"),
    Mutant("M11", "delay model", "verify/models/delays.py", "return np.arange(T, dtype=np.int64) % (m + 1)",
           "return np.arange(T, dtype=np.int64) % max(m, 1)", "bursty delays with period m instead of m + 1"),
    Mutant("M12", "delay model", "verify/models/delays.py", "    d[position - 1] = position - 1\n", "    d[position - 1] = max(position - 2, 0)\n",
           "the straggler's delay one short of t - 1"),
    Mutant("M13", "theory constant", "theory/results.py", "sp.Le(S, eps**2 * T**2 / (_C_DELAY * beta * F))",
           "sp.Le(S, eps**2 * T**2 / (4480 * beta * F))", "Theorem D''s delay condition with 4480 instead of 8960"),
    Mutant("M14", "counting lemma", "theory/results.py", "(4 * b * s / (sp.sqrt(b**2 + 8 * b * s) + b), True)",
           "(8 * b * s / (sp.sqrt(b**2 + 8 * b * s) + b), True)", "the counting lemma's exact bound doubled"),
    Mutant("M15", "divergence guard", "verify/engine/kernel.py", "        if r > radius:\n", "        if r > 10.0 * radius:\n",
           "the kernel's divergence radius ten times the guard's"),
    Mutant("M16", "statistical test", "verify/claims/common.py", 'return float(stats.binomtest(k, n, p0, alternative="less").pvalue)',
           'return float(stats.binomtest(k, n, p0, alternative="greater").pvalue)',
           "the one-sided binomial test of claim 2 tests the wrong side (it can never reject p >= 1/2)"),
    Mutant("M17", "statistical test", "verify/claims/common.py", 'proportion_ci(confidence_level=confidence, method="exact")',
           'proportion_ci(confidence_level=confidence, method="wilson")', "Clopper-Pearson replaced by Wilson intervals"),
    Mutant("M18", "step rule", "theory/rules.py", "(sp.Min(eta, 1 / (4 * beta * d)), True)", "(sp.Min(eta, 1 / (4 * beta)), True)",
           "the KSJ delay-adaptive cap loses its 1/d_t"),
    Mutant("M19", "accept rule", "theory/rules.py", "accept=sp.Lt(d, R),", "accept=sp.Le(d, R),",
           "stale-drop keeps gradients with delay exactly R"),
    Mutant("M20", "first hit", "verify/engine/kernel.py", "        if G <= eps and first_hit == 0:", "        if G < eps and first_hit == 0:",
           "the kernel's eps-stationarity test strict"),
    Mutant("M21", "delays ignored", "theory/rules.py", "    uses_delays=False,\n", "    uses_delays=True,\n",
           "plain SGD sees the delay sequence"),
    Mutant("M22", "divergence guard", "verify/algorithms/reference.py", "1e12 * (1.0 + norm(np.asarray(x1, dtype=float)))",
           "1e300 * (1.0 + norm(np.asarray(x1, dtype=float)))", "the default divergence radius 1e300 (runs overflow before they are flagged)"),
    Mutant("M23", "adaptive adversary", "verify/models/adversaries.py", "np.floor(self.tau_budget * t - self.spent + 1e-9)",
           "np.floor(self.tau_budget * t + 1e-9)", "the adaptive adversaries forget what they spent (the tau_avg budget is exceeded)"),
    Mutant("M24", "adaptive adversary", "verify/models/adversaries.py", "            if not self.rule.accepts(dist(x_t, xs[t - 1 - dd]), dd):",
           "            if self.rule.accepts(dist(x_t, xs[t - 1 - dd]), dd):",
           "PickyRejector picks delays the algorithm accepts (it stops attacking the accept rule)"),
    Mutant("M25", "manifest", "verify/io/output.py",
           'or f.stat().st_size != info.get("bytes") or sha256(f) != info.get("sha256"):', ':',
           "read_manifest no longer compares sizes and checksums (an edited result passes)"),
    Mutant("M26", "atomic output", "verify/io/output.py", "    def __exit__(self, exc_type, exc, tb) -> None:\n        self.abort()",
           "    def __exit__(self, exc_type, exc, tb) -> None:\n        pass",
           "an aborted result directory leaves its temporary sibling behind"),
    Mutant("M27", "replay header", "verify/cli/simulate.py", "    _check_header(p, saved, where, flag)\n", "    pass\n",
           "--replay no longer checks that run.json's parameters describe the saved lanes"),
    Mutant("M28", "JSON policy", "verify/io/jsonsafe.py", "            found[path] = _name(x)", "            pass",
           "non-finite values become null without their 'nonfinite' reason (records lose inf/nan)"),
    Mutant("M29", "interrupts", "verify/io/output.py", "        if pending:\n            raise KeyboardInterrupt",
           "        if pending:\n            pass",
           "Ctrl-C during the final rename is swallowed instead of delivered after it"),
    Mutant("M30", "spec grammar", "verify/io/specs.py", "        if j < n and body[j] in \"\\\"'\":", "        if False:",
           "quoted spec values are no longer understood (a path with a comma cannot be given)"),
    Mutant("M31", "task noise", "verify/engine/kernel.py", "    keyed = tasks.size > 0\n", "    keyed = False\n",
           "the compiled engine ignores a sequence's tasks (draws the lane's own stream)"),
    Mutant("M32", "task noise", "verify/algorithms/reference.py", "        noise_keys = dseq.tasks\n", "        noise_keys = None\n",
           "the reference loop ignores a sequence's tasks"),
    Mutant("M33", "task noise", "verify/runtime/async_server.py", "noise.task_rows(seed, [task], g.shape[0])",
           "noise.task_rows(seed, [task + 1], g.shape[0])",
           "an async worker draws the next task's noise (its checker shares the slip, so only an oracle sees it)"),
    Mutant("M34", "executors", "verify/claims/__init__.py", "            ctx.runs.extend(runs)\n", "            pass\n",
           "distributed claims' runs are not merged: claims 3, 4, 9 see fewer runs than in one process"),
    Mutant("M35", "replay trace", "verify/models/delays.py", "    return d, extra.wall_clock, extra.tasks", "    return d",
           "a replayed JSON trace loses its tasks (and arrival times): its noise is no longer keyed by task"),
    Mutant("M36", "default step", "theory/results.py", "sp.Max(4 * sp.Max(1, tau_C), 4 * sigma**2", "sp.Max(4, 4 * sigma**2",
           "delay-adaptive's base step loses its 1/tau_C (back to KSJ's cap 1/(4 beta) alone, unstable from tau_C = 6)"),
    Mutant("M37", "task noise", "verify/models/noise.py", "    m = math.sqrt(-2.0 * math.log(s) / s)\n",
           "    m = math.sqrt(-math.log(s) / s)\n",
           "the task stream's polar normals lose their factor 2 (task-keyed Gaussian noise of variance 1/2)"),
    Mutant("M38", "worst-case program", "verify/worstcase/program.py", "    d = np.array(d[:T], dtype=np.int64)\n",
           "    d = np.array(np.minimum(d[:T] + (d[:T] > 0), np.arange(T)), dtype=np.int64)\n",
           "the SDP's program reads the iterate one step older than d_t says on delayed steps (consistently: its "
           "certificates still pass)"),
    Mutant("M39", "streaming minimum", "verify/engine/kernel.py", "        if G < gmin:\n", "        if G < gmin and t > 1:\n",
           "the kernel's min_t ||grad f(x_t)|| skips x_1 (first hits and every other statistic unchanged)"),
    Mutant("M40", "trace durations", "verify/models/compute.py",
           '        d = b - a + (TRACE_TICK if st != "applied" else 0.0)\n', "        d = b - a\n",
           "a real run's cancelled/unfinished computations lose their extra tick (on a tie they pop before the event "
           "that cancels them: the trace: model no longer reproduces the run)"),
]


def _copy(dst: Path) -> None:
    for name in ("theory", "verify", "tests", "tools"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dst / name)


def apply(m: Mutant, dst: Path) -> None:
    p = dst / m.path
    src = p.read_text()
    n = src.count(m.old)
    if n != 1:
        raise SystemExit(f"{m.id}: the line to mutate occurs {n} times in {m.path} (expected exactly once): {m.old!r}")
    p.write_text(src.replace(m.old, m.new))


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as exc:
        return -9, f"timeout after {timeout:.0f} s\n{exc.stdout or ''}", time.perf_counter() - t0


def _first_failure(out: str) -> str:
    m = re.search(r"^FAILED (\S+)", out, re.M) or re.search(r"^ERROR (\S+)", out, re.M)
    if m:
        return m.group(1)
    return out.strip().splitlines()[-1][:120] if out.strip() else "?"


def _verify_change(out: str) -> str:
    bad = re.findall(r"^\d+\. (\S+)\s+(fail|inconclusive|condition-not-met)", out, re.M)
    if bad:
        return ", ".join(f"{c}: {v}" for c, v in bad)
    return out.strip().splitlines()[-1][:120] if out.strip() else "?"


def run_one(m: Mutant, suite_only: bool, verify_only: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"picky-{m.id}-") as tmp:
        dst = Path(tmp)
        _copy(dst)
        apply(m, dst)
        env = dict(os.environ, PYTHONPATH=str(dst), PICKY_NUMBA_CACHE=str(dst / ".numba"), PICKY_HYPOTHESIS_PROFILE="ci")
        res = {"id": m.id, "area": m.area, "what": m.what}
        if not verify_only:
            code, out, secs = _run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "tests"], dst, env, 1800)
            res.update(suite_killed=code != 0, suite_by=_first_failure(out) if code != 0 else "", suite_seconds=secs)
        if not suite_only:
            vcode, vout, vsecs = _run([sys.executable, "-m", "verify.cli", "verify", "--profile", "quick", "--out",
                                       str(dst / "report")], dst, env, 1800)
            res.update(verify_killed=vcode != 0, verify_by=_verify_change(vout) if vcode != 0 else "",
                       verify_seconds=vsecs)
        return res


#: why ``picky verify`` cannot see most mutants (appended to the report; the suite must kill every one)
VERIFY_NOTES = """
## Why `picky verify` misses most mutants

`picky verify` checks the paper's claims, not the implementation: a mutant survives it when the claims
still hold for the mutated package. That is expected for

- implementation paths `picky verify` does not run: the literal reference loop (M04, M22; verify runs the
  compiled kernel, the reference only for the adaptive adversaries), the divergence radius (M15: the
  stability claim's divergent runs are still flagged, a few steps later), plain SGD's delays (M21), the adaptive adversaries' budget and choice
  (M23, M24: claim 1 still passes against a weaker adversary);
- constants and models inside loose bounds: the measured/bound ratios are 0.004-0.17 (Theorem D' 0.015),
  so a step cap 1/8 instead of 1/9 (M09), a D' constant halved (M13), the KSJ cap (M18), a stale-drop
  off-by-one (M19), a noise variance 1/dim (M07) or an every-other-step noise stream (M06) leave every
  claim true; a delay model's period or a straggler's position (M11, M12) and tau_avg's denominator (M08)
  change horizons by a fraction of a percent; Wilson instead of Clopper-Pearson (M17) moves the intervals'
  ends without changing a verdict (every success rate is far from 1/2); the doubled counting bound (M14) is still a valid upper bound;
  a strict eps test (M20) matters only on an exact tie, which no claim run meets.

Each of these is killed by the suite, by a test written against hand values or a hand loop (the
"killed by" column). The claims that do catch planted bugs are the exact ones: the invariants (accept
rule both ways, threshold), stability (the stale gradient) and the stochastic claim's binomial test.
"""


_ROW = re.compile(r"^\| (M\d+) \| [^|]* \| .*? \| (killed|SURVIVED) \| (.*?) \| (killed|survived|-) \| (.*?) \|$")


def previous_rows(path: Path) -> dict[str, dict]:
    """The suite (and verify) columns of each mutant in an earlier report, by id (for --verify-only)."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        m = _ROW.match(line)
        if m:
            out[m.group(1)] = {"suite_killed": m.group(2) == "killed", "suite_by": m.group(3).strip("`"),
                               "verify": m.group(4), "verify_by": m.group(5)}
    return out


def report(rows: list[dict], suite_only: bool, command: str | None = None) -> str:
    n = len(rows)
    ks = sum(r["suite_killed"] for r in rows)
    lines = ["# Mutation testing: planted bugs", "",
             f"Generated by `{command or 'python tools/mutants.py' + (' --suite-only' if suite_only else '')}` "
             f"({time.strftime('%Y-%m-%d', time.gmtime())}). Each mutant is one line changed in a copy of the package.", "",
             f"- test suite: **{ks}/{n} killed ({100 * ks / n:.0f}%)**"]
    if not suite_only:
        kv = sum(r["verify_killed"] for r in rows)
        lines.append(f"- `picky verify --profile quick`: **{kv}/{n} killed ({100 * kv / n:.0f}%)**")
    lines += ["", "| mutant | area | planted bug | suite | killed by | verify | verify says |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        v = ("killed" if r.get("verify_killed") else "survived") if not suite_only else "-"
        lines.append(f"| {r['id']} | {r['area']} | {r['what']} | {'killed' if r['suite_killed'] else 'SURVIVED'} | "
                     f"`{r['suite_by']}` | {v} | {r.get('verify_by', '')} |")
    return "\n".join(lines) + "\n" + ("" if suite_only else VERIFY_NOTES)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", default=None, metavar="ID")
    ap.add_argument("--suite-only", action="store_true")
    ap.add_argument("--verify-only", action="store_true",
                    help="run only picky verify on each mutant; the suite columns are read from the last report (--out)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "tools" / "mutants-report.md"))
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m.id in args.only]
    if args.list:
        for m in MUTANTS:
            print(f"{m.id}  {m.area:18s} {m.path:34s} {m.what}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:  # every mutant applies exactly once, before anything runs
        _copy(Path(tmp))
        for m in chosen:
            src = (Path(tmp) / m.path).read_text()
            if src.count(m.old) != 1:
                raise SystemExit(f"{m.id}: the line to mutate occurs {src.count(m.old)} times in {m.path}")
    if args.suite_only and args.verify_only:
        raise SystemExit("--suite-only and --verify-only are exclusive")
    before = previous_rows(Path(args.out)) if args.verify_only else {}
    if args.verify_only and (missing := [m.id for m in chosen if m.id not in before]):
        raise SystemExit(f"--verify-only keeps the suite columns of {args.out}, which has no row for {', '.join(missing)}")
    rows = []
    for m in chosen:
        r = run_one(m, args.suite_only, args.verify_only)
        if args.verify_only:
            r.update(suite_killed=before[m.id]["suite_killed"], suite_by=before[m.id]["suite_by"], suite_seconds=float("nan"))
        rows.append(r)
        print(f"{m.id} {m.area:18s} suite {'killed' if r['suite_killed'] else 'SURVIVED'} ({r['suite_seconds']:.0f} s) "
              f"{r['suite_by']}" + ("" if args.suite_only else
                                    f" | verify {'killed' if r['verify_killed'] else 'survived'} ({r['verify_seconds']:.0f} s) {r['verify_by']}"),
              flush=True)
    command = "python tools/mutants.py" + (" --suite-only" if args.suite_only else "") + (" --verify-only" if args.verify_only else "") \
        + (f" --only {' '.join(args.only)}" if args.only else "")
    text = report(rows, args.suite_only, command)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every example of examples/ runs and prints what it says (issue 21: examples must not rot).

The Python scripts run as the README shows them, at their reduced size (``--small``, ``--seeds 40``);
each printed number checked here is computed by hand in the comment beside it (or by an independent
oracle: scipy's binomial distribution). The sweep files run at a reduced size: rewritten into tmp_path
with ``steps = 2000`` and ``seeds = 2`` (the realistic one also on its first problem and noise only),
every other key as shipped.
"""
from __future__ import annotations

import csv
import math
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(*argv: str, timeout: float = 300) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PICKY_DEBUG", None)
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested_and_referenced_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    shipped = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".toml"))
    assert shipped == ["bound_calculators.py", "own_bound_check.py", "rate_comparison_figure.py",
                       "sweep-realistic.toml", "sweep-small.toml"]
    for name in shipped:
        assert f"examples/{name}" in readme, name
        text = (EXAMPLES / name).read_text()
        assert ("python examples/" + name if name.endswith(".py") else "picky sweep examples/" + name) in text


def test_bound_calculators():
    out = run("examples/bound_calculators.py", "--small")
    # Theorem D at beta F = 6, eps = 1/2, sigma = 1, tau_avg = 1: 49152 + 12288 + 215040
    assert "steps (Theorem D, tau_avg=1): 276480\n" in out
    assert "accuracy after 276480 steps: 0.5\n" in out  # the inverse gives eps back
    assert "step size eta = 0.015625 (1/64), threshold rho = 0.125\n" in out  # 1/(2*32); 0.5/(2*2)
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.split()}
    assert rows["sgd"][-1] == "3168"  # 4 beta F/eps^2 + 32 beta F sigma^2/eps^4 = 96 + 3072
    assert rows["picky"][-1] == "144"  # C beta F (sigma^2/eps^4 + (1 + tau_avg)/eps^2) = 6 (16 + 8)
    # Theorem D' on constant delay 5 at beta = 1, F = eps = 1/2: T^2 - 89600 T + 268800 >= 0 -> 89597
    assert rows["constant:tau=5"][1:] == ["5.000", "5", "89597"]
    assert any(ln.startswith("recorded trace ") for ln in out.splitlines())


def test_own_bound_check():
    from verify.models import delays

    n = 40
    out = run("examples/own_bound_check.py", "--seeds", str(n))
    tau_avg = float(delays.make("pareto:alpha=1.5,scale=3", 100_000, seed=1).delays.mean())
    T = math.ceil(4 * 2 * 10 * math.log(10) * (0.5**2 / 0.3**4 + (1 + tau_avg) / 0.3**2))  # the stated bound
    assert f"= {T} steps, P(hit by T) >= 0.5" in out and 18000 < T < 19000
    found = {}
    for m in re.finditer(r"^(\S+)\s+hit by T in\s+(\d+)/(\d+) seeds\s+p-value (\S+)\s+-> bound (REJECTED|not rejected)",
                         out, re.M):
        k = int(m[2])
        assert int(m[3]) == n
        assert math.isclose(float(m[4]), stats.binom.cdf(k, n, 0.5), rel_tol=1e-2)  # P(Bin(40, 1/2) <= k)
        found[m[1]] = (k, m[5])
    # the example's outcome: the tau_avg bound holds for Picky SGD and is refuted for delayed SGD
    # (0 of 40 hits: p-value 2^-40 = 9.09e-13 < 0.01)
    assert found["picky"][1] == "not rejected" and found["picky"][0] >= n // 2
    assert found["delayed-sgd"] == (0, "REJECTED") and "p-value 9.09e-13" in out


def test_rate_comparison_figure(tmp_path):
    png = tmp_path / "sub" / "rates.png"
    out = run("examples/rate_comparison_figure.py", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # at eps = 0.1, beta F = sigma = 1: 10000 + 100100 steps (tau_max = 1000) against 10000 + 300 (tau_avg = 2)
    assert "delayed SGD 110100 steps, Picky SGD 10300 steps, ratio 10.6893" in out  # 110100/10300 = 10.68932
    assert f"wrote {png}" in out
    out = run("examples/rate_comparison_figure.py")  # no path: a new temporary directory
    written = Path(out.split("wrote ")[1].strip())
    assert written.is_file() and written.name == "rates.png"


def reduced(name: str, tmp_path: Path, **first: bool) -> Path:
    """The sweep file at the tests' size: steps = 2000, seeds = 2 (and, for the keys in ``first``, only
    the first value of the list)."""
    data = tomllib.loads((EXAMPLES / name).read_text())
    body = data["sweep"]
    body.update(steps=2000, seeds=2)
    for k in first:
        body[k] = body[k][:1]

    def toml(v):
        return ("true" if v else "false") if isinstance(v, bool) else \
            "[" + ", ".join(toml(x) for x in v) + "]" if isinstance(v, list) else \
            f'"{v}"' if isinstance(v, str) else repr(v)

    path = tmp_path / name
    path.write_text("".join(f"[{t}]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in tab.items())
                            for t, tab in data.items()))
    return path


def sweep_rows(tmp_path: Path, toml: Path) -> tuple[str, list[dict]]:
    out_dir = tmp_path / "out"
    out = run("-m", "verify.cli", "sweep", str(toml), "--out", str(out_dir), "--workers", "2")
    with open(out_dir / "results.csv", newline="") as f:
        return out, list(csv.DictReader(f))


def test_sweep_small(tmp_path):
    out, rows = sweep_rows(tmp_path, reduced("sweep-small.toml", tmp_path))
    assert "12 cells (12 computed, 0 cached)" in out  # 3 delay models x 2 sigmas x 2 eps
    lanes = {(r["algorithm"], r["delays"], r["sigma"], r["eps"], r["seed"]) for r in rows}
    assert len(lanes) == 12 * 3 * 2  # cells x algorithms x seeds
    hits = {(r["delays"], r["seed"]): r["value"] for r in rows if r["metric"] == "first_hit" and
            r["algorithm"] == "picky" and r["sigma"] == "0.0" and r["eps"] == "0.1"}
    # the independent prototype of paper.md's sanity run (logsum d = 10, x_1 = 3, eps = 0.1, sigma = 0)
    assert hits[("constant:tau=5", "0")] == hits[("constant:tau=5", "1")] == "471"
    assert hits[("straggler", "0")] == "88"


def test_sweep_realistic(tmp_path):
    out, rows = sweep_rows(tmp_path, reduced("sweep-realistic.toml", tmp_path, problems=True, noise=True))
    assert "24 cells (24 computed, 0 cached)" in out  # 3 sigmas x 4 delay models x 2 eps
    assert {r["algorithm"] for r in rows} == {"picky", "delayed-sgd", "delay-adaptive", "stale-drop"}
    assert len({(r["algorithm"], r["cell"], r["seed"]) for r in rows}) == 24 * 4 * 2

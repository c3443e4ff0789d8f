"""Start-up, fail-fast and install (issue 21): what each command imports, errors before any heavy
import, theory's on-disk cache of lambdified forms, the catalog, and missing optional dependencies.

No timing assertion here except one generous bound on the fail-fast path (timings are printed by
benchmarks/bench_startup.py). What a command imports is read from ``python -X importtime``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import theory
from theory import _lambdacache
from verify import catalog as catalog_mod
from verify.optional import EXTRAS, MissingDependency, check, require

from cli_helpers import subprocess_env

HEAVY = ("sympy", "numba", "scipy", "hypothesis", "dask", "distributed", "matplotlib", "sklearn")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def warm_caches():
    """The targets are for warm caches: build the catalog and theory's entries once."""
    catalog_mod.catalog()
    for rid in ("picky-explicit", "sgd"):
        theory.compare(beta=1, F=1, sigma=1, eps=0.1, tau_avg=1, tau_max=2, workers=2, q=0.5, tau_q=1)
        theory.iterations(rid, beta=1, F=1, sigma=1, eps=0.1, tau_avg=1)


def _imports(argv: list[str], env: dict[str, str] | None = None, full: set[str] | None = None
             ) -> tuple[int, list[str], set[str], float]:
    """(exit code, stderr lines other than -X importtime's, top-level packages imported, seconds); every
    module's full name is added to ``full`` if given."""
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "verify.cli", *argv], capture_output=True, text=True,
                       env=subprocess_env(**(env or {})), timeout=600)
    secs = time.monotonic() - t0
    mods, other = set(), []
    for ln in p.stderr.splitlines():
        if ln.startswith("import time:"):
            name = ln.rsplit("|", 1)[-1].strip()
            if name != "package":
                mods.add(name.split(".")[0])
                if full is not None:
                    full.add(name)
        elif ln.strip():
            other.append(ln)
    return p.returncode, other, mods, secs


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["list"], ["simulate", "--help"], ["verify", "--help"],
                                  ["sweep", "--help"], ["hunt", "--help"], ["async-run", "--help"],
                                  ["simulate", "--algorithm", "bogus", "--delays", "constant", "--eps", "1", "--steps",
                                   "10", "--seeds", "1"]])
def test_help_version_list_and_argument_errors_import_nothing_heavy(argv):
    code, _, mods, _ = _imports(argv)
    assert code in (0, 2)
    assert "verify" in mods  # the measurement sees the package's own imports
    assert not (mods & set(HEAVY)), sorted(mods & set(HEAVY))


def test_bounds_with_a_warm_cache_imports_no_sympy():
    code, other, mods, _ = _imports(["bounds", "--beta", "1", "--F", "1", "--sigma", "1", "--eps", "0.1"])
    assert code == 0, other
    assert "theory" in mods and not (mods & set(HEAVY)), sorted(mods & set(HEAVY))


def test_a_short_simulate_imports_only_what_it_runs():
    argv = ["simulate", "--algorithm", "picky", "--problem", "quadratic", "--delays", "constant:tau=3", "--eps", "0.1",
            "--steps", "100", "--seeds", "1"]
    _imports(argv)  # warms the caches (theory's lambdified forms, the catalog, the kernel) after an edit of the source
    full: set[str] = set()
    code, other, mods, _ = _imports(["simulate", "--algorithm", "picky", "--problem", "quadratic", "--delays",
                                     "constant:tau=3", "--eps", "0.1", "--steps", "100", "--seeds", "1"], full=full)
    assert code == 0, other
    assert "numba" in mods  # it runs the compiled kernel (numba itself imports SciPy's top level)
    assert not (mods & {"sympy", "hypothesis", "dask", "distributed", "matplotlib", "sklearn"}), mods
    assert not (full & {"scipy.special", "scipy.stats", "scipy.optimize", "verify.search.hunter", "verify.claims"})


# ------------------------------------------------------------------------------------------
# fail fast: the destination and the input are checked before any heavy import
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, flag", [
    (["simulate", "--algorithm", "picky", "--delays", "constant:tau=3", "--eps", "0.1", "--steps", "100", "--seeds", "1",
      "--save", "/proc/picky-nope/x"], "--save"),
    (["verify", "--only", "lower-bound", "--out", "/proc/picky-nope/x"], "--out"),
    (["async-run", "--algorithm", "picky", "--steps", "10", "--eps", "0.5", "--save", "/proc/picky-nope/x"], "--save"),
    (["figures", "--only", "theory-iterations", "--out", "/proc/picky-nope/x"], "--out"),
    (["sweep", str(ROOT / "pyproject.toml"), "--out", "/proc/picky-nope/x"], "--out"),
])
def test_an_unwritable_destination_fails_at_once_before_any_heavy_import(argv, flag):
    code, other, mods, secs = _imports(argv)
    assert code == 2 and len(other) == 1, other
    assert other[0].startswith(f"picky {argv[0]}: error: {flag}: cannot write to '/proc/picky-nope/x'"), other
    assert not (mods & set(HEAVY)), sorted(mods & set(HEAVY))
    assert secs < 3.0  # generous: about 0.2 s on an idle 2-core machine (the bound only catches a regression to seconds)


def test_an_unknown_claim_fails_before_any_heavy_import(tmp_path):
    code, other, mods, _ = _imports(["verify", "--only", "no-such-claim", "--out", str(tmp_path / "r")])
    assert code == 2 and len(other) == 1 and "no-such-claim" in other[0], other
    assert not (mods & set(HEAVY)) and not (tmp_path / "r").exists()


# ------------------------------------------------------------------------------------------
# theory's cache of lambdified forms
# ------------------------------------------------------------------------------------------
def test_the_cache_key_changes_with_any_source_change(tmp_path):
    src = tmp_path / "theory"
    shutil.copytree(ROOT / "theory", src, ignore=shutil.ignore_patterns("__pycache__"))
    before = _lambdacache.source_hash(src)
    assert _lambdacache.source_hash(src) == before  # deterministic
    assert before == _lambdacache.source_hash()  # the same files as the package's
    with open(src / "results.py", "a") as f:
        f.write("\n# an edit\n")
    assert _lambdacache.source_hash(src) != before
    (src / "results.py").write_text((ROOT / "theory" / "results.py").read_text())
    assert _lambdacache.source_hash(src) == before
    (src / "proofs" / "new.py").write_text("x = 1\n")  # a new file counts too
    assert _lambdacache.source_hash(src) != before


GRID_SCRIPT = r"""
import json, math, sys
import theory
from theory import rulefns
out = {}
P = dict(beta=2.0, F=3.0, sigma=0.7, eps=0.25, tau_avg=1.5, tau_max=9.0, tau_C=2.0, q=0.5, tau_q=2.0)
for rid in ["picky", "picky-explicit", "picky-explicit-sharp", "sgd", "delayed-sgd", "ksj-constant", "delay-adaptive",
            "quantile", "lower-bound"]:
    a = theory.about(rid)
    need = {k: P[k] for k in a["parameters"]}
    out[rid + " iterations"] = theory.iterations(rid, **need)
    out[rid + " accuracy"] = theory.accuracy(rid, T=1e7, **{k: v for k, v in need.items() if k != "eps"})
    for what, has in (("step_size", a["has_step_size"]), ("threshold", a["has_threshold"])):
        if has:
            names = theory.calculators._compiled(rid, what).names
            out[rid + " " + what] = theory.evaluate(rid, what, **{n: P[n] for n in names})
out["margins"] = [bool(theory.condition_holds("picky-explicit-sharp", T=T, sum_delays=S, beta=1, F=1, sigma=0.5, eps=0.3))
                  for T in (10, 1e4, 1e7) for S in (0, 1e3, 1e6)]
out["crossover"] = theory.crossover_tau_max(beta=1, F=1, sigma=1, eps=0.1, tau_avg=3)
out["stability"] = [theory.stability_threshold(t) for t in range(6)]
out["compare"] = theory.compare(beta=2, F=3, sigma=1, eps=0.5, tau_avg=2, tau_max=40, workers=3, delta=0.01)
for rid in rulefns.rule_ids():
    f = rulefns.decide_function(rid)
    p = [0.1, 0.05, 2.0, 3.0, 1.0][: len(rulefns.inputs(rid))]
    out["decide " + rid] = [list(f(p, dist, d)) for dist in (0.0, 0.04, 0.2) for d in (0, 1, 5)]
    for name, _ in rulefns.parameters(rid):
        ctx = dict(beta=2.0, F=3.0, eps=0.25, sigma=0.7, tau_avg=1.5, tau_max=9.0, concurrency=3.0, tau_C=2.0, R=4)
        out[f"default {rid} {name}"] = rulefns.default_value(rid, name, **ctx)
out["sympy imported"] = "sympy" in sys.modules
print(json.dumps(out, default=repr))
"""


def _grid(cache: str) -> dict:
    p = subprocess.run([sys.executable, "-c", GRID_SCRIPT], capture_output=True, text=True, timeout=600,
                       env=subprocess_env(PICKY_THEORY_CACHE=cache))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_cached_and_fresh_lambdified_forms_agree_and_a_warm_cache_needs_no_sympy(tmp_path):
    fresh = _grid("off")  # no cache: lambdified from the SymPy in this process
    cold = _grid(str(tmp_path))  # an empty cache: lambdified, then stored
    assert list(tmp_path.glob("*.json")) == [tmp_path / f"{_lambdacache.source_hash()}.json"]
    warm = _grid(str(tmp_path))  # every form read from the cache
    assert fresh.pop("sympy imported") and cold.pop("sympy imported")
    assert warm.pop("sympy imported") is False
    assert len(fresh) > 40
    assert fresh == cold == warm  # bit for bit (JSON keeps every float's digits)


def test_a_cache_entry_is_rebuilt_exactly_or_not_stored(tmp_path, monkeypatch):
    """The cache stores only functions whose globals it can rebuild as the very same objects."""
    import sympy as sp

    monkeypatch.setenv("PICKY_THEORY_CACHE", str(tmp_path))
    monkeypatch.setattr(_lambdacache, "_entries", None)
    _lambdacache.cache_file.cache_clear()
    try:
        x = sp.Symbol("x")
        ok = sp.lambdify([x], sp.sqrt(x) + sp.Max(x, 1), "numpy")
        odd = sp.lambdify([x], x + 1, modules=[{"mystery": abs}, "math"])
        odd.__globals__["x_unused"] = 1
        _lambdacache.store("test:ok", {"n": 1}, [(ok, "numpy")])
        data, (again,) = _lambdacache.lookup("test:ok")
        assert data == {"n": 1} and again(4.0) == ok(4.0) == 6.0
        bad = sp.lambdify([x], sp.Function("mystery")(x), modules=[{"mystery": abs}, "math"])
        _lambdacache.store("test:bad", None, [(bad, "math")])  # 'mystery' is not in the rebuilt namespace
        assert _lambdacache.lookup("test:bad") is None
    finally:
        monkeypatch.setattr(_lambdacache, "_entries", None)
        _lambdacache.cache_file.cache_clear()


def test_the_catalog_is_the_registries():
    from verify.models import adversaries as adversary, delays, problems
    from verify import algorithms, claims

    cat = catalog_mod.catalog()
    assert cat == catalog_mod._plain(catalog_mod.build())
    assert cat["algorithms"] == list(algorithms.ALGORITHMS) and cat["adversaries"] == list(adversary.ADVERSARIES)
    assert cat["delay_models"].keys() == delays.MODELS.keys() and cat["problems"].keys() == problems.PROBLEMS.keys()
    assert list(cat["claims"]) == list(claims.CLAIMS)


# ------------------------------------------------------------------------------------------
# optional dependencies: one line naming the extra, exit 2
# ------------------------------------------------------------------------------------------
def _without(modules: list[str], argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``picky ARGV`` in a fresh interpreter where ``modules`` cannot be imported (sys.modules[m] = None)."""
    code = (f"import sys\nfor m in {modules!r}: sys.modules[m] = None\n"
            f"from verify.cli import main\nsys.exit(main({argv!r}))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env=subprocess_env())


@pytest.mark.parametrize("argv, feature", [
    (["sweep", "s.toml", "--local-cluster", "2"], "--local-cluster"),
    (["sweep", "s.toml", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (["verify", "--only", "lower-bound", "--local-cluster", "2", "--out", "r"], "--local-cluster"),
    (["async-run", "--algorithm", "picky", "--steps", "10", "--eps", "0.5"], "picky async-run"),
])
def test_a_missing_dask_is_one_line_naming_the_extra(argv, feature, tmp_path):
    (tmp_path / "s.toml").write_text('[sweep]\nalgorithms = ["picky"]\ndelays = ["constant"]\neps = 0.5\nsteps = 10\nseeds = 1\n')
    p = _without(["distributed", "dask"], argv, tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == (f"picky {argv[0]}: error: {feature} needs the dask extra: pip install -e '.[dask]' "
                                "(no module named 'distributed')"), p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["s.toml"]  # nothing written


def test_require_and_check_name_the_extra(monkeypatch):
    for name in ("sklearn", "sklearn.datasets"):  # as if not installed (even if an earlier test imported it)
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependency, match=r"^figure 'digits' needs the figures extra: pip install -e '\.\[figures\]'"):
        require("sklearn.datasets", "figure 'digits'")
    with pytest.raises(MissingDependency, match="needs the figures extra"):
        check("sklearn", "figure 'digits'")
    with pytest.raises(KeyError):
        require("numpy", "anything")  # not an optional dependency: a programming error
    assert require("distributed", "x") is sys.modules["distributed"]  # installed here: the module itself


def test_every_extra_named_exists_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    import tomllib

    extras = tomllib.loads(text)["project"]["optional-dependencies"]
    named = set(EXTRAS.values())
    assert named <= set(extras), named - set(extras)
    (everything,) = extras["all"]  # the README's install: every extra the README's commands use
    assert everything.startswith("picky-sgd[") and named <= set(everything[len("picky-sgd["):-1].split(","))

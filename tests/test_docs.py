"""The documentation site: its generated pages follow the registries, and it builds with warnings as errors.

The generator tests (``docs/generate.py``) need only the package. The build test needs the ``docs`` extra
(Sphinx, furo, MyST-Parser: ``pip install -e ".[docs]"``) and is skipped without it.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import theory
from verify import claims

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_generated_pages_are_deterministic(tmp_path):
    gen = _generator()
    a, b = gen.generate(tmp_path / "a"), gen.generate(tmp_path / "b")
    ta, tb = _tree(a), _tree(b)
    assert ta and ta == tb


def test_one_page_per_claim_and_statement_with_the_reports_numbers(tmp_path):
    out = _generator().generate(tmp_path / "g")
    report = json.loads((ROOT / "report" / "results.json").read_text())
    assert len(claims.CLAIMS) >= 9 and len(list(theory.ids())) >= 10
    for cid, claim in claims.CLAIMS.items():
        page = (out / "claims" / f"{cid}.md").read_text()
        assert page.startswith(f"# Claim {claim.number}: {claim.title}\n")
        ev = next(e for e in report["claims"] if e["claim"] == cid)
        assert f"Verdict **{ev['verdict']}**" in page
        assert ev["test"]["name"].replace("|", "\\|") in page
    # a hand value from the committed quick report (claim 7: delayed GD stable up to tau = 13)
    assert "| `stable_up_to` | 13 |" in (out / "claims" / "stability.md").read_text()
    for rid in theory.ids():
        page = (out / "theory" / f"{rid}.md").read_text()
        assert theory.latex(rid) in page and f"`{theory.get(rid).status.value}`" in page
    time_md = (out / "time.md").read_text()  # every time statement: its LaTeX, label and calculators
    from theory import timing
    assert len(timing.time_ids()) >= 7
    for rid in timing.time_ids():
        st = timing.get_time(rid)
        section = time_md.split(f"\n({rid})=\n## `{rid}`: ", 1)[1].split("\n(", 1)[0]
        assert st.latex() in section and f"| provenance label | `{st.status.value}` |" in section
        for calc in timing.calculators(rid):
            assert callable(getattr(timing, calc)) and f"`theory.timing.{calc}`" in section
    # by hand: Rennala's batch time t(S) = 2 H_m (1 + S/m) and its calculator; Picky's time is ours (derived)
    assert "`theory.timing.batch_time`" in time_md.split("(batch-time)=", 1)[1].split("(time-ringmaster)=", 1)[0]
    ringmaster = time_md.split("(time-ringmaster)=", 1)[1].split("(time-asgd)=", 1)[0]
    assert "`theory.timing.ringmaster_time`" in ringmaster and "`theory.timing.ringmaster_parameters`" in ringmaster
    assert "`theory.timing.rennala_parameters`" in time_md.split("(time-rennala)=", 1)[1].split("(batch-time)=", 1)[0]
    assert "| provenance label | `derived` |" in time_md.split("(time-picky)=", 1)[1]
    rules = (out / "rules.md").read_text()
    for rid in theory.RULES:
        assert f"## `{rid}`:" in rules
    assert "\\text{accept:}\\quad dist \\leq \\rho" in rules  # Picky SGD's test, by hand
    # Theorem D's constants, by hand (theory/results.py)
    assert "8960 F \\beta \\tau_{avg}" in (out / "theory" / "picky-explicit.md").read_text()
    figures = sorted(p.name[: -len(".meta.json")] for p in (ROOT / "figures").glob("*.meta.json"))
    gallery = (out / "gallery.md").read_text()
    committed = json.loads((ROOT / "figures" / "MANIFEST.json").read_text())["figures"]
    assert len(figures) >= 8 and figures == sorted(committed)  # every committed figure (12 once regenerated)
    for name in figures:
        assert f"figures/{name}.png" in gallery
        assert (out / "figures" / f"{name}.png").read_bytes() == (ROOT / "figures" / f"{name}.png").read_bytes()


def test_a_new_claim_gets_a_page_and_a_removed_one_loses_it(tmp_path, monkeypatch):
    gen = _generator()
    out = gen.generate(tmp_path / "g")
    assert not (out / "claims" / "my-check.md").exists()
    base = claims.CLAIMS["stability"]
    extra = dataclasses.replace(base, id="my-check", number=99, title="A claim added later")
    monkeypatch.setitem(claims.CLAIMS, "my-check", extra)
    gen.generate(out)
    page = (out / "claims" / "my-check.md").read_text()
    assert page.startswith("# Claim 99: A claim added later\n")
    assert "not in the committed `report/results.json` yet" in page
    assert "claims/my-check" in (out / "claims.md").read_text()
    monkeypatch.delitem(claims.CLAIMS, "my-check")
    gen.generate(out)
    assert not (out / "claims" / "my-check.md").exists()


def _snippets() -> list[tuple[str, str]]:
    """Every ```python block of the hand-written pages (the generated ones hold none)."""
    out = []
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS).as_posix()
        if rel.startswith(("generated/", "_build/")):
            continue
        for i, block in enumerate(re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)):
            out.append((f"{rel}#{i}", block))
    return out


def test_the_pages_have_python_snippets():
    names = [n for n, _ in _snippets()]
    assert "guide/calculators.md#0" in names and "guide/checks.md#0" in names


@pytest.mark.parametrize("name,code", _snippets(), ids=[n for n, _ in _snippets()])
def test_docs_python_snippets_run(name, code, capsys):
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
    if name == "guide/checks.md#0":  # the check of the user guide passes, with the report's numbers (claim 1)
        assert capsys.readouterr().out.strip() == "pass {'first_hit': 9} {'horizon': 89597}"


def test_docs_build_with_warnings_as_errors(tmp_path):
    for dep in ("sphinx", "furo", "myst_parser"):
        if importlib.util.find_spec(dep) is None:
            pytest.skip(f"the docs extra is not installed ({dep} missing): pip install -e '.[docs]'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
                           "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    for page in ("index", "getting-started", "architecture", "guide/calculators", "guide/checks", "guide/figures",
                 "generated/claims", "generated/theory", "generated/time", "generated/gallery", "generated/api", "generated/api/theory"):
        assert (out / f"{page}.html").is_file(), page
    for cid in claims.CLAIMS:
        assert (out / "generated" / "claims" / f"{cid}.html").is_file(), cid
    for rid in theory.ids():
        assert (out / "generated" / "theory" / f"{rid}.html").is_file(), rid
    committed = json.loads((ROOT / "figures" / "MANIFEST.json").read_text())["figures"]
    assert len(committed) == 13 and len(list((out / "_images").glob("*.png"))) == len(committed)
    api = (out / "generated" / "api" / "theory.html").read_text()
    assert 'id="theory.iterations"' in api  # autodoc ran, re-exports documented under the public name

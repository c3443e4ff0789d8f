"""Write the documentation's generated pages into ``docs/generated/`` (run by ``conf.py`` at build time).

Everything here is read, never recomputed: the claims from the registry (:data:`verify.claims.CLAIMS`)
beside the committed quick report (``report/results.json``), the statements from ``theory`` (``theory.ids()``,
``theory.latex``), the figures from the committed ``figures/`` (PNG + ``*.meta.json``), and the API pages from
the packages' module lists; the time statements from ``theory.timing.time_ids()``. The output is deterministic: same inputs, same bytes (sorted everywhere, no dates).

    python docs/generate.py [OUT]      # default docs/generated
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import pkgutil
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sympy as sp  # noqa: E402
import theory  # noqa: E402
from verify import claims as claims_mod  # noqa: E402

#: how many instance rows a claim page shows (all of them are in report/results.json)
MAX_INSTANCES = 40

#: the API reference: one page per entry, (page name, title, packages whose modules it documents)
API_PAGES: list[tuple[str, str, list[str]]] = [
    ("api", "verify.api: the public entry points", ["verify", "verify.api"]),
    ("theory", "theory: statements, rules, calculators", ["theory"]),
    ("models", "verify.models: problems, noise, delays, programs, adversaries, traces", ["verify.models"]),
    ("algorithms", "verify.algorithms: rule objects, your own rules, the reference loop", ["verify.algorithms"]),
    ("engine", "verify.engine: the compiled kernel", ["verify.engine"]),
    ("claims", "verify.claims: the registry, evidence, report", ["verify.claims"]),
    ("search", "verify.search: strategies, targeted search, hunter", ["verify.search"]),
    ("runtime", "verify.runtime: simulation, executors, sweeps, async server", ["verify.runtime"]),
    ("io", "verify.io: output, run store, records, JSON, specs, provenance", ["verify.io"]),
    ("figures", "verify.figures: the figure pipeline", ["verify.figures"]),
    ("params", "verify.params: the parameter registry", ["verify.params"]),
]


# ------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------
def fmt(v: Any) -> str:
    """A value for a Markdown table cell: numbers to 6 significant digits, None as a dash."""
    if v is None:
        return "--"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-4):
            return f"{v:.6g}"
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
    return cell(str(v))


def cell(s: str) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, no newlines, no MyST role syntax)."""
    return s.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys (lists kept as values)."""
    if not isinstance(d, dict):
        return {prefix or "value": d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def rst_block(text: str) -> str:
    """A docstring (reStructuredText) embedded in a MyST page."""
    return "```{eval-rst}\n" + inspect.cleandoc(text) + "\n```\n"


_WRITTEN: set[Path] = set()


def write(path: Path, text: str | bytes) -> None:
    """Write ``path`` unless it already holds ``text`` (unchanged files keep their mtime: incremental builds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    _WRITTEN.add(path.resolve())


def bound_math(rid: str) -> str:
    """The statement's bound as display math: ``T >= ...`` for a number of steps, the bare bound for a count."""
    lhs = "" if theory.get(rid).kind.value == "count" else "T \\;\\ge\\; "
    return f"$$\n{lhs}{theory.latex(rid)}\n$$\n"


# ------------------------------------------------------------------------------------------
# theory pages
# ------------------------------------------------------------------------------------------
def theory_pages(out: Path) -> None:
    ids = list(theory.ids())
    rows = []
    for rid in ids:
        s = theory.get(rid)
        rows.append([f"[{rid}](theory/{rid}.md)", cell(s.title), f"`{s.status.value}`", s.kind.value])
    write(out / "theory.md", "# Theory: every statement\n\n"
          "Generated from `theory.ids()` and `theory.latex(id)` (`theory/results.py`). The provenance label says "
          "how sure the package is of each statement (see [the labels](../index.md#provenance-labels)); a rate "
          "form's constant is an explicit symbol whose default 1 is a *placeholder*, never the paper's. The algorithms' "
          "accept tests and steps are on the [rules page](rules.md); the time statements (seconds under a "
          "computation model) on the [time page](time.md).\n\n"
          + table(["id", "statement", "provenance", "kind"], rows)
          + "\n```{toctree}\n:hidden:\n\n" + "\n".join(f"theory/{rid}" for rid in ids) + "\n```\n")
    for rid in ids:
        s = theory.get(rid)
        md = [f"# `{rid}`: {s.title}\n",
              table(["field", "value"], [
                  ["provenance label", f"`{s.status.value}`"],
                  ["provenance", cell(s.provenance)],
                  ["citation", cell(s.citation)],
                  ["kind", s.kind.value],
                  ["guarantee", cell(s.guarantee)],
                  ["delay quantity", cell(s.delay_quantity)],
                  ["convention", f"{s.convention.value} (source: {s.source_convention.value})"],
                  ["parameters", ", ".join(f"`{p}`" for p in s.parameters)],
              ]),
              "\n## Bound\n\n", bound_math(rid)]
        for what, note in (("step_size", s.step_size_note), ("threshold", s.threshold_note)):
            if getattr(s, what) is not None:
                sym = {"step_size": "\\eta", "threshold": "\\rho"}[what]
                md.append(f"\n## {what.replace('_', ' ').capitalize()}\n\n$$\n{sym} = {theory.latex(rid, what)}\n$$\n")
                if note:
                    md.append(f"\n{cell(note)}\n")
        if s.success_probability is not None:
            md.append(f"\n## Success probability\n\n$$\n{theory.latex(rid, 'success_probability')}\n$$\n")
        if s.restarts is not None:
            md.append(f"\n## Restarts\n\n$$\n{theory.latex(rid, 'restarts')}\n$$\n")
        if s.side_conditions:
            import sympy as sp
            md.append("\n## Side conditions\n\n" + "".join(f"$$\n{sp.latex(c)}\n$$\n" for c in s.side_conditions))
        if s.constant is not None:
            c = s.constant
            md.append(f"\n## Unknown constant\n\n`{c.symbol}`: default {c.default} (`{c.status.value}`): {cell(c.meaning)}\n")
        if s.aux:
            md.append("\n## Further expressions\n\n")
            for name in s.aux:
                md.append(f"`{name}`\n\n$$\n{theory.latex(rid, name)}\n$$\n\n")
        if s.assumptions:
            md.append("\n## Assumptions\n\n" + "".join(f"- {cell(a)}\n" for a in s.assumptions))
        if s.notes:
            md.append(f"\n## Notes\n\n{cell(s.notes)}\n")
        users = [c for c in claims_mod.CLAIMS.values() if c.result == rid]
        if users:
            md.append("\n## Checked by\n\n" + "".join(f"- [claim {c.number}: {cell(c.title)}](../claims/{c.id}.md)\n"
                                                       for c in users))
        write(out / "theory" / f"{rid}.md", "".join(md))


def time_page(out: Path) -> None:
    """Every time statement (``theory.timing``: seconds under a computation model), one section each: its
    LaTeX, provenance label and text, the rule for m, and the calculators that evaluate it."""
    from theory import timing

    ids = timing.time_ids()
    md = ["# Time statements: seconds to an eps-stationary point\n\n",
          "Generated from `theory.timing.time_ids()` and `theory.get_time(id)` (`theory/timing.py`). The step "
          "statements of the [theory page](theory.md) count steps; these count *seconds* under the fixed computation "
          "model: worker i needs at most $\\tau_i$ seconds per stochastic gradient, $\\tau_1 \\le \\dots \\le \\tau_n$ "
          "(a time, not a delay). $H_m$ is the harmonic mean of the m fastest times, $h_m = \\tau_m$. Every bound is "
          "in the norm convention; a Theta/O form's constant is an explicit symbol whose default 1 is a *placeholder*. "
          "The provenance labels are [those of the step statements](../index.md#provenance-labels).\n\n",
          table(["id", "statement", "provenance", "kind", "m"],
                [[f"[`{rid}`](#{rid})", cell(timing.get_time(rid).title), f"`{timing.get_time(rid).status.value}`",
                  timing.get_time(rid).kind.value, "min over m in [n]" if timing.get_time(rid).workers == "min" else "m = n"]
                 for rid in ids])]
    for rid in ids:
        s = timing.get_time(rid)
        over = "\\min_{m \\in [n]}\\; " if s.workers == "min" else ""
        lhs = "" if rid == "batch-time" else "T_{\\mathrm{seconds}} \\;\\ge\\; " if s.kind.value == "lower" else \
            "T_{\\mathrm{seconds}} \\;\\le\\; "
        md.append(f"\n({rid})=\n## `{rid}`: {cell(s.title)}\n\n$$\n{lhs}{over}{s.latex()}\n$$\n\n")
        if rid != "batch-time" and s.workers == "all":
            md.append("with m = n (every worker).\n\n")
        rows = [["provenance label", f"`{s.status.value}`"], ["provenance", cell(s.provenance)],
                ["citation", cell(s.citation)], ["kind", s.kind.value],
                ["convention", f"{s.convention.value} (source: {s.source_convention.value})"],
                ["computation model", s.model], ["guarantee", cell(s.guarantee)],
                ["parameters", ", ".join(f"`{p}`" for p in s.parameters) or "--"],
                ["calculators", ", ".join(f"`theory.timing.{c}`" for c in timing.calculators(rid))]]
        if s.constant is not None:
            c = s.constant
            rows.append(["unknown constant", f"`{c.symbol}`: default {c.default} (`{c.status.value}`)"])
        md.append(table(["field", "value"], rows))
        for what, sym, note in (("step_size", "\\text{step size}", s.step_size_note),
                                ("threshold", "\\text{threshold}", s.threshold_note)):
            if getattr(s, what) is not None:
                md.append(f"\n$$\n{sym} = {s.latex(what)}\n$$\n\n" + (f"{cell(note)}\n" if note else ""))
        for name in s.aux:
            md.append(f"\n`{name}`:\n\n$$\n{s.latex(name)}\n$$\n")
        if s.assumptions:
            md.append("\nAssumptions:\n\n" + "".join(f"- {cell(a)}\n" for a in s.assumptions))
        if s.notes:
            md.append(f"\nNotes: {cell(s.notes)}\n")
    write(out / "time.md", "".join(md))


def rules_page(out: Path) -> None:
    """Every algorithm's rule (``theory.RULES``): accept test, step, parameters with their defaults."""
    import sympy as sp
    md = ["# Rules: every algorithm's accept test and step\n\n",
          "Generated from `theory.RULES` (`theory/rules.py`): at step t the server receives a gradient computed "
          "at the iterate of step t - d_t, with $\\mathrm{dist} = \\|x_t - x_{t-d_t}\\|$; it applies it when the "
          "accept test holds, with the step $\\eta_t$. `verify.algorithms` compiles these expressions for the "
          "reference loop and the kernel.\n\n"]
    for rid in sorted(theory.RULES):
        r = theory.get_rule(rid)
        md.append(f"## `{rid}`: {cell(r.title)}\n\n"
                  f"Provenance label `{r.status.value}`; {cell(r.citation)}.\n\n"
                  f"$$\n\\text{{accept:}}\\quad {sp.latex(r.accept)}\n$$\n\n"
                  f"$$\n\\eta_t = {sp.latex(r.step)}\n$$\n\n")
        if r.parameters:
            md.append(table(["parameter", "default", "provenance", "source"],
                            [[f"`{q.name}`", "$" + sp.latex(q.default).replace("|", "\\|") + "$", f"`{q.status.value}`", cell(q.source)]
                             for q in r.parameters]))
        if r.notes:
            md.append(f"\n{cell(r.notes)}\n")
        md.append("\n")
    write(out / "rules.md", "".join(md))


# ------------------------------------------------------------------------------------------
# claim pages
# ------------------------------------------------------------------------------------------
def claim_pages(out: Path) -> None:
    report = json.loads((ROOT / "report" / "results.json").read_text())
    evidence = {c["claim"]: c for c in report["claims"]}
    ordered = sorted(claims_mod.CLAIMS.values(), key=lambda c: (c.number, c.id))
    rows = []
    for c in ordered:
        ev = evidence.get(c.id)
        rows.append([str(c.number), f"[{c.id}](claims/{c.id}.md)", cell(c.title), f"`{c.status or '--'}`",
                     ev["verdict"] if ev else "not in the committed report",
                     fmt(ev["test"]["alpha"]) if ev else "--", fmt(ev.get("ratio")) if ev else "--"])
    write(out / "claims.md", "# Claims\n\n"
          "One page per claim of the registry (`verify.claims.CLAIMS`), generated: what it checks, the theory "
          "statement and its provenance label, the method and the test with its false-alarm rate, and the "
          f"committed quick report's numbers (`report/results.json`, command `{report['command']}`, package "
          f"{report['version']}, verdict **{report['verdict']}**) beside the theory's.\n\n"
          + table(["no.", "id", "claim", "provenance", "verdict (quick report)", "false-alarm rate", "measured/bound"], rows)
          + "\n```{toctree}\n:hidden:\n\n" + "\n".join(f"claims/{c.id}" for c in ordered) + "\n```\n")
    for c in ordered:
        ev = evidence.get(c.id)
        md = [f"# Claim {c.number}: {c.title}\n\n"]
        timed = c.result in theory.TIME_RESULTS  # a time statement (theory.timing): no page of its own
        stmt = (f"`{c.result}` (`theory.get_time`)" if timed else f"[`{c.result}`](../theory/{c.result}.md)") if c.result else "--"
        md.append(table(["field", "value"], [
            ["id", f"`{c.id}`"], ["number", str(c.number)], ["theory statement", stmt],
            ["provenance label", f"`{c.status or '--'}`"], ["measures", cell(c.measures)],
            ["instances", cell(c.instances)],
            ["test", cell(ev["test"]["name"]) if ev else "--"],
            ["null hypothesis", cell(ev["test"]["null"]) if ev else "--"],
            ["false-alarm rate", fmt(ev["test"]["alpha"]) if ev else "--"],
            ["rerun", f"`{ev['rerun']}`" if ev else f"`picky verify --only {c.id}`"],
        ]))
        if c.result and timed:
            md.append(f"\nThe theory's time statement (seconds; `theory.get_time({c.result!r}).bound`, the minimum over "
                      f"m in [n]):\n\n$$\n{sp.latex(theory.get_time(c.result).bound)}\n$$\n")
        elif c.result:
            md.append(f"\nThe theory's statement (`theory.latex({c.result!r})`):\n\n{bound_math(c.result)}")
        mod = sys.modules.get(c.check.__module__)
        if mod is not None and mod.__doc__:
            md.append("\n## Method\n\n" + rst_block(f".. currentmodule:: {mod.__name__}\n\n" + inspect.cleandoc(mod.__doc__)))
        md.append("\n## The committed quick report\n\n")
        if ev is None:
            md.append("This claim is not in the committed `report/results.json` yet (regenerate it with "
                      "`picky verify --profile quick --out report`).\n")
        else:
            md.append(f"Verdict **{ev['verdict']}** ({ev['profile']} profile, {ev['seconds']:.1f} s). "
                      f"Measured: {cell(ev['what'])}.\n\n")
            meas, bound = flatten(ev["measured"]), flatten(ev["bound"])
            md.append("### Measured beside the theory\n\n")
            md.append(table(["measured", "value"], [[f"`{k}`", fmt(v)] for k, v in meas.items()]) + "\n")
            md.append(table(["theory / bound", "value"], [[f"`{k}`", fmt(v)] for k, v in bound.items()]) + "\n")
            extra = []
            if ev.get("ratio") is not None:
                extra.append(["ratio measured/bound", fmt(ev["ratio"])])
            if ev.get("ci") is not None:
                extra.append(["confidence interval", fmt(ev["ci"])])
            if extra:
                md.append(table(["summary", "value"], extra))
            if ev.get("notes"):
                md.append("\nNotes:\n\n" + "".join(f"- {cell(n)}\n" for n in ev["notes"]))
            inst = ev.get("instances") or []
            if inst:
                keys: list[str] = []
                for row in inst:
                    keys += [k for k in row if k not in keys]
                shown = inst[:MAX_INSTANCES]
                md.append(f"\n### Instances\n\n{len(inst)} instance(s)"
                          + (f"; the first {len(shown)} shown (all in `report/results.json`)" if len(inst) > len(shown)
                             else "") + ".\n\n")
                md.append(table(keys, [[fmt(r.get(k)) for k in keys] for r in shown]))
        write(out / "claims" / f"{c.id}.md", "".join(md))


# ------------------------------------------------------------------------------------------
# figures gallery
# ------------------------------------------------------------------------------------------
def gallery(out: Path) -> None:
    figdir = ROOT / "figures"
    try:
        from verify.figures import NAMES
    except ImportError:  # pragma: no cover - the registry moved
        NAMES = ()
    present = sorted(p.name[: -len(".meta.json")] for p in figdir.glob("*.meta.json"))
    names = [n for n in NAMES if n in present] + [n for n in present if n not in NAMES]
    dest = out / "figures"
    dest.mkdir(parents=True, exist_ok=True)
    md = ["# Figures\n\n",
          "The committed figures (`figures/`, written by `picky figures`), shown as they are: nothing here is "
          "recomputed. Each has a CSV of exactly the plotted data and a `.meta.json` (seeds, fitted values, "
          "caption); `picky figures --reuse-data` replots them from the CSVs. Constants such as 8960 in "
          "Theorem D/D' are derived in this package, not the paper's; rate forms carry an unknown constant C "
          "(C = 1 shown).\n\n"]
    for i, name in enumerate(names, 1):
        meta = json.loads((figdir / f"{name}.meta.json").read_text())
        for ext in ("png", "svg", "csv"):
            src = figdir / f"{name}.{ext}"
            if src.exists():
                write(dest / src.name, src.read_bytes())
        md.append(f"## {i}. {cell(meta.get('title', name))}\n\n")
        md.append(f"```{{image}} figures/{name}.png\n:alt: {name}\n:width: 100%\n```\n\n")
        if meta.get("sentence"):
            md.append(f"{cell(meta['sentence'])}\n\n")
        if meta.get("caption"):
            md.append(f"*Caption.* {cell(meta['caption'])}\n\n")
        files = " ".join(f"{{download}}`{name}.{ext} <figures/{name}.{ext}>`"
                         for ext in ("svg", "csv") if (figdir / f"{name}.{ext}").exists())
        md.append(f"- seeds: `{json.dumps(meta.get('seeds'), sort_keys=True)}`\n"
                  f"- data: {cell(str(meta.get('source', '--')))}\n"
                  f"- command: `picky figures --out figures --only {name} --profile {meta.get('profile', 'quick')}`\n"
                  f"- files: {files}\n\n")
    write(out / "gallery.md", "".join(md))


# ------------------------------------------------------------------------------------------
# API reference
# ------------------------------------------------------------------------------------------
def modules_of(package: str) -> list[str]:
    """``package`` and its public submodules, sorted (``__main__`` and ``_private`` left out). The top-level
    ``verify`` package alone (its subpackages have pages of their own), and only when it exports something."""
    pkg = importlib.import_module(package)
    if package == "verify":
        return ["verify"] if getattr(pkg, "__all__", None) else []
    mods = [package]
    if hasattr(pkg, "__path__"):
        for m in pkgutil.walk_packages(pkg.__path__, package + "."):
            if any(part.startswith("_") for part in m.name.split(".")):
                continue
            mods.append(m.name)
    return sorted(mods)


def reexported(module: str, documented: set[str]) -> list[str]:
    """Names of ``module`` documented elsewhere: those an enclosing documented package re-exports in its
    ``__all__`` (documented there, under the public name: ``theory.iterations``, not
    ``theory.calculators.iterations``), and classes and functions imported from another documented module
    outside this one's tree (documented at home)."""
    mod = importlib.import_module(module)
    parts = module.split(".")
    names = set()
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in documented:
            continue
        pkg = importlib.import_module(parent)
        for name in getattr(pkg, "__all__", ()):
            obj = getattr(pkg, name, None)
            if obj is not None and getattr(mod, name, None) is obj and not inspect.ismodule(obj):
                names.add(name)
    for name in getattr(mod, "__all__", ()):
        obj = getattr(mod, name, None)
        home = getattr(obj, "__module__", None)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and home in documented and home != module \
                and not home.startswith(module + "."):
            names.add(name)
    return sorted(names)


def _present(name: str) -> bool:
    """Whether module ``name`` is a file of this checkout (a finder of another install -- an editable
    install of another checkout in the same environment -- could otherwise supply a missing submodule)."""
    parent, _, leaf = name.rpartition(".")
    if not parent:
        return importlib.util.find_spec(name) is not None
    pkg = importlib.import_module(parent)
    return any((Path(p) / f"{leaf}.py").is_file() or (Path(p) / leaf / "__init__.py").is_file()
               for p in getattr(pkg, "__path__", ()))


def api_pages(out: Path) -> None:
    plan = []
    for page, title, packages in API_PAGES:
        # a package that does not exist (yet: verify.api) is left out; the build does not break
        mods = [m for p in packages if _present(p) for m in modules_of(p)]
        if mods:
            plan.append((page, title, mods))
    documented = {m for _, _, mods in plan for m in mods}
    for page, title, mods in plan:
        rst = [title, "=" * len(title), ""]
        for m in mods:
            rst += [f".. automodule:: {m}", "   :members:"]
            elsewhere = reexported(m, documented)
            if elsewhere:
                rst.append("   :exclude-members: " + ", ".join(elsewhere))
            rst.append("")
        write(out / "api" / f"{page}.rst", "\n".join(rst))
    write(out / "api.md", "# API reference\n\n"
          "From the docstrings (Sphinx autodoc): `theory` and the main `verify` subpackages, one page each. "
          "The `picky` command line's modules (`verify.cli`) only parse and print; their options are in the "
          "[user guide](../guide/checks.md).\n\n"
          "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(f"api/{p}" for p, _, _ in plan) + "\n```\n")


def generate(out: Path = DOCS / "generated") -> Path:
    """Write every generated page into ``out``; files there that this run did not write (a claim, a figure
    or a module that is gone) are removed, so ``out`` holds exactly the current pages."""
    out.mkdir(parents=True, exist_ok=True)
    _WRITTEN.clear()
    theory_pages(out)
    time_page(out)
    rules_page(out)
    claim_pages(out)
    gallery(out)
    api_pages(out)
    for path in sorted(out.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in _WRITTEN:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return out


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS / "generated"))

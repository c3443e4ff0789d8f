"""The verification report: ``report.md``, ``results.json`` and ``results.csv`` (long format).

``results.json`` (schema ``picky-verify/1``): ``schema``, ``version``, ``command``, ``profile``,
``environment`` (:func:`verify.io.provenance.environment`: versions, platform, timestamp, git commit), ``started`` (UTC, ISO 8601), ``seconds``,
``verdict`` (the worst over the claims: fail > inconclusive > pass > condition-not-met),
``mutation_kill_rate`` (``picky verify``'s planted-bug kill rate from tools/mutants-report.md: killed,
total, percent, date, command; null if absent), ``claims`` (one :meth:`Evidence.as_dict` each: claim,
title, result, status, verdict, measured, bound, ratio, worst_case_ratio, ci, test {name, null, alpha,
correction}, what, instances, seeds, parameters, notes, not_met, powerless, error, rerun, profile,
seconds, version, rows (their number)).

``report.md``: valid Markdown tables (every cell through :func:`md_cell`: ``|`` escaped, one line, long
text cut -- the long forms stay in results.json; no repeated rows).

``results.csv``: one row per measurement, columns claim, algorithm, problem, delays, seed, metric,
value (benchopt's long format).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any, TextIO

import theory

from verify.io import jsonsafe
from verify.io.provenance import environment
from .evidence import FAIL, INCONCLUSIVE, NOT_MET, PASS, Evidence

__all__ = ["SCHEMA", "CSV_COLUMNS", "write", "write_csv", "overall", "md_cell", "md_table", "mutation_kill_rate"]

SCHEMA = "picky-verify/1"


def overall(evidence: list[Evidence]) -> str:
    vs = {e.verdict for e in evidence}
    for v in (FAIL, INCONCLUSIVE, PASS):
        if v in vs:
            return v
    return NOT_MET


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in x.items() if not isinstance(v, (dict, list)))
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x[:6]) + (", ..." if len(x) > 6 else "") + "]"
    return str(x)


#: the widest text cell of an instance table (longer values are cut; results.json keeps them whole)
CELL_WIDTH = 48
#: the widest instance table
MAX_COLUMNS = 10
#: instance-table keys that hold prose or long forms (kept in results.json only)
LONG_KEYS = ("delays_long", "note", "reason", "reason_detail", "power_note", "search", "seeds")


def md_cell(x: Any, width: int | None = None) -> str:
    """One Markdown table cell: ``x`` formatted, on one line, cut to ``width`` characters (with "...")
    when given, and with ``|`` escaped (so a cell never splits into two columns). The one escaping
    helper of the report: every table cell goes through it."""
    text = " ".join((x if isinstance(x, str) else _fmt(x)).split())
    if width is not None and len(text) > width:
        text = text[: width - 3].rstrip() + "..."
    return text.replace("\\", "\\\\").replace("|", "\\|")


def md_table(header: list[str], rows: list[list[Any]], width: int | None = None) -> list[str]:
    """A Markdown table: every row has the header's column count (checked) and no row is repeated
    (identical rendered rows are dropped)."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    seen = set()
    for r in rows:
        if len(r) != len(header):  # pragma: no cover - programming error in a caller
            raise ValueError(f"a table row has {len(r)} cells; its header has {len(header)}")
        line = "| " + " | ".join(md_cell(c, width) for c in r) + " |"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def _ratio(x: float | None) -> str:
    return "--" if x is None else f"{x:.3g}"


def _key_numbers(e: Evidence) -> str:
    parts = []
    if e.error:
        parts.append(f"error: {e.error}")
    if e.ratio is not None:
        parts.append(f"measured/bound {e.ratio:.3g}")
    if e.ci is not None:
        parts.append(f"CI [{_fmt(e.ci[0])}, {_fmt(e.ci[1])}]")
    m = e.measured
    if isinstance(m, dict):
        for k, v in list(m.items())[:3]:
            if isinstance(v, dict) and "slope" in v:
                parts.append(f"{k}: slope {_fmt(v['slope'])}" + (f" [{_fmt(v['ci95'][0])}, {_fmt(v['ci95'][1])}]" if v.get("ci95") else ""))
            elif not isinstance(v, (dict, list)):
                parts.append(f"{k} {_fmt(v)}")
    return "; ".join(parts)


MUTANTS_REPORT = Path(__file__).resolve().parents[2] / "tools" / "mutants-report.md"


def mutation_kill_rate(path: Path | None = None) -> dict[str, Any] | None:
    """``picky verify``'s planted-bug kill rate as the last mutation run recorded it in
    tools/mutants-report.md: {killed, total, percent, date, command}; None if the file is absent or
    holds no such line."""
    path = MUTANTS_REPORT if path is None else Path(path)
    try:
        text = path.read_text()
    except OSError:
        return None
    m = re.search(r"`picky verify --profile quick`: \*\*(\d+)/(\d+) killed \((\d+)%\)\*\*", text)
    if m is None:
        return None
    g = re.search(r"Generated by `([^`]+)` \((\d{4}-\d{2}-\d{2})\)", text)
    return {"killed": int(m.group(1)), "total": int(m.group(2)), "percent": int(m.group(3)),
            "command": g.group(1) if g else None, "date": g.group(2) if g else None,
            "source": "tools/mutants-report.md"}


def _kill_rate_line() -> str:
    k = mutation_kill_rate()
    if k is None:
        return "Planted-bug kill rate of `picky verify`: unknown (tools/mutants-report.md not found)."
    return (f"Planted-bug kill rate of `picky verify --profile quick`: **{k['killed']}/{k['total']} ({k['percent']}%)**, "
            f"from the last mutation run (`{k['command']}`, {k['date']}; tools/mutants-report.md): a pass below is only "
            "as strong as its margin.")


def _alpha(e: Evidence) -> str:
    return "0 (exact)" if e.test.alpha == 0 else f"{e.test.alpha:g} ({e.test.correction.split(':')[0]})"


def markdown(evidence: list[Evidence], meta: dict[str, Any]) -> str:
    lines = [
        "# picky-sgd verification report",
        "",
        f"Generated by `{meta['command']}` (profile `{meta['profile']}`, package {theory.__version__}, "
        f"{meta['started']}, {meta['seconds']:.0f} s). Overall verdict: **{meta['verdict']}**.",
        "",
        _kill_rate_line(),
        "",
        "Every number below is reproduced by the claim's rerun command (seeds are fixed). Provenance labels: "
        "`derived` = proved for this package (never the paper's constants); `paper-rate-only` = the paper's rate, "
        "its constant unknown; `secondary` = stated by a third party. Verdicts: pass, fail, inconclusive, "
        "condition-not-met (nothing could be checked: never a pass). How strong a pass is: measured/bound "
        "(the largest over the claim's instances, where the claim has a bound; far below 1 = a loose bound, a check "
        "that catches only gross errors), worst case/bound (the exact worst case over the function class, \"--\" "
        "until computed), the family-wise false-alarm rate over the claim's tests, instances where a theorem's "
        "condition never held, and tests that cannot fail on their instances (each claim's section).",
        "",
    ]
    from . import CLAIMS

    summary = []
    for e in evidence:
        c = CLAIMS[e.claim]
        weak = []
        if sum(e.not_met.values()):
            weak.append(f"{sum(e.not_met.values())} not met")
        if e.powerless:
            weak.append("some tests cannot fail")
        summary.append([c.number, e.title, f"`{e.result}` ({e.status})", f"**{e.verdict}**", _ratio(e.ratio),
                        _ratio(e.worst_case_ratio), _alpha(e), "; ".join(weak) or "-", _key_numbers(e), f"`{e.rerun}`"])
    lines += md_table(["#", "claim", "checks (status)", "verdict", "measured / bound", "worst case / bound",
                       "false alarms (family-wise)", "weak spots", "key numbers", "rerun"], summary)
    lines.append("")
    for e in evidence:
        c = CLAIMS[e.claim]
        lines += [f"## {c.number}. {e.title}", "",
                  f"- **Verdict: {e.verdict}** ({e.seconds:.1f} s). Result checked: `{e.result}` (status `{e.status}`).",
                  f"- Measured: {e.what}.",
                  f"- Test: {e.test.name}; null: {e.test.null}.",
                  f"- Family-wise false-alarm rate: {e.test.alpha:g} ({e.test.correction}).",
                  f"- Margin: measured/bound {_ratio(e.ratio)}; worst case/bound {_ratio(e.worst_case_ratio)}.",
                  f"- Instances: {c.instances}."]
        if e.error:
            lines.append(f"- **Error: the check raised `{' '.join(e.error.split())[:300]}`** (traceback in results.json)")
        if e.not_met:
            lines.append(f"- Condition not met on {sum(e.not_met.values())} instances (nothing checked there): "
                         + "; ".join(f"{n} x {r}" for r, n in e.not_met.items()))
        for p in e.powerless:
            lines.append(f"- Cannot fail here: {p}")
        lines += ["- Measured values: " + json.dumps(e.as_dict()["measured"], default=str),
                  "- Bound: " + json.dumps(e.as_dict()["bound"], default=str)]
        for n in e.notes:
            if not n.startswith("traceback: "):
                lines.append(f"- Note: {n}")
        lines += _instance_table(e)
        lines += ["", f"Rerun: `{e.rerun}`", ""]
    return "\n".join(lines) + "\n"


def _instance_table(e: Evidence, n_rows: int = 12) -> list[str]:
    """The instances as tables: one per ``part`` when the instances have parts (each over its own
    keys), else one; each over the union of its instances' scalar keys (so every instance shows its
    own numbers, not filler), the first ``n_rows`` distinct rows (repeats dropped)."""
    inst = [i for i in e.instances if isinstance(i, dict)]
    if not inst:
        return []
    if all("part" in i for i in inst):
        parts: dict[str, list[dict]] = {}
        for i in inst:
            parts.setdefault(str(i["part"]), []).append(i)
        out = []
        for name, group in parts.items():
            out += ["", f"Part {md_cell(name)}:"] + _one_table(group, max(4, n_rows // len(parts)), drop=("part",))
        return out
    return _one_table(inst, n_rows)


def _one_table(inst: list[dict], n_rows: int, drop: tuple[str, ...] = ()) -> list[str]:
    keys: list[str] = []
    for i in inst:
        for k, v in i.items():
            if k not in keys and k not in LONG_KEYS and k not in drop and not isinstance(v, (dict, list)):
                keys.append(k)
    if "verdict" in keys and len(keys) > MAX_COLUMNS:  # keep the verdict in view
        keys.remove("verdict")
        keys = keys[: MAX_COLUMNS - 1] + ["verdict"]
    keys = keys[:MAX_COLUMNS]
    rows, seen = [], set()
    for i in inst:
        r = [i.get(k) for k in keys]
        sig = tuple(md_cell(v, CELL_WIDTH) for v in r)
        if sig in seen:
            continue
        seen.add(sig)
        rows.append(r)
        if len(rows) == n_rows:
            break
    out = [""] + md_table(keys, rows, CELL_WIDTH)
    if len(inst) > len(rows):
        out.append(f"\n({len(inst) - len(rows)} more in results.json, with every field in full)")
    return out


#: the columns of results.csv (and of :meth:`verify.api.Verification.to_frame`, which reads :func:`write_csv`'s text)
CSV_COLUMNS = ("claim", "algorithm", "problem", "delays", "seed", "metric", "value")


def write_csv(f: TextIO, evidence: list[Evidence]) -> None:
    """results.csv: the header and one row per measurement (the one writer of these rows)."""
    w = csv.writer(f)
    w.writerow(CSV_COLUMNS)
    for e in evidence:
        for r in e.rows:
            w.writerow([e.claim, r.algorithm, r.problem, r.delays, "" if r.seed is None else r.seed, r.metric,
                        "" if r.value is None else r.value])


def write(out: Path, evidence: list[Evidence], meta: dict[str, Any]) -> list[Path]:
    """Write the three files into ``out`` (which must exist); returns their paths."""
    data = {"schema": SCHEMA, "version": theory.__version__, **meta, "environment": environment(),
            "mutation_kill_rate": mutation_kill_rate(),
            "claims": [e.as_dict() for e in evidence]}
    paths = [out / "results.json", out / "results.csv", out / "report.md"]
    paths[0].write_text(jsonsafe.dumps(data, indent=2, default=str) + "\n")
    with paths[1].open("w", newline="") as f:
        write_csv(f, evidence)
    paths[2].write_text(markdown(evidence, meta))
    return paths

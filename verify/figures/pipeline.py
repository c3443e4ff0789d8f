"""``picky figures``' work: compute (or read back) each figure's data, plot it, write the directory.

The output directory is owned by ``picky figures``: an existing directory whose ``MANIFEST.json``
says it was written by ``picky figures`` (``"kind": "picky-figures"``) is replaced without
``--force`` (atomically: :class:`verify.io.output.OutputDir`, the old one is kept until the new one is
complete); any other non-empty directory is refused. With ``only``, the other figures' files are
copied from the existing directory into the new one, so they are kept.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

from verify.io import jsonsafe
from verify.io.output import MANIFEST, OutputDir, read_manifest
from . import style
from verify.runtime.executors import Executor, map_tasks
from .context import PROFILES, Context, compute_figure
from .table import Table

__all__ = ["generate", "FIGURES_SCHEMA", "figure_files", "readme"]

FIGURES_SCHEMA = "picky-figures/1"


def figure_files(name: str) -> list[str]:
    return [f"{name}.png", f"{name}.svg", f"{name}.csv", f"{name}.meta.json"]


#: the committed figures of a checkout (``figures/`` beside ``verify/``): what ``--reuse-data`` replots
#: when ``--out`` holds no figures yet and no ``--data`` is given
COMMITTED = Path(__file__).resolve().parents[2] / "figures"


def _owned(path: Path, flag: str = "--out") -> dict[str, Any] | None:
    """The manifest of an existing picky figures directory (None if ``path`` does not exist or is
    empty); ValueError for any other non-empty directory."""
    if not path.exists():
        return None
    if not path.is_dir():
        raise ValueError(f"{flag}: {os.fspath(path)!r} exists and is not a directory")
    if not any(path.iterdir()):
        return None
    m = path / MANIFEST
    man = None
    if m.is_file():
        try:
            man = jsonsafe.loads(m.read_text())
        except (OSError, ValueError):
            man = None
    if not isinstance(man, dict) or man.get("kind") != "picky-figures":
        raise ValueError(f"{flag}: directory {os.fspath(path)!r} exists, is not empty and was not written by picky "
                         f"figures (no picky-figures MANIFEST.json); choose another {flag}" +
                         " or remove it" * (flag == "--out"))
    return man


def _data_source(dest: Path, old: dict[str, Any] | None, data: str | os.PathLike[str] | None) -> tuple[Path, dict]:
    """Where ``--reuse-data`` reads the CSVs: ``--data DIR`` if given, else ``--out`` if it holds figures,
    else the committed ``figures/`` of the checkout (:data:`COMMITTED`); returns (directory, its figures'
    metadata). Every source is a complete picky figures directory (its manifest checked)."""
    if data is not None:
        src = Path(data)
        if _owned(src, "--data") is None:
            raise ValueError(f"--data: {os.fspath(src)!r} holds no figures (no such directory, or empty); name a "
                             "directory written by picky figures, e.g. the checkout's figures/")
        man = read_manifest(src, flag="--data")
    elif old is not None:
        return dest, old.get("figures", {}) if isinstance(old.get("figures"), dict) else {}
    elif COMMITTED.resolve() != dest.resolve() and _owned(COMMITTED, "--data") is not None:
        src, man = COMMITTED, read_manifest(COMMITTED, flag="--data")
    else:
        raise ValueError(f"--reuse-data: {os.fspath(dest)!r} holds no figures yet and no committed figures/ was found "
                         f"(looked in {os.fspath(COMMITTED)!r}: not a checkout); name the figures to replot with "
                         "--data DIR, or run picky figures without --reuse-data")
    return src, man.get("figures", {}) if isinstance(man.get("figures"), dict) else {}


def generate(out: str | os.PathLike[str], *, only: Sequence[str] | None = None, reuse_data: bool = False,
             profile: str = "quick", progress: bool = False, command: Sequence[str] | None = None,
             stream: Any = None, executor: Executor | None = None,
             data: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write the figures into ``out``; returns {"out", "figures": {name: {"seconds", "files", "reused"}}, "seconds",
    "data"}.

    ``reuse_data``: replot from the CSVs of ``data`` (a picky figures directory), by default ``out`` if
    it holds figures, else the checkout's committed ``figures/``; ``data`` is the directory read ("data"
    in the result; None when computing).

    ``executor`` (:class:`verify.runtime.executors.Executor`; default: this process): where the claims the
    figures read and then the figures' computations run (one task per figure, given the evidence it
    reads); plotting and writing stay here. Every executor gives the same data (tested)."""
    from . import NAMES, get

    if profile not in PROFILES:
        raise ValueError(f"--profile must be one of {list(PROFILES)}; got {profile!r}")
    names = list(NAMES) if not only else list(dict.fromkeys(get(n).NAME for n in only))
    dest = Path(out)
    old = _owned(dest)
    old_meta: dict[str, Any] = {}
    if old is not None:
        read_manifest(dest, flag="--out")  # every listed file present and unedited, or refuse
        old_meta = old.get("figures", {}) if isinstance(old.get("figures"), dict) else {}
    if data is not None and not reuse_data:
        raise ValueError("--data: only with --reuse-data (it names the figures directory to replot from)")
    src, src_meta = _data_source(dest, old, data) if reuse_data else (None, {})
    if reuse_data and not only:  # replot what the data directory holds
        names = [n for n in NAMES if n in src_meta]
    ctx = Context(profile=profile, show_progress=progress, stream=stream, executor=executor)
    remote = executor is not None and (executor.uses_dask or executor.kind != "inline") and not reuse_data
    # claims needed by the figures computed in this run: run them together, once
    if not reuse_data:
        for n in names:
            ctx.want(getattr(get(n), "CLAIMS", ()))
    t_start = time.perf_counter()
    tables: dict[str, Table] = {}
    seconds: dict[str, float] = {}
    if remote:  # the claims first (distributed too), then one task per figure
        needed = ctx.evidence(sorted(ctx._wanted)) if ctx._wanted else {}
        ctx.progress(f"computing {len(names)} figure(s) on {executor.describe()}")
        tasks = [(n, (n, profile, {i: needed[i] for i in getattr(get(n), "CLAIMS", ())})) for n in names]
        for n, table in map_tasks(compute_figure, tasks, executor):
            tables[n] = table
            seconds[n] = time.perf_counter() - t_start
            ctx.progress(f"{n}: computed")
    done: dict[str, Any] = {}
    figmeta: dict[str, Any] = {}
    with OutputDir(dest, force=old is not None, flag="--out") as od:
        for n in NAMES:
            if n in names:
                continue
            if n in old_meta and all((dest / f).is_file() for f in figure_files(n)):
                for f in figure_files(n):
                    shutil.copy2(dest / f, od.file(f))
                figmeta[n] = old_meta[n]
        for n in names:
            mod = get(n)
            t0 = time.perf_counter()
            if reuse_data:
                ctx.progress(f"{n}: replotting from {os.fspath(src / f'{n}.csv')}")
                table = Table.read(src, n)
            elif n in tables:
                table = tables[n]
            else:
                ctx.progress(f"{n}: computing ({profile} profile)")
                table = mod.compute(profile, ctx=ctx)
            if not reuse_data:
                table.meta["profile"] = profile
            fig = mod.plot(table)
            files = style.save(fig, od.tmp, n)
            od.write_text(f"{n}.csv", table.csv_text())
            od.write_text(f"{n}.meta.json", table.meta_text())
            secs = time.perf_counter() - t0 + seconds.get(n, 0.0)
            prof = table.meta.get("profile", profile) if reuse_data else profile
            figmeta[n] = {"title": mod.TITLE, "profile": prof, "sentence": table.meta.get("sentence", ""),
                          "seeds": table.meta.get("seeds"), "caption": table.meta.get("caption", ""),
                          "files": files + [f"{n}.csv", f"{n}.meta.json"], "source": table.meta.get("source", "")}
            done[n] = {"seconds": secs, "files": figmeta[n]["files"], "reused": reuse_data}
            ctx.progress(f"{n}: done in {secs:.1f}s")
        order = {n: i for i, n in enumerate(NAMES)}
        figmeta = dict(sorted(figmeta.items(), key=lambda kv: order.get(kv[0], 99)))
        od.write_text("README.md", readme(figmeta, out=os.fspath(out)))
        od.commit({"kind": "picky-figures", "figures_schema": FIGURES_SCHEMA,
                   "command": list(command) if command else None, "profile": profile,
                   "figures": figmeta})
    return {"out": os.fspath(dest), "figures": done, "seconds": time.perf_counter() - t_start,
            "data": os.fspath(src) if src is not None else None}


def _seeds_text(seeds: Any) -> str:
    if seeds is None:
        return "none (deterministic)"
    if isinstance(seeds, dict):
        return "; ".join(f"{k}: {_seeds_text(v)}" for k, v in seeds.items())
    if isinstance(seeds, (list, tuple)):
        if len(seeds) > 6 and all(isinstance(s, int) for s in seeds) and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
            return f"{seeds[0]}..{seeds[-1]}"
        return ", ".join(str(s) for s in seeds)
    return str(seeds)


def readme(figmeta: dict[str, Any], out: str = "figures") -> str:
    """The index: per figure a thumbnail, one sentence, the seeds, the exact command, the files."""
    from . import NAMES, get

    lines = [
        "# Figures",
        "",
        "Generated by `picky figures` (do not edit: regenerate). Each figure is a PNG and an SVG with, beside it, "
        "the CSV of exactly the plotted data and a `.meta.json` (caption, seeds, fitted values). "
        "`picky figures --reuse-data` replots from the CSVs. Constants such as 8960 in Theorem D/D' are *derived in "
        "this package*, not the paper's; rate forms carry an unknown constant C (C = 1 shown).",
        "",
    ]
    for i, (n, m) in enumerate(figmeta.items(), start=1):
        num = NAMES.index(n) + 1 if n in NAMES else i
        prof = m.get("profile", "quick")
        lines += [
            f"## {num}. {m.get('title') or get(n).TITLE}",
            "",
            f"[![{n}]({n}.png)]({n}.svg)",
            "",
            m.get("sentence", ""),
            "",
            f"- seeds: {_seeds_text(m.get('seeds'))}",
            f"- command: `picky figures --out {out} --only {n} --profile {prof}`",
            f"- files: {', '.join(f'[{f}]({f})' for f in m.get('files', []))}",
        ]
        if m.get("source"):
            lines.append(f"- data: {m['source']}")
        if m.get("caption"):
            lines += ["", f"*Caption.* {m['caption']}"]
        lines.append("")
    return "\n".join(lines)

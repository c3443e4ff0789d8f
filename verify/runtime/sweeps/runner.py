"""Running a sweep: every cell computed once, cached on disk, on one of three executors.

Executors (all compute a cell with :func:`compute_cell`, so they give identical results):

- ``processes`` (default): local worker processes (``concurrent.futures.ProcessPoolExecutor``), no server;
- ``local-cluster``: a Dask ``LocalCluster`` of N worker processes on the loopback interface
  (127.0.0.1), started and stopped by the sweep;
- ``scheduler``: an existing Dask cluster at ``tcp://HOST:PORT`` (``dask scheduler`` on one machine,
  ``dask worker tcp://HOST:PORT`` on each of the others; every worker needs this package installed and
  a shared filesystem for the output directory).

Cache and resume: cell ``k`` is written atomically (:class:`verify.io.output.OutputDir`) to
``OUT/cells/<k>/`` (:mod:`verify.io.runstore`'s layout plus ``summary.json``); a cell whose directory has a
complete manifest is not computed again. An interrupted sweep (Ctrl-C, a killed worker, a lost node)
therefore resumes with the missing cells only; a task that Dask re-runs after a worker died rewrites
the same content under the same key (the write is idempotent). Tasks are submitted with explicit keys
(``picky-cell-<k>``) and ``pure=False``.

Results: ``OUT/results.csv`` (long format: one row per cell x lane x metric) and ``OUT/sweep.json``
(the sweep, its cells and keys, the environment), written atomically when every cell is done.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from verify.io import jsonsafe, runstore
from verify.runtime import simulation
from verify.runtime.executors import Executor, map_tasks
from verify.io.output import OutputDir, atomic_write_text, read_manifest
from verify.io.provenance import environment
from verify.runtime.sweeps.spec import Cell, Sweep

__all__ = ["compute_cell", "run", "EXECUTORS", "CELL_KIND", "METRICS", "SCHEMA", "results_rows"]

EXECUTORS = ("processes", "local-cluster", "scheduler")  # verify.runtime.executors', less "inline"
CELL_KIND = "picky-sweep-cell"
METRICS = ("first_hit", "steps_run", "accepted", "rejected", "diverged", "min_grad_norm", "final_grad_norm")
#: the schema of sweep.json and of each cell's run.json
SCHEMA = "picky-sweep/1"


def cell_dir(out: Path, key: str) -> Path:
    return Path(out) / "cells" / key


def is_done(out: Path, key: str) -> bool:
    d = cell_dir(out, key)
    if not (d / "MANIFEST.json").is_file():
        return False
    try:
        read_manifest(d, flag="sweep cell")
    except ValueError:
        return False
    return True


def compute_cell(params: dict[str, Any], out: str, key: str, threads: int = 1) -> str:
    """Compute one cell (unless it is already on disk) and write it atomically; returns
    ``"cached"`` or ``"computed"``. Pure in (params, key): a rerun writes the same content."""
    out_p = Path(out)
    if is_done(out_p, key):
        return "cached"
    if threads:
        os.environ["PICKY_THREADS"] = str(threads)
    lanes = simulation.build(dict(params))
    results = simulation.execute(lanes, progress=False)
    summary = simulation.report(lanes, results, ["picky", "sweep"], SCHEMA)
    with OutputDir(cell_dir(out_p, key), flag="sweep cell", kind=CELL_KIND) as d:
        runstore.write(d, results, {"schema": SCHEMA, "key": key, "parameters": params})
        d.write_json("summary.json", {"key": key, "parameters": params, "aggregate": summary["aggregate"],
                                      "runs": summary["runs"]})
        d.commit({"key": key})
    return "computed"


def results_rows(out: Path, cells: Iterable[Cell]) -> list[dict[str, Any]]:
    """Long format: cell, the cell's grid values, algorithm, seed, metric, value."""
    rows = []
    for c in cells:
        summary = jsonsafe.loads((cell_dir(out, c.key) / "summary.json").read_text())
        p = c.params
        base = {"cell": c.key, "problem": p["problem"], "dim": p["dim"], "noise": p["noise"], "sigma": p["sigma"],
                "delays": p["delays"], "delay_draw": p["delay_draw"], "eps": p["eps"], "steps": p["steps"]}
        for r in summary["runs"]:
            for m in METRICS:
                v = r.get(m)
                rows.append({**base, "algorithm": r["algorithm"], "seed": r["seed"], "metric": m,
                             "value": "" if v is None else v})
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return buf.getvalue()


def run(sweep: Sweep, out: str | Path, *, executor: str = "processes", workers: int = 2,
        scheduler: str | None = None, on_cell: Callable[[Cell, str, int, int], None] | None = None,
        command: list[str] | None = None, client: Any = None) -> dict[str, Any]:
    """Compute every missing cell of ``sweep`` into ``out`` and write the results table; returns a
    summary ``{"cells", "computed", "cached", "results", "rows"}``. ``client``: a Dask client to use
    (the caller's cluster, kept open) instead of the one ``executor`` would start."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    out = Path(out)
    for c in sweep.cells:  # every cell's parameters are checked before any work (as picky simulate would)
        simulation.problem_and_noise(c.params)
    try:
        (out / "cells").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out: cannot write to {str(out)!r}: {exc.strerror or exc}") from None
    todo = [c for c in sweep.cells if not is_done(out, c.key)]
    cached = len(sweep.cells) - len(todo)
    ex = Executor("processes" if client is not None else executor, workers, scheduler, client)
    by_key = {c.key: c for c in todo}
    done = 0
    tasks = [(c.key, (c.params, str(out.resolve()), c.key)) for c in todo]
    for key, how in map_tasks(compute_cell, tasks, ex, prefix="picky-cell"):
        done += 1
        if on_cell:
            on_cell(by_key[key], how, done, len(todo))
    rows = results_rows(out, sweep.cells)
    atomic_write_text(out / "results.csv", _csv(rows))
    atomic_write_text(out / "sweep.json", jsonsafe.dumps({
        "schema": SCHEMA, "name": sweep.name, "command": command, "source": sweep.source,
        "cells": [{"key": c.key, "label": c.label(), "parameters": c.params} for c in sweep.cells],
        "environment": environment()}, indent=2) + "\n")
    return {"cells": len(sweep.cells), "computed": len(todo), "cached": cached, "results": str(out / "results.csv"),
            "rows": len(rows)}

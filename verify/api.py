"""The public Python API: run, verify and load as the ``picky`` commands do, and get pandas tables.

::

    import verify

    sim = verify.simulate(["picky", "delayed-sgd"], problem="logsum", dim=10, delays="pareto:alpha=1.5,scale=3",
                          eps=0.1, sigma=1.0, steps=20_000, seeds=8)
    sim.to_frame()              # one row per lane (LANE_COLUMNS)
    sim.save("runs/a")          # the directory `picky simulate --save runs/a` writes
    verify.load("runs/a")       # a Simulation again (also: a report or a sweep directory)
    ev = verify.verify(["stability"], profile="test")
    ev.to_frame()               # the long format of results.csv

Three functions and the three objects they return:

- :func:`simulate` -> :class:`Simulation` (what ``picky simulate`` runs and reports);
- :func:`verify` -> :class:`Verification` (what ``picky verify`` checks; the evidence of each claim);
- :func:`load` -> the object of a saved run (``picky simulate --save``), a report (``picky verify --out``)
  or a sweep (``picky sweep --out``, :class:`SweepResult`).

There is one code path: :func:`simulate` turns its arguments into the equivalent ``picky simulate``
command line and parses it with the command's own parser, so it accepts exactly what the command
accepts and rejects a bad value with the command's one-line message (a ``ValueError``, e.g.
``argument --eps: must be a finite real in (0, inf); got '0'``); it then runs
:func:`verify.runtime.simulation.build`, ``execute`` and ``report``. :func:`verify` parses ``picky verify``'s
options the same way and runs :func:`verify.claims.run`. The equivalent command is kept
(``Simulation.command``, ``Verification.meta["command"]``) and saved with the run.

This module imports nothing heavy at import time (numba, sympy, pandas load on first use), and
``import verify`` imports this module only when one of its names is used.
"""
from __future__ import annotations

import sys

import argparse
import csv
import datetime as dt
import io
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from verify.claims.evidence import Evidence
    from verify.io.records import RunResult

__all__ = ["simulate", "verify", "load", "Simulation", "Verification", "SweepResult", "LANE_COLUMNS"]

#: the columns of :meth:`Simulation.to_frame`, one row per lane (lane = algorithm x seed, algorithm-major),
#: with their pandas dtypes ("Int64" and "boolean" are pandas' nullable types: <NA> where there is no value)
LANE_COLUMNS: dict[str, str] = {
    "lane": "int64",            # 0, 1, ... in the order of the run
    "algorithm": "object",      # picky, delayed-sgd, ...
    "problem": "object",        # the problem spec as given (e.g. "logsum", "quadratic:scale=0.1")
    "dim": "int64",
    "noise": "object",          # the noise spec
    "sigma": "float64",
    "delays": "object",         # the delay-model spec (<NA>/None with an adversary)
    "adversary": "object",      # the adversary spec (None without one)
    "delay_draw": "object",     # shared | per-seed
    "delay_seed": "Int64",      # the seed the lane's delay sequence was drawn with (<NA>: deterministic model)
    "seed": "int64",            # the lane's seed (its noise)
    "eps": "float64",           # target: success iff ||grad f(x_t)|| <= eps
    "steps": "int64",           # the horizon T requested
    "steps_run": "int64",       # steps performed (< T when stopped at the hit or on divergence)
    "first_hit": "Int64",       # first t with ||grad f(x_t)|| <= eps (<NA>: never)
    "accepted": "int64",        # updates applied
    "rejected": "int64",        # stale gradients discarded
    "diverged": "bool",
    "diverged_step": "Int64",
    "min_grad_norm": "float64",  # min over the measured iterates of the exact ||grad f(x_t)||
    "final_grad_norm": "float64",
    "final_f": "float64",
    "tau_avg": "float64",       # the mean delay the lane used over its steps run (0 for sgd)
    "tau_max": "int64",         # the largest delay it used
    "eta": "float64",           # the resolved step size (given or the theory's default)
    "rho": "float64",           # picky's threshold (NaN for the others)
    "R": "Int64",               # stale-drop's cutoff
    "tau_C": "float64",         # delay-adaptive's delay cap
    "rule": "object",           # delay-adaptive's step rule
    "engine": "object",         # numba | reference
}


class _Raising(argparse.ArgumentParser):
    """The command's own parser, raising ``ValueError(message)`` where the CLI prints
    ``picky CMD: error: message`` and exits 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise ValueError(message)


def _subparser(module: Any, name: str) -> argparse.ArgumentParser:
    top = _Raising(prog="picky")
    sub = top.add_subparsers(dest="command")
    module.add_parser(sub)
    return sub.choices[name]


def _option(flag: str, value: Any) -> str:
    return f"{flag}={value}"


# ------------------------------------------------------------------------------------------
# simulate
# ------------------------------------------------------------------------------------------
def simulate(
    algorithms: str | Sequence[str],
    *,
    eps: float,
    steps: int,
    seeds: int,
    problem: str = "logsum",
    dim: int = 10,
    delays: str | None = None,
    adversary: str | None = None,
    noise: str = "gaussian",
    sigma: float = 0.0,
    delay_draw: str = "shared",
    delay_seed: int = 0,
    seed0: int = 0,
    params: Mapping[str, Any] | None = None,
    stop_at_hit: bool = False,
    trace_every: int | None = None,
    engine: str | None = None,
    progress: bool | None = None,
) -> Simulation:
    """Run every algorithm with seeds ``seed0 .. seed0 + seeds - 1`` on one problem, as
    ``picky simulate`` does (see ``picky simulate --help`` and ``picky list`` for the vocabulary).

    ``algorithms``: one name or a list (``"picky,delayed-sgd"`` also works); ``problem``, ``noise``,
    ``delays``, ``adversary``: specs ``name:key=value,...``; exactly one of ``delays`` (an oblivious
    delay model: one sequence for every lane, or with ``delay_draw="per-seed"`` one draw per seed,
    seeded from ``delay_seed`` and the lane's seed) and ``adversary`` (an adaptive adversary per lane;
    runs the reference loop); an algorithm may be your own rule (:func:`verify.algorithms.define`).
    ``params``: the algorithms' parameters ``eta, rho, R, tau_C, rule`` and ``batch`` (rennala's S,
    minibatch's m; with ``delays="compute:spec=..."`` the names ``ringmaster``, ``ringmaster-stops``,
    ``rennala``, ``minibatch`` run on their own schedules, as ``picky simulate --compute``)
    (default: the theory's, :func:`verify.algorithms.resolve`). ``progress``: a progress bar on
    stderr (default: only when stderr is a terminal).

    Returns a :class:`Simulation`. A bad value raises ``ValueError`` with ``picky simulate``'s own
    one-line message (e.g. ``argument --eps: must be ...; got '0'``)."""
    from verify.cli import simulate as cli

    parser = _subparser(cli, "simulate")
    names = algorithms if isinstance(algorithms, str) else ",".join(str(a) for a in algorithms)
    values: dict[str, Any] = {"problem": problem, "dim": dim, "delays": delays, "adversary": adversary, "noise": noise,
                              "sigma": sigma, "delay_draw": delay_draw, "delay_seed": delay_seed, "seed0": seed0,
                              "eps": eps, "steps": steps, "seeds": seeds, "trace_every": trace_every, "engine": engine}
    extra = dict(params or {})
    allowed = ("eta", "rho", "R", "tau_C", "rule", "batch")
    for k in extra:
        if k not in allowed:
            raise ValueError(f"params: unknown parameter {k!r}; allowed: {', '.join(allowed)}")
    values.update(extra)
    argv = ["simulate", _option("--algorithm", names)]
    user = sys.modules.get("verify.algorithms.user")  # rules defined with verify.algorithms.define (if any)
    if user is not None:  # each written as its --user-rule spec: run.json can define it again (--replay)
        for n in dict.fromkeys(x.strip().lower() for x in names.split(",")):
            if n in user.USER_RULES:
                argv.append(_option("--user-rule", user.format_rule_spec(user.USER_RULES[n])))
    for dest, v in values.items():
        if v is not None and not (dest not in ("eps", "steps", "seeds") and v == parser.get_default(dest)
                                  and type(v) is type(parser.get_default(dest))):
            argv.append(_option(cli.FLAGS[dest], v))
    if not isinstance(stop_at_hit, bool):
        raise ValueError(f"stop_at_hit must be True or False; got {stop_at_hit!r}")
    if stop_at_hit:
        argv.append(cli.FLAGS["stop_at_hit"])
    args = parser.parse_args(argv[1:])
    p = cli.parameters(args)
    return _run(p, ["picky", *argv], progress)


def _run(p: dict[str, Any], command: list[str], progress: bool | None) -> Simulation:
    from verify.cli import simulate as cli
    from verify.runtime import simulation

    lanes = simulation.build(p)
    results = simulation.execute(lanes, progress)
    return Simulation(p, results, simulation.report(lanes, results, command, cli.SCHEMA), command)


def _lane_rows(results: Sequence[RunResult], p: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, r in enumerate(results):
        c = r.config
        rows.append({
            "lane": i, "algorithm": r.algorithm, "problem": p["problem"], "dim": p["dim"], "noise": p["noise"],
            "sigma": p["sigma"], "delays": p["delays"], "adversary": p["adversary"], "delay_draw": p["delay_draw"],
            "delay_seed": r.delays.seed, "seed": r.seed, "eps": p["eps"], "steps": r.T, "steps_run": r.steps_run,
            "first_hit": r.first_hit, "accepted": r.accepted, "rejected": r.rejected, "diverged": r.diverged,
            "diverged_step": r.diverged_step, "min_grad_norm": r.min_grad_norm, "final_grad_norm": r.final_grad_norm,
            "final_f": r.final_f, "tau_avg": r.delay_stats["tau_avg"], "tau_max": r.delay_stats["tau_max"],
            "eta": c.get("eta"), "rho": c.get("rho"), "R": c.get("R"), "tau_C": c.get("tau_C"), "rule": c.get("rule"),
            "engine": r.engine,
        })
    return rows


@dataclass(frozen=True, eq=False)
class Simulation:
    """One ``picky simulate`` run: its ``parameters`` (every CLI parameter, defaults filled in, as in
    ``run.json``), its ``results`` (one :class:`verify.io.records.RunResult` per lane, algorithm-major),
    its ``report`` (the dict ``picky simulate --json`` prints: theory, aggregate per algorithm, ...)
    and the equivalent ``command``. ``path``: the directory it was loaded from (None if computed)."""

    parameters: dict[str, Any]
    results: list[RunResult]
    report: dict[str, Any]
    command: list[str]
    path: Path | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per lane; the columns and their dtypes are :data:`LANE_COLUMNS`."""
        import pandas as pd

        rows = _lane_rows(self.results, self.parameters)
        return pd.DataFrame({k: pd.Series([r[k] for r in rows], dtype=t) for k, t in LANE_COLUMNS.items()})

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the directory ``picky simulate --save PATH`` writes (run.json, delays/, runs/, trace.csv,
        MANIFEST.json; :mod:`verify.io.runstore`), atomically; ``force`` replaces an existing one (only
        once the new one is complete). ``picky simulate --replay PATH`` reruns it."""
        from verify.cli import simulate as cli
        from verify.io.output import OutputDir

        with OutputDir(path, force=force, flag="--save") as out:
            cli.save_run(out, self.results, self.parameters, self.command)
        return Path(path)

    def __repr__(self) -> str:
        p = self.parameters
        return (f"Simulation({len(self.results)} lanes: {', '.join(p['algorithms'])} x {p['seeds']} seeds; "
                f"problem {p['problem']}, {'adversary ' + p['adversary'] if p['adversary'] else 'delays ' + str(p['delays'])}, "
                f"eps {p['eps']}, sigma {p['sigma']}, T {p['steps']})")


# ------------------------------------------------------------------------------------------
# verify
# ------------------------------------------------------------------------------------------
def verify(
    ids: str | Sequence[str] | None = None,
    profile: str = "quick",
    *,
    processes: int | None = None,
    local_cluster: int | None = None,
    scheduler: str | None = None,
) -> Verification:
    """Check the claims ``ids`` (default: all of :data:`verify.claims.CLAIMS`) as ``picky verify``
    does, with the budget ``profile`` (test | quick | full), in this process or on
    ``processes`` local processes, a Dask ``local_cluster`` of N workers or an existing ``scheduler``
    (``tcp://HOST:PORT``). Returns a :class:`Verification`. A bad value raises ``ValueError`` with
    ``picky verify``'s own message."""
    from verify import claims
    from verify.claims import report
    from verify.cli import verify as cli
    from verify.cli.common import executor_from

    parser = _subparser(cli, "verify")
    argv = ["verify", _option("--profile", profile)]
    for flag, v in (("--processes", processes), ("--local-cluster", local_cluster), ("--scheduler", scheduler)):
        if v is not None:
            argv.append(_option(flag, v))
    if ids is not None:
        argv += ["--only", *([ids] if isinstance(ids, str) else [str(i) for i in ids])]
    args = parser.parse_args(argv[1:])
    wanted = None if args.only is None else [claims.get(i).id for i in args.only]
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    evidence = claims.run(wanted, args.profile, executor=executor_from(args))
    meta = {"command": " ".join(["picky", *argv]), "profile": args.profile, "started": started,
            "seconds": time.perf_counter() - t0, "verdict": report.overall(evidence)}
    return Verification(evidence, meta)


def _csv_text(evidence: Sequence[Evidence]) -> str:
    from verify.claims import report

    buf = io.StringIO(newline="")
    report.write_csv(buf, list(evidence))
    return buf.getvalue()


@dataclass(frozen=True, eq=False)
class Verification:
    """The evidence of ``picky verify``: one :class:`verify.claims.Evidence` per claim, in registry
    order, and ``meta`` (``command``, ``profile``, ``started``, ``seconds``, ``verdict``: the worst
    over the claims, fail > inconclusive > pass > condition-not-met). ``path``: the report directory
    it was loaded from (None if computed)."""

    evidence: list[Evidence]
    meta: dict[str, Any]
    path: Path | None = None
    _csv: str = field(default="", repr=False)

    @property
    def verdict(self) -> str:
        return self.meta["verdict"]

    def to_frame(self) -> pd.DataFrame:
        """The long format of ``results.csv``, one row per measurement: claim, algorithm, problem, delays,
        seed, metric, value (:data:`verify.claims.report.CSV_COLUMNS`). It *is* ``pandas.read_csv`` of the
        text :func:`verify.claims.report.write_csv` writes there (of the file itself when loaded), so the
        file and the frame agree in columns, values and dtypes."""
        import pandas as pd

        return pd.read_csv(io.StringIO(self._csv or _csv_text(self.evidence)))

    def __repr__(self) -> str:
        return f"Verification({len(self.evidence)} claims, verdict {self.verdict}: " + \
            ", ".join(f"{e.claim} {e.verdict}" for e in self.evidence) + ")"


# ------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SweepResult:
    """A ``picky sweep --out`` directory: ``sweep`` (``sweep.json``: name, command, source, cells with
    their keys and parameters) and its table. :meth:`cell` loads one cell's runs as a :class:`Simulation`."""

    path: Path
    sweep: dict[str, Any]

    @property
    def cells(self) -> list[str]:
        return [c["key"] for c in self.sweep.get("cells", [])]

    def to_frame(self) -> pd.DataFrame:
        """``results.csv`` (long format: cell, problem, dim, noise, sigma, delays, delay_draw, eps, steps,
        algorithm, seed, metric, value; :mod:`verify.runtime.sweeps.runner`)."""
        import pandas as pd

        return pd.read_csv(self.path / "results.csv")

    def cell(self, key: str) -> Simulation:
        if key not in self.cells:
            raise ValueError(f"cell: unknown key {key!r}; the sweep has {len(self.cells)} cells: "
                             f"{', '.join(self.cells[:4])}{', ...' if len(self.cells) > 4 else ''}")
        return load(self.path / "cells" / key)

    def __repr__(self) -> str:
        return f"SweepResult({self.sweep.get('name')!r}, {len(self.cells)} cells, {str(self.path)!r})"


_KINDS = {"picky-verify-report": "report", "picky-sweep-cell": "run"}
_FLAG = "load"


def load(path: str | Path) -> Simulation | Verification | SweepResult:
    """Read a result directory back: a saved run (``picky simulate --save``, or one cell of a sweep)
    -> :class:`Simulation`; a report (``picky verify --out``) -> :class:`Verification`; a sweep
    (``picky sweep --out``) -> :class:`SweepResult`. The kind comes from ``MANIFEST.json``'s ``kind``,
    else from the files present (``run.json``, ``results.json``, ``sweep.json``); the manifest's
    checksums are verified. Anything else is a one-line ``ValueError``."""
    d = Path(path)
    if not d.is_dir():
        raise ValueError(f"{_FLAG}: no such directory {str(path)!r} (expected a directory written by picky simulate "
                         "--save, picky verify --out or picky sweep --out)")
    kind = _KINDS.get(_manifest_kind(d))
    if kind is None:
        kind = next((k for f, k in (("run.json", "run"), ("results.json", "report"), ("sweep.json", "sweep"))
                     if (d / f).is_file()), None)
    if kind == "run":
        return _load_run(d)
    if kind == "report":
        return _load_report(d)
    if kind == "sweep":
        return _load_sweep(d)
    raise ValueError(f"{_FLAG}: {str(path)!r} is not a result directory: it holds no run.json (picky simulate --save), "
                     "results.json (picky verify --out) or sweep.json (picky sweep --out)")


def _manifest_kind(d: Path) -> str | None:
    from verify.io import jsonsafe

    try:
        man = jsonsafe.loads((d / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        return None
    return man.get("kind") if isinstance(man, dict) else None


def _load_run(d: Path) -> Simulation:
    from verify.cli import simulate as cli
    from verify.runtime import simulation
    from verify.runtime.sweeps import runner

    head, seqs, results = cli.load_saved(str(d), _FLAG, (runner.SCHEMA, cli.SCHEMA))
    p = head["parameters"]
    command = head.get("command") or ["picky", "sweep"]
    lanes = simulation.build(p, sequences=seqs)
    return Simulation(p, results, simulation.report(lanes, results, command, cli.SCHEMA), command, d)


def _read_json(f: Path) -> Any:
    from verify.io import jsonsafe

    try:
        return jsonsafe.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{_FLAG}: cannot read {str(f)!r}: {exc}") from None


def _cell(text: str) -> Any:
    """A results.csv cell as written from a Row: "" is None, else an int, a float or the text."""
    if text == "":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _load_report(d: Path) -> Verification:
    from verify.claims import report
    from verify.claims.evidence import Evidence, Row, Test
    from verify.io.output import read_manifest

    read_manifest(d, _FLAG)
    data = _read_json(d / "results.json")
    if not isinstance(data, dict) or data.get("schema") != report.SCHEMA or not isinstance(data.get("claims"), list):
        raise ValueError(f"{_FLAG}: {str(d / 'results.json')!r} is not a {report.SCHEMA} report")
    try:
        text = (d / "results.csv").read_text()
    except OSError as exc:
        raise ValueError(f"{_FLAG}: cannot read {str(d / 'results.csv')!r}: {exc.strerror or exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != report.CSV_COLUMNS:
        raise ValueError(f"{_FLAG}: {str(d / 'results.csv')!r} does not have the columns {', '.join(report.CSV_COLUMNS)}")
    names = [f.name for f in fields(Row)]
    rows: dict[str, list[Row]] = {}
    for rec in reader:  # the strings of a Row's fields; its numbers (seed, value) parsed back
        rows.setdefault(rec["claim"], []).append(
            Row(**{k: _cell(rec[k]) if k in ("seed", "value") else rec[k] for k in names}))
    evidence = []
    for c in data["claims"]:
        kw = {k: v for k, v in c.items() if k not in ("test", "rows")}
        ev = Evidence(**kw, test=Test(**c["test"]), rows=rows.pop(c["claim"], []))
        if len(ev.rows) != c["rows"]:
            raise ValueError(f"{_FLAG}: results.json says claim {c['claim']!r} has {c['rows']} rows but results.csv "
                             f"has {len(ev.rows)}")
        evidence.append(ev)
    if rows:
        raise ValueError(f"{_FLAG}: results.csv has rows of claims results.json does not list: {', '.join(rows)}")
    meta = {k: data.get(k) for k in ("command", "profile", "started", "seconds", "verdict")}
    return Verification(evidence, meta, d, text)


def _load_sweep(d: Path) -> SweepResult:
    from verify.runtime.sweeps import runner

    data = _read_json(d / "sweep.json")
    if not isinstance(data, dict) or data.get("schema") != runner.SCHEMA:
        raise ValueError(f"{_FLAG}: {str(d / 'sweep.json')!r} is not a {runner.SCHEMA} sweep record")
    if not (d / "results.csv").is_file():
        raise ValueError(f"{_FLAG}: {str(d)!r} has no results.csv (an unfinished sweep: rerun picky sweep to complete it)")
    return SweepResult(d, data)

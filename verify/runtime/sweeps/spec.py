"""A sweep file (TOML) and its cells.

A sweep is a grid; every combination of the list-valued keys is one **cell**, and a cell is exactly one
simulation of :mod:`verify.runtime.simulation` (every algorithm x every seed, run as one engine call: many lanes
per task). Keys (under ``[sweep]``; a scalar is a one-element list)::

    algorithms = ["picky", "delayed-sgd"]          # all run in every cell (common random numbers)
    problems   = ["logsum", "quadratic:scale=0.1"]  # problem specs (verify.io.specs grammar)
    dim        = [10]
    noise      = ["gaussian"]
    sigma      = [0.0, 1.0]
    delays     = ["pareto:alpha=1.5,scale=3", "straggler"]
    delay_draw = ["shared"]                         # or "per-seed": a fresh draw per seed
    eps        = [0.5, 0.2]
    steps      = 20000
    seeds      = 8                                  # seeds seed0 .. seed0 + seeds - 1 in every cell
    seed0      = 0
    delay_seed = 0
    stop_at_hit = false
    trace_every = 0                                 # 0: no trace

and optional ``[parameters]`` with algorithm overrides (``eta``, ``rho``, ``R``, ``tau_C``, ``rule``),
each a scalar or a list (part of the grid), and optional ``[rules.NAME]`` tables defining your own
algorithms (README: Your own rules), run by naming them in ``algorithms``::

    [rules.picky-2rho]
    accept = "dist <= 2*rho"
    step   = "eta"
    params = { eta = "1/(9*beta)", rho = "eps/(2*beta)" }   # in order; defaults as expressions

(each cell records them as ``picky simulate --user-rule`` specs, so a cell's key changes with its rules,
and a worker process defines them again). Unknown tables and keys are one error naming all of them and
what is allowed; values are checked when the cells are built (the same checks as ``picky simulate``).

A cell's **key** is the SHA-256 (first 20 hex digits) of the package version and the cell's
parameters as canonical JSON: equal cells share a key, so a cell's result can be cached under it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import theory
from theory.validation import check_bool, check_int, check_real

from verify.runtime import simulation
from verify.params import MAX_SEED, MAX_STEPS

__all__ = ["Sweep", "Cell", "load", "from_dict", "GRID_KEYS", "SCALAR_KEYS"]

#: keys whose lists are crossed into the grid
GRID_KEYS = ("problems", "dim", "noise", "sigma", "delays", "delay_draw", "eps")
#: keys that are the same in every cell
SCALAR_KEYS = ("algorithms", "steps", "seeds", "seed0", "delay_seed", "stop_at_hit", "trace_every")
_DEFAULTS = {"problems": ["logsum"], "dim": [10], "noise": ["gaussian"], "sigma": [0.0], "delay_draw": ["shared"],
             "seed0": 0, "delay_seed": 0, "stop_at_hit": False, "trace_every": 0}
_REQUIRED = ("algorithms", "delays", "eps", "steps", "seeds")
_OVERRIDES = simulation.OVERRIDES


@dataclass(frozen=True)
class Cell:
    """One simulation: ``params`` as :func:`verify.runtime.simulation.build` takes them; ``key`` its cache key."""

    params: dict[str, Any]
    key: str

    def label(self) -> str:
        p = self.params
        return (f"{p['problem']} d={p['dim']} {p['delays']} ({p['delay_draw']}) eps={p['eps']:g} "
                f"sigma={p['sigma']:g}")


@dataclass(frozen=True)
class Sweep:
    name: str
    cells: tuple[Cell, ...]
    source: dict[str, Any]


def _as_list(key: str, v: Any) -> list:
    return list(v) if isinstance(v, list) else [v]


def cell_key(params: dict[str, Any]) -> str:
    blob = json.dumps({"version": theory.__version__, "params": params}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def from_dict(data: dict[str, Any], name: str = "sweep") -> Sweep:
    """The cells of a sweep given as a dict (the parsed TOML)."""
    if not isinstance(data, dict):
        raise ValueError(f"a sweep must be a TOML table; got {type(data).__name__}")
    problems_ = _unknown_keys(data)
    body = data.get("sweep")
    if not isinstance(body, dict):
        raise ValueError("; ".join(["sweep file: needs a [sweep] table", *problems_]))
    missing = [k for k in _REQUIRED if k not in body]
    if missing:
        problems_.append(f"[sweep] needs {', '.join(missing)}")
    if problems_:
        raise ValueError("sweep file: " + "; ".join(problems_))
    pars = data.get("parameters", {})
    if not isinstance(pars, dict):
        raise ValueError(f"sweep file: [parameters] must be a table; got {pars!r}")
    cfg = {**_DEFAULTS, **body}
    grid = {k: _as_list(k, cfg[k]) for k in GRID_KEYS}
    over = {k: _as_list(k, v) for k, v in pars.items()}
    algorithms = _as_list("algorithms", cfg["algorithms"])
    _check(cfg, grid)
    rules = _rule_specs(data.get("rules", {}))
    cells = []
    names = list(grid) + list(over)
    for combo in itertools.product(*(grid[k] for k in grid), *(over[k] for k in over)):
        values = dict(zip(names, combo))
        p = {
            "algorithms": algorithms, "problem": values["problems"], "dim": values["dim"], "noise": values["noise"],
            "sigma": values["sigma"], "delays": values["delays"], "delay_seed": cfg["delay_seed"],
            "delay_draw": values["delay_draw"], "eps": values["eps"], "steps": cfg["steps"], "seeds": cfg["seeds"],
            "seed0": cfg["seed0"], "stop_at_hit": bool(cfg["stop_at_hit"]),
            "trace_every": cfg["trace_every"] or None, "engine": "numba", "adversary": None,
            **{k: values.get(k) for k in _OVERRIDES},
        }
        if rules:  # only then: the keys of sweeps without rules stay as they were
            p["user_rule"] = rules
        cells.append(Cell(p, cell_key(p)))
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise ValueError("sweep file: the grid lists the same cell twice (a repeated value in a list)")
    return Sweep(str(body.get("name", name)), tuple(cells), data)


#: the keys a sweep file may hold, per table
SWEEP_KEYS = (*GRID_KEYS, *SCALAR_KEYS, "name")


def _unknown_keys(data: dict[str, Any]) -> list[str]:
    """Every unknown table and key of the file at once, with the allowed ones (not only the first: a
    file written from a wrong description is fixed in one edit); reported with the missing keys."""
    parts = []
    tables = [t for t in data if t not in ("sweep", "parameters", "rules")]
    if tables:
        parts.append(f"unknown table{'s' * (len(tables) > 1)} {', '.join(f'[{t}]' for t in tables)} "
                     "(allowed: [sweep], [parameters], [rules])")
    for table, allowed in (("sweep", SWEEP_KEYS), ("parameters", _OVERRIDES)):
        body = data.get(table)
        if isinstance(body, dict):
            bad = [k for k in body if k not in allowed]
            if bad:
                parts.append(f"unknown key{'s' * (len(bad) > 1)} {', '.join(map(repr, bad))} in [{table}] "
                             f"(allowed: {', '.join(allowed)})")
    return parts


def _rule_specs(rules: Any) -> list[str]:
    """``[rules.NAME]`` tables -> ``--user-rule`` specs, each checked by defining it (one-line errors)."""
    from verify.algorithms.user import parse_rule_spec
    from verify.io.specs import format_spec

    if not isinstance(rules, dict):
        raise ValueError(f"sweep file: [rules] must hold tables [rules.NAME]; got {rules!r}")
    specs = []
    for name, body in rules.items():
        where = f"sweep file: [rules.{name}]"
        if not isinstance(body, dict):
            raise ValueError(f"{where} must be a table with accept, step and params; got {body!r}")
        bad = [k for k in body if k not in ("accept", "step", "params")]
        missing = [k for k in ("accept", "step") if k not in body]
        if bad or missing:
            raise ValueError(f"{where}: " + "; ".join(
                ([f"unknown key(s) {', '.join(map(repr, bad))} (allowed: accept, step, params)"] if bad else [])
                + ([f"needs {' and '.join(missing)}"] if missing else [])))
        params = body.get("params", {})
        if not isinstance(params, dict) or any(k in ("accept", "step") for k in params):
            raise ValueError(f"{where}: params must be a table name = default expression; got {params!r}")
        spec = format_spec(name, {"accept": str(body["accept"]), "step": str(body["step"]),
                                  **{k: str(v) for k, v in params.items()}})
        try:
            parse_rule_spec(spec)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        specs.append(spec)
    return specs


def _check(cfg: dict[str, Any], grid: dict[str, list]) -> None:
    """The value checks of ``picky simulate``'s arguments, with the sweep key named."""
    check_int("sweep.steps", cfg["steps"], 1, MAX_STEPS)
    check_int("sweep.seeds", cfg["seeds"], 1, 10**6)
    check_int("sweep.seed0", cfg["seed0"], 0, MAX_SEED)
    check_int("sweep.delay_seed", cfg["delay_seed"], 0, MAX_SEED)
    check_int("sweep.trace_every", cfg["trace_every"], 0)
    check_bool("sweep.stop_at_hit", cfg["stop_at_hit"])
    for v in grid["dim"]:
        check_int("sweep.dim", v, 1, 10**7)
    for v in grid["eps"]:
        check_real("sweep.eps", v, 0.0)
    for v in grid["sigma"]:
        check_real("sweep.sigma", v, 0.0, low_open=False)
    for k in ("problems", "noise", "delays", "delay_draw"):
        for v in grid[k]:
            if not isinstance(v, str):
                raise ValueError(f"sweep.{k} must be a spec string (or a list of them); got {v!r}")
    algs = _as_list("algorithms", cfg["algorithms"])
    if not algs or not all(isinstance(a, str) for a in algs):
        raise ValueError(f"sweep.algorithms must be a list of algorithm names; got {cfg['algorithms']!r}")


def load(path: str | Path) -> Sweep:
    """Read a sweep file (TOML); ValueError naming the file on a syntax error."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read sweep file {str(p)!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {str(p)!r}: {exc}") from None
    return from_dict(data, name=p.stem)

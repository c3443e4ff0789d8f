"""The data table of one figure: rows of plain values (the CSV beside the figure) and a small
metadata dict (the caption, the seeds, where the numbers come from), with an exact round trip.

A :class:`Table` is what every figure's ``compute`` returns and what its ``plot`` reads, so that
``picky figures --reuse-data`` replots from ``NAME.csv`` and ``NAME.meta.json`` alone. Column types
are recorded in the metadata (``int``, ``float``, ``str``, ``bool``); floats are written with
``repr`` so that reading them back gives the same number; an empty cell is ``None``.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from verify.io import jsonsafe

__all__ = ["Table", "column", "where"]

_TYPES = ("int", "float", "str", "bool")


def _kind(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        return "float"
    if isinstance(v, str):
        return "str"
    raise ValueError(f"a table cell must be None, bool, int, float or str; got {type(v).__name__} {v!r}")


def _merge(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b if a is None else a
    if b is None:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    raise ValueError(f"a column mixes {a} and {b} values")


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return ""
    if kind == "bool":
        return "true" if v else "false"
    if kind == "float":
        f = float(v)
        return repr(f) if math.isfinite(f) else ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))
    if kind == "int":
        return str(int(v))
    return str(v)


def _parse(s: str, kind: str) -> Any:
    if s == "":
        return None
    if kind == "int":
        return int(s)
    if kind == "float":
        return float(s)
    if kind == "bool":
        return s == "true"
    return s


@dataclass
class Table:
    """``rows``: a list of dicts of plain values (one dict per plotted point or bar); ``meta``: JSON
    metadata -- at least ``sentence`` (what the figure shows, one sentence), ``seeds`` and
    ``caption``; figures add what their plot needs (tuned values, fitted slopes, ...)."""

    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    #: the column order of the CSV a table was read from (kept, so that a replot rewrites the CSV byte
    #: for byte: read-back rows omit their empty cells, which would reorder the derived header)
    header: tuple[str, ...] | None = field(default=None, compare=False)

    def columns(self) -> dict[str, str]:
        """Column -> kind, in a deterministic order: the columns of the first row, then each later
        row's new columns in sorted order (rows built from sets or merged dicts may order keys
        differently from run to run; the CSV's header must not); a table read from a CSV keeps its
        header's order."""
        cols: dict[str, str | None] = {}
        for r in self.rows:
            for k in sorted(set(r) - set(cols)) if cols else r:
                cols[k] = None
            for k, v in r.items():
                cols[k] = _merge(cols.get(k), _kind(v))
        if self.header is not None and set(self.header) >= set(cols):
            cols = {k: cols.get(k) for k in self.header}
        return {k: (v or "str") for k, v in cols.items()}

    def select(self, **eq: Any) -> list[dict[str, Any]]:
        """The rows whose columns equal the given values."""
        return where(self.rows, **eq)

    # --- files -----------------------------------------------------------------------------
    def csv_text(self) -> str:
        cols = self.columns()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(cols))
        for r in self.rows:
            w.writerow([_fmt(r.get(c), k) for c, k in cols.items()])
        return buf.getvalue()

    def meta_text(self) -> str:
        meta = dict(self.meta)
        meta["columns"] = self.columns()
        return jsonsafe.dumps(meta, indent=2) + "\n"

    @classmethod
    def from_text(cls, csv_text: str, meta_text: str, *, where_: str = "the table") -> "Table":
        meta = jsonsafe.loads(meta_text)
        if not isinstance(meta, dict) or not isinstance(meta.get("columns"), dict):
            raise ValueError(f"{where_}: its metadata has no 'columns' (not written by picky figures)")
        kinds = meta.pop("columns")
        reader = csv.reader(io.StringIO(csv_text))
        try:
            header = next(reader)
        except StopIteration:
            header = []
        if set(header) != set(kinds):
            raise ValueError(f"{where_}: the CSV's columns {header} do not match its metadata {list(kinds)}")
        rows = []
        for line in reader:
            if len(line) != len(header):
                raise ValueError(f"{where_}: a CSV line has {len(line)} cells, the header {len(header)}")
            rows.append({c: _parse(v, kinds[c]) for c, v in zip(header, line) if v != ""})
        return cls(rows, meta, header=tuple(header))

    @classmethod
    def read(cls, directory: str | Path, name: str) -> "Table":
        d = Path(directory)
        csv_p, meta_p = d / f"{name}.csv", d / f"{name}.meta.json"
        for p in (csv_p, meta_p):
            if not p.is_file():
                raise ValueError(f"--reuse-data: {str(p)!r} is missing; run picky figures without --reuse-data "
                                 f"(or with --only {name}) to compute it")
        return cls.from_text(csv_p.read_text(), meta_p.read_text(), where_=str(csv_p))


def where(rows: Iterable[Mapping[str, Any]], **eq: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in rows if all(r.get(k) == v for k, v in eq.items())]


def column(rows: Iterable[Mapping[str, Any]], name: str, default: Any = np.nan) -> np.ndarray:
    """One column as a float array (None -> ``default``)."""
    return np.array([default if r.get(name) is None else r[name] for r in rows], dtype=float)

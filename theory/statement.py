"""The object that holds one result: :class:`Statement`.

A statement is data, not code: its bound, step size, threshold and side conditions are SymPy
expressions in the symbols of :mod:`theory.symbols`. Everything numeric in the package (the
calculators, the checks, the CLI, the figures) is generated from these expressions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

import sympy as sp

from . import symbols as S

__all__ = ["Status", "Convention", "Kind", "UnknownConstant", "Statement"]


class Status(str, Enum):
    """Provenance label carried by every statement (and by every number derived from it)."""

    CONFIRMED = "paper-confirmed"  #: checked against the cited paper's own text, constants included
    RATE_ONLY = "paper-rate-only"  #: the cited paper's rate is confirmed; its absolute constants are unknown here
    DERIVED = "derived"  #: proved or computed for this package (never the paper's constant)
    SECONDARY = "secondary"  #: stated by a third party that read the source
    UNCONFIRMED = "unconfirmed"  #: inferred, not checked against a source

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


class Convention(str, Enum):
    """Accuracy convention. Every stored bound is in the NORM convention."""

    NORM = "norm"  #: ||grad f(x)|| <= eps
    SQUARED = "squared"  #: ||grad f(x)||^2 <= eps  (convert with eps -> eps^2)

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


class Kind(str, Enum):
    UPPER = "upper"  #: T >= bound suffices
    LOWER = "lower"  #: T >= bound is necessary (for some instance)
    COUNT = "count"  #: a combinatorial bound, not an iteration count

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


@dataclass(frozen=True)
class UnknownConstant:
    """An absolute constant the source hides in O(.). It is a named user parameter ``C``; its
    default is stated with its status, never silently taken as the source's value."""

    symbol: sp.Symbol
    default: float
    status: Status
    meaning: str


@dataclass(frozen=True)
class Statement:
    """One theorem (or rate) as data.

    Attributes
    ----------
    id : the stable identifier used by the CLI and the calculators (e.g. ``"picky-explicit"``).
    bound : for ``kind`` UPPER/LOWER the number of steps T as a SymPy expression (norm-eps
        convention); for COUNT the bound on the counted quantity.
    step_size, threshold : SymPy expressions or ``None`` when the source gives none.
    side_conditions : SymPy relations that must hold for the conclusion (in symbols T, S = sum of
        the delays over the first T steps, ...).
    success_probability : a SymPy number (e.g. 1/2) or ``None`` for in-expectation statements.
    restarts : number of independent restarts to reach success probability 1 - delta, or None.
    aux : further named expressions (sharper forms, stability thresholds, counts).
    """

    id: str
    title: str
    citation: str
    status: Status
    provenance: str
    convention: Convention
    source_convention: Convention
    kind: Kind
    guarantee: str
    delay_quantity: str
    assumptions: tuple[str, ...]
    bound: sp.Expr
    step_size: sp.Expr | None = None
    step_size_note: str = ""
    threshold: sp.Expr | None = None
    threshold_note: str = ""
    side_conditions: tuple[sp.Basic, ...] = ()
    success_probability: sp.Expr | None = None
    restarts: sp.Expr | None = None
    constant: UnknownConstant | None = None
    aux: Mapping[str, sp.Expr] = field(default_factory=dict)
    notes: str = ""

    # --- derived views --------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[str, ...]:
        """Numeric names of the problem/delay parameters the bound depends on (sorted)."""
        syms = set(self.bound.free_symbols)
        if self.constant is not None:
            syms.discard(self.constant.symbol)
        return tuple(sorted(S.NAMES[s] for s in syms))

    def latex(self, what: str = "bound") -> str:
        """LaTeX of ``bound`` (default), ``step_size``, ``threshold`` or an ``aux`` entry."""
        expr = self._expr(what)
        if expr is None:
            raise ValueError(f"statement {self.id!r} has no {what}")
        return sp.latex(expr)

    def _expr(self, what: str) -> sp.Expr | None:
        if what in ("bound", "step_size", "threshold", "restarts", "success_probability"):
            return getattr(self, what)
        if what in self.aux:
            return self.aux[what]
        raise ValueError(
            f"what must be one of 'bound', 'step_size', 'threshold', 'restarts', 'success_probability' "
            f"or an aux name {sorted(self.aux)}; got {what!r}"
        )

    def with_constant(self, value: float | None = None) -> sp.Expr:
        """The bound with the unknown constant replaced by ``value`` (default: its stated default)."""
        if self.constant is None:
            return self.bound
        v = self.constant.default if value is None else value
        return self.bound.subs(self.constant.symbol, sp.nsimplify(v))

"""Named, typed parameters with an allowed range: the house pattern for parameterised things
(delay models, algorithms). A :class:`Param` coerces a value or raises ``ValueError`` naming the
owner, the parameter, the allowed range and the value given."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.validation import Domain

__all__ = ["Param", "MAX_STEPS", "MAX_SEED"]

#: the largest horizon T (the kernel's slot plan is int32) and seed (numpy's 64-bit seeding), for the
#: API (engine.run_batch, reference_run) and the CLI alike
MAX_STEPS = 2**31 - 2
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Param:
    """One parameter: its type (int, float or str), default and allowed range or choices."""

    kind: type
    default: Any
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def allowed(self) -> str:
        if self.kind is str:
            return f"one of {', '.join(map(repr, self.choices))}" if self.choices else "a string"
        return self._domain().describe()

    def _domain(self) -> Domain:
        return Domain(
            "",
            self.low,
            self.high,
            self.low_open or self.low == -math.inf,
            self.high_open or self.high == math.inf,
            integer=self.kind is int,
        )

    def coerce(self, owner: str, name: str, value: Any) -> Any:
        """``value`` converted to this parameter's type, or ValueError naming the owner (e.g.
        ``"delay model 'pareto'"``), the name, the allowed range and the value. Integer
        parameters accept integral floats (``tau=5.0``)."""
        where = f"parameter {name!r} of {owner} must be {self.allowed()}"
        if self.kind is str:
            value = os.fspath(value) if isinstance(value, os.PathLike) else value
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError(f"{where}; got {value!r}")
            return value
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{where}; got {value!r} of type {type(value).__name__}")
        if not self._domain().contains(float(value)):
            raise ValueError(f"{where}; got {value!r}")
        return int(value) if self.kind is int else float(value)

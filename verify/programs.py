"""Sequence programs: a compact, JSON-serialisable description of a long delay sequence.

A :class:`Program` is a tuple of :class:`Segment` s, each a named pattern with a length and its
parameters; :meth:`Program.expand` concatenates the segments and clips every delay to the causal
limit d_t <= t - 1 (1-indexed global step t), counting the clipped steps. Search and shrinking work on
the few numbers of a program, not on 1e5 delays: Hypothesis (:func:`verify.strategies.programs`)
finds adversarial sequences this way, and a found program is saved and replayed exactly.

Patterns (k = 0, 1, ..., length - 1 is the step's index inside its segment):

=============  ============  ===========================================================================
pattern        parameters    d at local index k
=============  ============  ===========================================================================
``zeros``      --            0
``constant``   tau >= 0      tau
``bursty``     m >= 0        k mod (m + 1)   (tight for the counting lemma)
``straggler``  D >= 0        0, except the segment's last step: D
``two-point``  p in (0, 1],  D if (k + 1) is a multiple of q = round(1/p) (q >= 1), else 0: a fraction
               D >= 0        ~p of the steps, deterministic (tau_avg ~ p D, tau_max = D)
``ramp``       D >= 0        k mod (D + 1): 0, 1, ..., D, 0, 1, ... (a sawtooth; Picky rejects most)
``pareto``     alpha > 0,    floor(scale * Lomax(alpha)) i.i.d., drawn by ``default_rng(seed).pareto``
               scale > 0,    (the formula of ``verify.delays``' pareto model)
               seed >= 0
=============  ============  ===========================================================================
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .delays import DelaySequence
from .params import Param

__all__ = ["Segment", "Program", "PATTERNS", "save", "load"]

_INT0 = dict(kind=int, default=0, low=0)

#: every pattern with its parameters (allowed ranges)
PATTERNS: dict[str, dict[str, Param]] = {
    "zeros": {},
    "constant": {"tau": Param(**_INT0)},
    "bursty": {"m": Param(**_INT0)},
    "straggler": {"D": Param(**_INT0)},
    "two-point": {"p": Param(float, 0.1, 0.0, 1.0, low_open=True), "D": Param(**_INT0)},
    "ramp": {"D": Param(**_INT0)},
    "pareto": {"alpha": Param(float, 1.5, 0.0, low_open=True), "scale": Param(float, 3.0, 0.0, low_open=True),
               "seed": Param(**_INT0)},
}
_MAX_LENGTH = 10**8


@dataclass(frozen=True)
class Segment:
    """``length`` steps of ``pattern`` with ``params`` (validated; missing parameters take their defaults)."""

    pattern: str
    length: int
    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"segment pattern must be one of {list(PATTERNS)}; got {self.pattern!r}")
        if isinstance(self.length, bool) or not isinstance(self.length, (int, np.integer)) or not 1 <= self.length <= _MAX_LENGTH:
            raise ValueError(f"length of segment {self.pattern!r} must be an integer in [1, {_MAX_LENGTH}]; got {self.length!r}")
        spec = PATTERNS[self.pattern]
        extra = set(self.params) - set(spec)
        if extra:
            raise ValueError(f"segment {self.pattern!r} takes parameters {list(spec) or 'none'}; got {sorted(extra)}")
        vals = {k: p.coerce(f"segment {self.pattern!r}", k, self.params.get(k, p.default)) for k, p in spec.items()}
        object.__setattr__(self, "length", int(self.length))
        object.__setattr__(self, "params", vals)

    def raw(self) -> np.ndarray:
        """The segment's delays before causal clipping (int64, or float with inf for a Pareto overflow)."""
        n, p = self.length, self.params
        k = np.arange(n, dtype=np.int64)
        if self.pattern == "zeros":
            return np.zeros(n, np.int64)
        if self.pattern == "constant":
            return np.full(n, p["tau"], np.int64)
        if self.pattern == "bursty":
            return k % (p["m"] + 1)
        if self.pattern == "straggler":
            d = np.zeros(n, np.int64)
            d[-1] = p["D"]
            return d
        if self.pattern == "two-point":
            q = max(1, int(round(1.0 / p["p"])))
            return np.where((k + 1) % q == 0, p["D"], 0).astype(np.int64)
        if self.pattern == "ramp":
            return k % (p["D"] + 1)
        with np.errstate(over="ignore"):  # pareto
            return np.floor(p["scale"] * np.random.default_rng(p["seed"]).pareto(p["alpha"], n))

    def describe(self) -> str:
        args = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())
        return f"{self.pattern}({args}) x {self.length}"

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "length": self.length, "params": dict(self.params)}


@dataclass(frozen=True)
class Program:
    """A delay sequence as segments; ``expand()`` gives the :class:`DelaySequence`."""

    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        segs = tuple(self.segments)
        if not segs or not all(isinstance(s, Segment) for s in segs):
            raise ValueError(f"a program needs at least one Segment; got {self.segments!r}")
        object.__setattr__(self, "segments", segs)

    @property
    def T(self) -> int:
        return sum(s.length for s in self.segments)

    def expand(self) -> DelaySequence:
        """The delays d_1..d_T, each clipped to t - 1 (clipped steps counted in ``clipped``)."""
        raw = np.concatenate([s.raw() for s in self.segments])
        limit = np.arange(raw.size)
        over = raw > limit
        d = np.where(over, limit, raw).astype(np.int64)
        return DelaySequence(d, "program", {"describe": self.describe(), "program": self.to_json()}, None,
                             clipped=int(np.count_nonzero(over)))

    def describe(self) -> str:
        return " | ".join(s.describe() for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        return {"segments": [s.to_json() for s in self.segments]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Program":
        if not isinstance(data, Mapping) or not isinstance(data.get("segments"), list):
            raise ValueError(f"a program is a JSON object {{'segments': [...]}}; got {data!r}")
        segs = []
        for i, s in enumerate(data["segments"]):
            if not isinstance(s, Mapping) or {"pattern", "length"} - set(s):
                raise ValueError(f"segment {i} must have 'pattern' and 'length'; got {s!r}")
            segs.append(Segment(s["pattern"], s["length"], dict(s.get("params") or {})))
        return cls(tuple(segs))


def save(program: Program, path: str | Path) -> None:
    Path(path).write_text(json.dumps(program.to_json(), indent=2) + "\n")


def load(path: str | Path) -> Program:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read program {str(path)!r}: {exc}") from None
    return Program.from_json(data)

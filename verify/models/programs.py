r"""Sequence programs: a compact, JSON-serialisable description of a long delay sequence.

A :class:`Program` is a tuple of :class:`Segment` s, each a named pattern with a length and a few
parameters. :meth:`Program.expand` concatenates the segments into a
:class:`~verify.models.delays.DelaySequence` of T = sum of the lengths steps. Search and shrinking work on
the few numbers of a program, not on 1e5 delays: Hypothesis (:func:`verify.search.strategies.programs`)
finds adversarial sequences this way, and a found program is saved (:func:`save`) and replayed
exactly (:func:`load`, then :meth:`Program.expand`).

>>> prog = Program((Segment("constant", 500, {"tau": 3}), Segment("straggler", 9000, {"D": 9000})))
>>> prog.describe()
'constant(tau=3) x 500 | straggler(D=9000) x 9000'
>>> seq = prog.expand()
>>> len(seq), int(seq.delays[-1]), seq.clipped      # d_3 .. d_1 clipped to t - 1 = 0, 1, 2
(9500, 9000, 3)

Patterns
--------
Inside a segment of length n the steps are numbered j = 1..n (1-indexed, local to the segment);
the segment's step j is global step t = s + j, where s is the total length of the segments before
it. Each pattern gives a *raw* delay r_j; the delay used is

    d_t = min(r_j, t - 1)        (the global causal limit 0 <= d_t <= t - 1),

and every step with r_j > t - 1 is counted in ``DelaySequence.clipped`` (as
:func:`verify.models.delays.make` counts clipped draws of its random models).

=============  ===================  ==========================================================================
pattern        parameters           raw delay r_j at local step j = 1..n
=============  ===================  ==========================================================================
``zeros``      --                   0
``constant``   tau: int >= 0        tau
``bursty``     m: int >= 0          (j - 1) mod (m + 1): bursts of m + 1 gradients all computed at the
                                    burst's first iterate; tight for the counting lemma (over K full bursts
                                    sum = K m (m + 1)/2, tau_max = m). A program made of one bursty segment
                                    is ``verify.models.delays.make("bursty:m=...")`` exactly.
``straggler``  D: int >= 0          0 for j < n, and D at j = n (the segment's last step)
``two-point``  p: real in (0, 1],   D if j is a multiple of q = round(1/p) (Python's ``round``, ties to
               D: int >= 0          even; q >= 1), else 0: steps j = q, 2q, 3q, ... of the segment carry D.
                                    Deterministic: floor(n/q) steps have delay D, so tau_avg ~ p D,
                                    tau_max = D (if n >= q).
``ramp``       D: int >= 0          (j - 1) mod (D + 1): the sawtooth 0, 1, 2, ..., D, 0, 1, ... Each tooth
                                    reads one iterate D + 1 times, so once the iterate has moved rho away
                                    Picky SGD rejects the rest of the tooth. (Same formula as ``bursty`` with
                                    m = D; the two names are kept for the two readings.)
``pareto``     alpha: real > 0,     i.i.d. floor(scale * X_j), X_1..X_n = ``numpy.random.default_rng(seed)
               scale: real > 0,     .pareto(alpha, n)`` (Lomax): the formula of ``verify.models.delays``' ``pareto``
               seed: int >= 0       model, so a program of one pareto segment is
                                    ``verify.models.delays.make("pareto:alpha=..,scale=..", T, seed)`` exactly.
=============  ===================  ==========================================================================

Parameters not given take their defaults (:data:`PATTERNS`). Integer parameters larger than
10**9 act as 10**9 (every causal limit is smaller, T <= 10**8), so raw delays always fit in int64;
an infinite Pareto draw is likewise clipped. Expansion is vectorised numpy and deterministic (the
only randomness is each pareto segment's own ``default_rng(seed)``): T = 10**6 takes a few
milliseconds.

JSON
----
``Program.to_json()`` is ``{"segments": [{"pattern": ..., "length": ..., "params": {...}}, ...]}``
with every parameter filled in; :meth:`Program.from_json` inverts it exactly (it also accepts a JSON
string, and ignores a ``"describe"`` key). ``Program.expand().params`` is that dict plus
``"describe"``, so ``Program.from_json(seq.params)`` rebuilds the program of an expanded sequence.
Bad input raises ``ValueError`` naming the segment, the parameter, its allowed range and the value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np

from verify.models.delays import DelaySequence
from verify.params import Param

__all__ = ["Segment", "Program", "PATTERNS", "LENGTH", "MAX_T", "save", "load"]

#: the largest program: T = sum of segment lengths <= MAX_T
MAX_T = 10**8
#: the allowed length of one segment
LENGTH = Param(int, None, low=1, high=MAX_T, doc="number of steps of the segment")
_CAP = 10**9  # integer parameters act as min(value, _CAP); every causal limit t - 1 < MAX_T < _CAP

_INT0 = dict(kind=int, low=0)

#: every pattern with its parameters (type, default and allowed range), in ``describe()`` order
PATTERNS: dict[str, dict[str, Param]] = {
    "zeros": {},
    "constant": {"tau": Param(default=5, doc="the delay", **_INT0)},
    "bursty": {"m": Param(default=20, doc="burst length minus one", **_INT0)},
    "straggler": {"D": Param(default=100, doc="delay of the segment's last step", **_INT0)},
    "two-point": {
        "p": Param(float, 0.1, 0.0, 1.0, low_open=True, doc="every round(1/p)-th step is delayed"),
        "D": Param(default=100, doc="the delay of the delayed steps", **_INT0),
    },
    "ramp": {"D": Param(default=50, doc="height of the sawtooth", **_INT0)},
    "pareto": {
        "alpha": Param(float, 1.5, 0.0, low_open=True, doc="Lomax shape"),
        "scale": Param(float, 3.0, 0.0, low_open=True, doc="multiplier before the floor"),
        "seed": Param(default=0, doc="seed of numpy.random.default_rng", **_INT0),
    },
}


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True, init=False)
class Segment:
    """``length`` steps of ``pattern`` with ``params`` (see the module table).

    Validated on construction: ``pattern`` must be a key of :data:`PATTERNS`, ``length`` an integer
    in [1, MAX_T], and every parameter in its range; missing parameters take their defaults, so
    ``params`` always holds every parameter of the pattern (read-only, plain Python numbers).
    """

    pattern: str
    length: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, pattern: str, length: int, params: Mapping[str, Any] | None = None) -> None:
        if not isinstance(pattern, str) or pattern not in PATTERNS:
            raise ValueError(f"segment pattern must be one of {', '.join(map(repr, PATTERNS))}; got {pattern!r}")
        owner = f"segment {pattern!r}"
        n = LENGTH.coerce(owner, "length", length)
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ValueError(f"params of {owner} must be a dict; got {params!r}")
        spec = PATTERNS[pattern]
        extra = sorted(str(k) for k in set(params) - set(spec))
        if extra:
            allowed = ", ".join(map(repr, spec)) or "none"
            raise ValueError(f"unknown parameter {extra[0]!r} (= {params[extra[0]]!r}) for {owner}; "
                             f"allowed parameters: {allowed}")
        vals = {k: p.coerce(owner, k, params[k]) if k in params else p.default for k, p in spec.items()}
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "length", n)
        object.__setattr__(self, "params", MappingProxyType(vals))

    def __hash__(self) -> int:
        return hash((self.pattern, self.length, tuple(self.params.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (self.pattern, self.length, dict(self.params)) == (other.pattern, other.length, dict(other.params))

    def __repr__(self) -> str:
        return f"Segment({self.pattern!r}, {self.length}, {dict(self.params)!r})"

    def __reduce__(self) -> tuple:  # pickle / copy through the constructor (a mappingproxy does not pickle)
        return (Segment, (self.pattern, self.length, dict(self.params)))

    def raw(self) -> np.ndarray:
        """The raw delays r_1..r_n (int64, before causal clipping; integer parameters above 10**9
        and infinite Pareto draws act as 10**9)."""
        n, p = self.length, self.params
        if self.pattern == "zeros":
            return np.zeros(n, np.int64)
        if self.pattern == "constant":
            return np.full(n, min(p["tau"], _CAP), np.int64)
        if self.pattern in ("bursty", "ramp"):
            period = min(p["m" if self.pattern == "bursty" else "D"], _CAP) + 1
            return np.arange(n, dtype=np.int64) % period
        if self.pattern == "straggler":
            d = np.zeros(n, np.int64)
            d[-1] = min(p["D"], _CAP)
            return d
        if self.pattern == "two-point":
            inv = 1.0 / p["p"]  # >= 1 since p <= 1 (inf for a subnormal p)
            d = np.zeros(n, np.int64)
            if inv <= n + 1 and round(inv) <= n:  # a q > n delays no step
                q = round(inv)
                d[q - 1 :: q] = min(p["D"], _CAP)  # local steps j = q, 2q, ... (0-based j - 1)
            return d
        # pareto: verify.models.delays' formula, floor(scale * Lomax(alpha)) from default_rng(seed)
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.floor(p["scale"] * np.random.default_rng(p["seed"]).pareto(p["alpha"], n))
        return np.minimum(x, float(_CAP)).astype(np.int64)

    def describe(self) -> str:
        """``pattern(k=v,...) x length``, parameters in :data:`PATTERNS` order, reals with ``:g``."""
        args = ",".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.pattern}({args}) x {self.length}"

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "length": self.length, "params": dict(self.params)}


@dataclass(frozen=True, init=False)
class Program:
    """A delay sequence as a tuple of :class:`Segment` s (at least one; total length T <= MAX_T).
    :meth:`expand` gives the :class:`~verify.models.delays.DelaySequence`."""

    segments: tuple[Segment, ...]

    def __init__(self, segments: Iterable[Segment]) -> None:
        if isinstance(segments, Segment):
            segments = (segments,)
        try:
            segs = tuple(segments)
        except TypeError:
            raise ValueError(f"a program needs a tuple of at least one Segment; got {segments!r}") from None
        if not segs:
            raise ValueError("a program needs at least one Segment; got none")
        for i, s in enumerate(segs):
            if not isinstance(s, Segment):
                raise ValueError(f"program segment {i} must be a Segment; got {s!r}")
        T = sum(s.length for s in segs)
        if T > MAX_T:
            raise ValueError(f"a program's total length T must be at most {MAX_T}; got T = {T}")
        object.__setattr__(self, "segments", segs)

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.segments))
        return f"Program(({inner}{',' if len(self.segments) == 1 else ''}))"

    @property
    def T(self) -> int:
        """Total number of steps (sum of the segment lengths)."""
        return sum(s.length for s in self.segments)

    def expand(self) -> DelaySequence:
        """The delays d_1..d_T: the segments' raw delays concatenated, each clipped to t - 1;
        model ``"program"``, params ``to_json()`` plus ``"describe"``, seed None, and ``clipped`` =
        the number of clipped steps."""
        raw = self.segments[0].raw() if len(self.segments) == 1 else np.concatenate([s.raw() for s in self.segments])
        limit = np.arange(raw.size, dtype=np.int64)
        over = raw > limit
        clipped = int(np.count_nonzero(over))
        d = np.minimum(raw, limit) if clipped else raw
        return DelaySequence(d, "program", {**self.to_json(), "describe": self.describe()}, None, clipped=clipped)

    def describe(self) -> str:
        """One line: the segments' descriptions joined by ``" | "``, e.g.
        ``"constant(tau=3) x 500 | straggler(D=9000) x 9000"``."""
        return " | ".join(s.describe() for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        """``{"segments": [segment.to_json(), ...]}`` (plain JSON; every parameter filled in)."""
        return {"segments": [s.to_json() for s in self.segments]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Program:
        """The program of ``to_json()`` (or of its ``json.dumps`` string); a ``"describe"`` key is ignored."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise ValueError(f"a program must be JSON; {exc}") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("segments"), list):
            raise ValueError(f"a program is a JSON object {{'segments': [...]}}; got {data!r}")
        extra = sorted(set(data) - {"segments", "describe"})
        if extra:
            raise ValueError(f"unknown key {extra[0]!r} in a program; allowed: 'segments' (and 'describe')")
        segs = []
        n = len(data["segments"])
        for i, s in enumerate(data["segments"]):
            where = f"program segment {i} (of {n})"
            if not isinstance(s, Mapping) or {"pattern", "length"} - set(s) or set(s) - {"pattern", "length", "params"}:
                raise ValueError(f"{where} must be an object with 'pattern', 'length' and optional 'params'; got {s!r}")
            try:
                segs.append(Segment(s["pattern"], s["length"], s.get("params") or {}))
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        return cls(segs)


def save(program: Program, path: str | Path) -> None:
    """Write ``program.to_json()`` (plus its ``"describe"`` line, for people) as JSON to ``path``."""
    if not isinstance(program, Program):
        raise ValueError(f"save() needs a Program; got {type(program).__name__}")
    data = {**program.to_json(), "describe": program.describe()}
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def load(path: str | Path) -> Program:
    """The program saved at ``path`` by :func:`save`. A delay trace written by
    ``verify.models.delays.save_trace`` of an expanded program (model ``"program"``) is accepted too."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read program {str(path)!r}: {exc}") from None
    if isinstance(data, Mapping) and "segments" not in data and data.get("model") == "program":
        data = data.get("params")
    try:
        return Program.from_json(data)
    except ValueError as exc:
        raise ValueError(f"{exc} [program file {path}]") from None

"""The record of one run: :class:`RunResult` (immutable, JSON round-trip, replayable)."""
from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from verify.io import jsonsafe
from verify.models.delays import DelaySequence
from verify.io.output import atomic_write_text

__all__ = ["RunResult", "SCHEMA"]

SCHEMA = "picky-run/3"
#: older schemas that still load
READABLE = ("picky-run/1", "picky-run/2", SCHEMA)


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced, and enough to replay it exactly.

    Steps are 1-indexed as in the paper: ``first_hit = t`` means ||grad f(x_t)|| <= eps with x_t the
    iterate *before* step t's update (t = 1..T; x_1 is the start). Gradient norms are exact (the
    problem's true gradient), not estimates.

    Fields
    ------
    algorithm, config : the algorithm id and its resolved parameters (eta, rho, ... ; see
        :mod:`verify.algorithms`), including where each default came from.
    problem, noise : ``describe()`` of the problem and noise model; ``seed`` the lane's seed.
    T : requested horizon; ``steps_run`` : steps actually performed (< T when stopped early).
    first_hit : first t with ||grad f(x_t)|| <= eps, or None.
    min_grad_norm, min_grad_norm_step, final_grad_norm, final_f : streaming statistics over the
        measured iterates; ``min_f`` the minimum of f over them when the run measured f at every
        step (``measure_f``), else None. f is measured at trace steps in any case.
    accepted, rejected : update counts over the steps run; ``rejected_steps`` the 1-indexed steps
        whose gradient was discarded (None if not recorded; saved as a bitset, base64).
    max_accepted_distance : max ||x_t - x_{t-d_t}|| over accepted steps (Picky invariant: <= rho).
    max_accepted_grad_gap : max ||grad f(x_t) - grad f(x_{t-d_t})|| over accepted steps.
    min_rejected_distance : min ||x_t - x_{t-d_t}|| over rejected steps, None if none was rejected
        (Picky invariant: > rho; with max_accepted_distance it pins the accept test to "<= rho").
    diverged, diverged_step, divergence_reason : non-finite or exploding iterates stop the lane.
    trace_steps, trace_grad_norm, trace_f : downsampled trajectory (every ``trace_every`` steps).
    delays : the delay sequence actually used (the full requested one), ``delay_stats`` over the
        steps run; ``adaptive`` True when an adaptive adversary chose the delays.
    engine : "reference" or "numba"; ``version`` : package version; ``extra``: engine details
        (e.g. ``slots``, the number of live-iterate slots the kernel used).
    """

    algorithm: str
    config: dict[str, Any]
    problem: dict[str, Any]
    noise: dict[str, Any]
    seed: int
    T: int
    steps_run: int
    first_hit: int | None
    min_grad_norm: float
    min_grad_norm_step: int
    min_f: float | None
    final_grad_norm: float
    final_f: float
    accepted: int
    rejected: int
    rejected_steps: np.ndarray | None
    max_accepted_distance: float
    max_accepted_grad_gap: float
    diverged: bool
    diverged_step: int | None
    divergence_reason: str | None
    trace_every: int | None
    trace_steps: np.ndarray | None
    trace_grad_norm: np.ndarray | None
    trace_f: np.ndarray | None
    delays: DelaySequence
    delay_stats: dict[str, Any]
    adaptive: bool
    engine: str
    version: str
    extra: dict[str, Any] = field(default_factory=dict)
    min_rejected_distance: float | None = None

    @property
    def eps(self) -> float:
        return float(self.config["eps"])

    @property
    def converged(self) -> bool:
        return self.first_hit is not None

    def summary(self) -> dict[str, Any]:
        """Scalar fields only (for tables)."""
        out = {
            "algorithm": self.algorithm,
            "problem": self.problem.get("name"),
            "seed": self.seed,
            "T": self.T,
            "steps_run": self.steps_run,
            "first_hit": self.first_hit,
            "min_grad_norm": self.min_grad_norm,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "diverged": self.diverged,
            "tau_avg": self.delay_stats.get("tau_avg"),
            "tau_max": self.delay_stats.get("tau_max"),
            "eta": self.config.get("eta"),
            "rho": self.config.get("rho"),
            "eps": self.config.get("eps"),
            "sigma": self.config.get("sigma"),
            "engine": self.engine,
            "adaptive": self.adaptive,
        }
        return out

    # --- serialisation -------------------------------------------------------------------
    def to_json_dict(self, delays_ref: str | None = None) -> dict[str, Any]:
        """The record as standard JSON (:mod:`verify.io.jsonsafe`: non-finite floats are ``null`` and
        listed in ``nonfinite``). The delay sequence is inline, or ``{"ref": delays_ref}`` when a
        directory stores each distinct sequence once (:mod:`verify.io.runstore`). ``rejected_steps``
        is a zlib-compressed bitset (base64)."""
        d: dict[str, Any] = {"schema": SCHEMA}
        for k, v in asdict(self).items():
            if k != "delays":
                d[k] = v
        if self.rejected_steps is not None:
            d["rejected_steps"] = _bits_encode(self.rejected_steps, self.steps_run)
        d["delays"] = self.delays.to_json_dict() if delays_ref is None else {"ref": delays_ref}
        return jsonsafe.encode(d)

    @classmethod
    def from_json_dict(cls, d: dict[str, Any],
                       sequences: Mapping[str, DelaySequence] | None = None) -> "RunResult":
        """Inverse of :meth:`to_json_dict`; ``sequences`` resolves a ``{"ref": id}`` delay sequence."""
        if not isinstance(d, dict) or d.get("schema") not in READABLE:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"not a run record of schema {SCHEMA!r}: schema = {got!r}")
        d = jsonsafe.decode(dict(d))
        kw = {k: v for k, v in d.items() if k != "schema"}
        ref = d["delays"].get("ref") if isinstance(d["delays"], dict) else None
        if ref is not None:
            if sequences is None or ref not in sequences:
                raise ValueError(f"the record's delay sequence {ref!r} is not among the stored sequences")
            kw["delays"] = sequences[ref]
        else:
            kw["delays"] = DelaySequence.from_json_dict(d["delays"])
        if isinstance(kw.get("rejected_steps"), dict):
            kw["rejected_steps"] = _bits_decode(kw["rejected_steps"])
        for k in ("rejected_steps", "trace_steps", "trace_grad_norm", "trace_f"):
            if kw.get(k) is not None:
                kw[k] = np.asarray(kw[k], dtype=np.int64 if k in ("rejected_steps", "trace_steps") else float)
        for k in ("min_grad_norm", "final_grad_norm", "final_f", "max_accepted_distance", "max_accepted_grad_gap"):
            kw[k] = float("nan") if kw[k] is None else float(kw[k])  # picky-run/1,2 wrote NaN as null
        kw["min_f"] = None if kw.get("min_f") is None else float(kw["min_f"])
        if kw.get("min_rejected_distance") is not None:
            kw["min_rejected_distance"] = float(kw["min_rejected_distance"])
        return cls(**kw)

    def save(self, path: str | Path) -> None:
        """Write the record (delays inline) to one JSON file, atomically."""
        atomic_write_text(path, json.dumps(self.to_json_dict(), allow_nan=False))

    @classmethod
    def load(cls, path: str | Path) -> "RunResult":
        return cls.from_json_dict(json.loads(Path(path).read_text()))


def _bits_encode(steps: np.ndarray, n: int) -> dict[str, Any]:
    """1-indexed steps in 1..n as a little-endian bitset, zlib-compressed, base64."""
    mask = np.zeros(max(n, 0), dtype=bool)
    mask[np.asarray(steps, dtype=np.int64) - 1] = True
    packed = np.packbits(mask, bitorder="little").tobytes()
    return {"encoding": "bitset-zlib-base64", "length": int(n),
            "bits": base64.b64encode(zlib.compress(packed, 6)).decode("ascii")}


def _bits_decode(obj: dict[str, Any]) -> np.ndarray:
    enc = obj.get("encoding")
    if enc not in ("bitset-base64", "bitset-zlib-base64"):
        raise ValueError(f"rejected_steps: unknown encoding {enc!r} (expected 'bitset-zlib-base64')")
    n = int(obj["length"])
    raw = base64.b64decode(obj["bits"])
    if enc == "bitset-zlib-base64":
        raw = zlib.decompress(raw)
    bits = np.frombuffer(raw, dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(bits, bitorder="little")[:n]).astype(np.int64) + 1

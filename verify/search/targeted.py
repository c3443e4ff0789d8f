"""Targeted adversarial search: Hypothesis looks for the delay sequence that makes Picky SGD slowest
relative to Theorem D''s horizon.

The search space is sequence programs (:mod:`verify.models.programs`: a few segments, each a named
pattern with its parameters), followed by zeros up to a fixed length so that Theorem D''s condition
eventually holds. For each program: t0 = the first horizon (``theory.first_horizon``; programs
whose condition never holds are discarded with ``hypothesis.assume``), t_hit = Picky SGD's first
eps-stationary step (sigma = 0, Theorem D's step and threshold), and ``hypothesis.target`` steers
toward a large t_hit/t0. The named constructions are pinned with ``@example``. The worst program
found is returned (and saved, replayable, by claim 1).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from verify.models import delays
from verify.models.noise import make_noise
from verify import engine
from verify.claims.common import INSTANCES, Context

__all__ = ["INSTANCE", "LENGTH", "named_programs", "worst_sequence", "Found", "evaluate"]

INSTANCE = "quad"
#: every searched program is continued by zeros up to this length
LENGTH = 300_000


def _programs():
    from verify.models import programs

    return programs


def pad(seq_delays: np.ndarray, length: int) -> np.ndarray:
    d = np.asarray(seq_delays, dtype=np.int64)[:length]
    return np.concatenate([d, np.zeros(length - d.size, np.int64)]) if d.size < length else d


def named_programs(T: int) -> list[delays.DelaySequence]:
    """The named program constructions checked by claims 1 (ramps and two-point patterns), as
    sequences of length T (continued by zeros)."""
    P = _programs()
    progs = [
        P.Program((P.Segment("ramp", 20_000, {"D": 50}),)),
        P.Program((P.Segment("two-point", 50_000, {"p": 0.05, "D": 100}),)),
        P.Program((P.Segment("constant", 5_000, {"tau": 30}), P.Segment("bursty", 5_000, {"m": 40}))),
    ]
    out = []
    for prog in progs:
        s = prog.expand()
        out.append(delays.DelaySequence(pad(s.delays, T), "program", {"describe": prog.describe() + f" | zeros to {T}",
                                                                        "program": prog.to_json()}, None))
    return out


@dataclass
class Found:
    program: Any
    sequence: delays.DelaySequence
    first_hit: int | None
    horizon: int
    ratio: float
    examples: int

    @property
    def describe(self) -> str:
        return self.program.describe() + f" | zeros to {len(self.sequence)}"

    def summary(self) -> dict[str, Any]:
        return {"program": self.program.to_json(), "describe": self.describe, "first_hit": self.first_hit,
                "horizon": self.horizon, "ratio": self.ratio, "examples": self.examples}


def evaluate(program: Any, length: int = LENGTH) -> tuple[delays.DelaySequence, int | None, int | None]:
    """(sequence, t_hit, t0) of a program on the search instance; t0 None: condition never holds."""
    inst = INSTANCES[INSTANCE]
    d = pad(program.expand().delays, length)
    seq = delays.DelaySequence(d, "program", {"describe": program.describe() + f" | zeros to {length}",
                                              "program": program.to_json()}, None)
    t0 = inst.horizon(seq)
    if t0 is None:
        return seq, None, None
    (r,) = engine.run_batch(inst.problem(), seq, inst.picky(0.0), [0], T=t0, stop_at_hit=True, record_rejections=False,
                            noise=make_noise("gaussian"), threads=1)
    return seq, r.first_hit, t0


def worst_sequence(ctx: Context) -> Found | None:
    """Run the search with the profile's budget; the worst program found (also saved to
    ``ctx.out_dir/worst_sequence.json`` when an output directory is set)."""
    from hypothesis import HealthCheck, Phase, assume, example, given, settings, target

    P = _programs()
    from verify.search import strategies

    best: dict[str, Any] = {"ratio": -1.0}
    count = [0]

    def body(prog):
        seq, hit, t0 = evaluate(prog)
        assume(t0 is not None)
        count[0] += 1
        ratio = (hit if hit is not None else 10 * t0) / t0
        target(ratio, label="t_hit / Theorem D' horizon")
        if ratio > best["ratio"]:
            best.update(ratio=ratio, program=prog, sequence=seq, hit=hit, t0=t0)

    test = given(strategies.programs(max_segments=3, max_T=100_000))(body)
    for prog in (P.Program((P.Segment("bursty", 40_000, {"m": 40}),)), P.Program((P.Segment("ramp", 20_000, {"D": 60}),)),
                 P.Program((P.Segment("constant", 20_000, {"tau": 10}),))):
        test = example(prog)(test)
    test = settings(max_examples=ctx.budget.search_examples, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate, Phase.target],
                    suppress_health_check=list(HealthCheck))(test)
    try:
        with strategies.reproducible_search():
            test()
    except Exception as exc:  # Unsatisfiable and friends: report what was found so far
        ctx.progress(f"search stopped early: {type(exc).__name__}")
    if "program" not in best:
        return None
    found = Found(best["program"], best["sequence"], best["hit"], best["t0"], best["ratio"], count[0])
    if ctx.out_dir is not None:
        out = Path(ctx.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "worst_sequence.json").write_text(json.dumps(found.summary(), indent=2) + "\n")
    return found

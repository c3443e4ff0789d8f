"""Targeted adversarial search: Hypothesis looks for the delay sequence that makes Picky SGD slowest
relative to Theorem D''s horizon, on every instance claim 1 checks (quad, logsum, chain; one search
per instance, each with the profile's budget).

The search space is sequence programs (:mod:`verify.models.programs`: a few segments, each a named
pattern with its parameters), followed by zeros up to a fixed length so that Theorem D''s condition
eventually holds. For each program: t0 = the first horizon (``theory.first_horizon``; programs
whose condition never holds are discarded with ``hypothesis.assume``), t_hit = Picky SGD's first
eps-stationary step (sigma = 0, Theorem D's step and threshold), and ``hypothesis.target`` steers
toward a large t_hit/t0. The named constructions and short bursts are pinned with ``@example``
(:func:`seeded_programs`); the search is seeded (:data:`SEED`), so it depends on its budget only.
An instance whose condition cannot hold within ``LENGTH`` steps even without delays (chain: it
needs 3.3e6 steps) is not searched, and claim 1 says so. The worst program
found on each instance is returned, and the worst over the instances saved (replayable) with each
instance's worst beside it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import theory

from verify.models import delays
from verify.models.noise import make_noise
from verify import engine
from verify.claims.common import INSTANCES, THEOREM_SHARP, Context

__all__ = ["INSTANCE", "SEARCHED", "LENGTH", "named_programs", "worst_sequence", "worst_sequences", "Found",
           "evaluate"]

INSTANCE = "quad"
#: the seed of every search (with the profile's budget, all that the search depends on)
SEED = 0
#: the instances searched: every instance of claim 1
SEARCHED = ("quad", "logsum", "chain")
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
    instance: str = INSTANCE

    @property
    def describe(self) -> str:
        return self.program.describe() + f" | zeros to {len(self.sequence)}"

    def summary(self) -> dict[str, Any]:
        return {"program": self.program.to_json(), "describe": self.describe, "first_hit": self.first_hit,
                "horizon": self.horizon, "ratio": self.ratio, "examples": self.examples, "instance": self.instance}


def evaluate(program: Any, length: int = LENGTH, instance: str = INSTANCE) -> tuple[delays.DelaySequence, int | None, int | None]:
    """(sequence, t_hit, t0) of a program on ``instance``; t0 None: condition never holds."""
    inst = INSTANCES[instance]
    d = pad(program.expand().delays, length)
    seq = delays.DelaySequence(d, "program", {"describe": program.describe() + f" | zeros to {length}",
                                              "program": program.to_json()}, None)
    t0 = inst.horizon(seq)
    if t0 is None:
        return seq, None, None
    (r,) = engine.run_batch(inst.problem(), seq, inst.picky(0.0), [0], T=t0, stop_at_hit=True, record_rejections=False,
                            noise=make_noise("gaussian"), threads=1)
    return seq, r.first_hit, t0


def seeded_programs() -> list[Any]:
    """The programs every search checks first (``@example``): long bursts, a ramp and a constant
    delay (the named constructions), and short bursts and ramps that end before Picky SGD's first
    hit, followed by zeros (the worst t_hit/t0 comes from these: a delay early, where it slows the
    run, costs little of Theorem D''s horizon)."""
    P = _programs()
    S = P.Segment
    segs = [S("bursty", 40_000, {"m": 40}), S("ramp", 20_000, {"D": 60}), S("constant", 20_000, {"tau": 10})]
    segs += [S("bursty", n, {"m": m}) for m in (5, 10, 20) for n in (20, 50, 100)]
    segs += [S("ramp", n, {"D": 50}) for n in (30, 100)] + [S("constant", 30, {"tau": 30})]
    return [P.Program((s,)) for s in segs]


def unsearchable(instance: str, length: int = LENGTH) -> str | None:
    """Why ``instance`` cannot be searched (Theorem D''s condition fails within ``length`` steps
    even without delays, so every program would be discarded), or None."""
    inst = INSTANCES[instance]
    if inst.horizon(np.zeros(length, np.int64)) is None:
        p = inst.problem()
        need = float(theory.iterations(THEOREM_SHARP, beta=p.beta, F=p.F, sigma=0.0, eps=inst.eps, tau_avg=0.0))
        return (f"Theorem D''s condition fails within the search length {length:,} even without delays "
                f"(it needs T >= {need:.3g})")
    return None


def worst_sequences(ctx: Context) -> list[Found]:
    """:func:`worst_sequence` on every instance of :data:`SEARCHED`; the worst of them over the
    instances is saved to ``ctx.out_dir/worst_sequence.json`` (when an output directory is set) with
    every instance's worst under ``"by_instance"``."""
    found = []
    for name in SEARCHED:
        why = unsearchable(name)
        if why:
            ctx.progress(f"claim 1: targeted search on {name} skipped: {why}")
            continue
        f = worst_sequence(ctx, name, save=False)
        ctx.progress(f"claim 1: targeted search on {name}: worst t_hit/t0 = "
                     + (f"{f.ratio:.4g} ({f.describe})" if f else "none found"))
        if f is not None:
            found.append(f)
    if found and ctx.out_dir is not None:
        worst = max(found, key=lambda f: f.ratio)
        out = Path(ctx.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        data = {**worst.summary(), "by_instance": {f.instance: f.summary() for f in found}}
        (out / "worst_sequence.json").write_text(json.dumps(data, indent=2) + "\n")
    return found


def worst_sequence(ctx: Context, instance: str = INSTANCE, *, save: bool = True) -> Found | None:
    """Run the search on ``instance`` with the profile's budget; the worst program found (also
    saved to ``ctx.out_dir/worst_sequence.json`` when an output directory is set and ``save``)."""
    from hypothesis import HealthCheck, Phase, assume, example, given, settings, target
    from hypothesis import seed as hseed

    P = _programs()
    from verify.search import strategies

    best: dict[str, Any] = {"ratio": -1.0}
    count = [0]

    def body(prog):
        seq, hit, t0 = evaluate(prog, instance=instance)
        assume(t0 is not None)
        count[0] += 1
        ratio = (hit if hit is not None else 10 * t0) / t0
        target(ratio, label="t_hit / Theorem D' horizon")
        if ratio > best["ratio"]:
            best.update(ratio=ratio, program=prog, sequence=seq, hit=hit, t0=t0)

    test = given(strategies.programs(max_segments=3, max_T=100_000))(body)
    for prog in seeded_programs():
        test = example(prog)(test)
    test = settings(max_examples=ctx.budget.search_examples, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate, Phase.target],
                    suppress_health_check=list(HealthCheck))(test)
    test = hseed(SEED)(test)  # reproducible from (seed, budget), whatever the test body's source
    try:
        with strategies.reproducible_search():
            test()
    except Exception as exc:  # Unsatisfiable and friends: report what was found so far
        ctx.progress(f"search stopped early: {type(exc).__name__}")
    if "program" not in best:
        return None
    found = Found(best["program"], best["sequence"], best["hit"], best["t0"], best["ratio"], count[0], instance)
    if save and ctx.out_dir is not None:
        out = Path(ctx.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "worst_sequence.json").write_text(json.dumps(found.summary(), indent=2) + "\n")
    return found

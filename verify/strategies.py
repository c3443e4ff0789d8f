"""Public Hypothesis strategies for picky-sgd (in the style of ``xarray.testing.strategies``).

Every strategy generates only valid inputs, and shrinks toward the simplest one (short sequences,
zero delays, few segments, default parameters).

Delays
    :func:`causal_delays`   int64 arrays with 0 <= d[i] <= i, a maximum, and a budget on sum d or tau_avg
    :func:`delay_sequences` :class:`~verify.delays.DelaySequence` objects: raw causal arrays or named models
    :func:`heavy_tailed`, :func:`bursty`, :func:`stragglers`, :func:`two_point` -- families
    :func:`segments`, :func:`programs` -- sequence programs (:mod:`verify.programs`), for search at T = 1e5
Problems and parameters
    :func:`problems`       problems with exact constants (:func:`verify.problems.make`)
    :func:`noises`         unit-variance noise models
    :func:`algorithm_overrides` valid user overrides for :func:`verify.algorithms.resolve`

>>> from hypothesis import given
>>> from verify import strategies as vst
>>> @given(vst.causal_delays(max_T=50, tau_avg_budget=2.0))
... def test(d):
...     assert d.sum() <= 2.0 * d.size
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from hypothesis import strategies as st

from . import algorithms
from . import delays as D
from . import problems as P
from .programs import PATTERNS, Program, Segment

__all__ = ["causal_delays", "delay_sequences", "heavy_tailed", "bursty", "stragglers", "two_point", "segments",
           "programs", "problems", "noises", "algorithm_overrides"]


@st.composite
def causal_delays(draw, T: int | None = None, *, min_T: int = 1, max_T: int = 200, max_delay: int | None = None,
                  tau_avg_budget: float | None = None, sum_budget: int | None = None) -> np.ndarray:
    """An int64 array d of length T (``T`` fixed, or drawn in [min_T, max_T]) with 0 <= d[i] <= i
    (causal), d[i] <= ``max_delay``, and sum(d) <= ``sum_budget`` and <= ``tau_avg_budget`` * T.
    Delays are drawn left to right within what is still affordable, so budgets hold exactly."""
    if T is None:
        T = draw(st.integers(min_T, max_T))
    budget = np.inf
    if sum_budget is not None:
        budget = min(budget, sum_budget)
    if tau_avg_budget is not None:
        budget = min(budget, tau_avg_budget * T)
    cap = max_delay if max_delay is not None else max(T - 1, 0)
    raw = draw(st.lists(st.integers(0, max(cap, 0)), min_size=T, max_size=T))
    out = np.zeros(T, np.int64)
    left = budget
    for i, x in enumerate(raw):
        v = min(x, i, int(left) if np.isfinite(left) else x)
        out[i] = v
        left -= v
    return out


@st.composite
def delay_sequences(draw, *, min_T: int = 1, max_T: int = 200, models: Sequence[str] | None = None) -> D.DelaySequence:
    """A DelaySequence: a raw causal array (:func:`causal_delays`) or a named model of
    ``verify.delays.MODELS`` (all but ``replay``) with its default parameters and a drawn seed."""
    T = draw(st.integers(min_T, max_T))
    names = list(models) if models is not None else [m for m in D.MODELS if m != "replay"]
    if draw(st.booleans()):
        return D.from_trace(draw(causal_delays(T)))
    return D.make(draw(st.sampled_from(names)), T, seed=draw(st.integers(0, 2**31 - 1)))


def heavy_tailed(*, min_T: int = 10, max_T: int = 2000) -> st.SearchStrategy[D.DelaySequence]:
    """i.i.d. Pareto (alpha in (1, 3], scale in [1, 10]) or log-normal delays (clipped to t - 1)."""
    par = st.builds(lambda T, a, s, seed: D.make(f"pareto:alpha={a!r},scale={s!r}", T, seed=seed),
                    st.integers(min_T, max_T), st.floats(1.05, 3.0), st.floats(1.0, 10.0), st.integers(0, 2**31 - 1))
    logn = st.builds(lambda T, mu, sig, seed: D.make(f"lognormal:mu={mu!r},s={sig!r}", T, seed=seed),
                     st.integers(min_T, max_T), st.floats(0.0, 3.0), st.floats(0.1, 2.0), st.integers(0, 2**31 - 1))
    return st.one_of(par, logn)


def bursty(*, min_T: int = 2, max_T: int = 2000, max_m: int = 50) -> st.SearchStrategy[D.DelaySequence]:
    """d_t = (t-1) mod (m+1), m in [0, max_m] (tight for the counting lemma)."""
    return st.builds(lambda T, m: D.make(f"bursty:m={m}", T), st.integers(min_T, max_T), st.integers(0, max_m))


def stragglers(*, min_T: int = 2, max_T: int = 2000) -> st.SearchStrategy[D.DelaySequence]:
    """A single straggler at a drawn position (d_P = P - 1), or the KSJ straggler (d_t = 1, d_T = T - 1)."""
    single = st.integers(min_T, max_T).flatmap(
        lambda T: st.integers(1, T).map(lambda pos: D.make(f"straggler:position={pos}", T)))
    ksj = st.integers(max(min_T, 2), max_T).map(lambda T: D.make("ksj-straggler", T))
    return st.one_of(single, ksj)


def two_point(*, min_T: int = 10, max_T: int = 2000, max_D: int = 1000) -> st.SearchStrategy[D.DelaySequence]:
    """i.i.d. two-point delays: D with probability p, else 0 (``bimodal``): tau_avg ~ p D, tau_max = D."""
    return st.builds(lambda T, p, Dm, seed: D.make(f"bimodal:p={p!r},D={Dm}", T, seed=seed),
                     st.integers(min_T, max_T), st.floats(0.001, 1.0), st.integers(0, max_D), st.integers(0, 2**31 - 1))


def log_integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in [lo, hi] spread over every scale: a power-of-two band first, then a value in it
    (shrinks toward lo). Delay-sequence search needs 10 and 10^5 alike."""
    if hi <= lo:
        return st.just(lo)
    top = (hi - lo).bit_length()  # band e holds lo + [2^(e-1), 2^e - 1] (band 0: lo itself)
    return st.integers(0, top).flatmap(lambda e: st.integers(lo + ((1 << e) >> 1), min(hi, lo + (1 << e) - 1)))


_PARAM_STRATEGIES = {
    "tau": log_integers(0, 500), "m": log_integers(0, 200), "D": log_integers(0, 20_000),
    "p": st.floats(0.001, 1.0), "alpha": st.floats(1.05, 3.0), "scale": st.floats(0.5, 10.0),
    "seed": st.integers(0, 2**31 - 1),
}


@st.composite
def segments(draw, *, min_length: int = 1, max_length: int = 50_000, patterns: Sequence[str] | None = None) -> Segment:
    """One :class:`~verify.programs.Segment` with its parameters drawn in their allowed ranges."""
    pat = draw(st.sampled_from(list(patterns) if patterns is not None else list(PATTERNS)))
    n = draw(log_integers(min_length, max_length))
    params = {k: draw(_PARAM_STRATEGIES[k]) for k in PATTERNS[pat]}
    return Segment(pat, n, params)


@st.composite
def programs(draw, *, min_segments: int = 1, max_segments: int = 4, max_T: int = 100_000,
             patterns: Sequence[str] | None = None) -> Program:
    """A :class:`~verify.programs.Program` of ``min_segments..max_segments`` segments of total length
    at most ``max_T`` (each segment at least one step)."""
    k = draw(st.integers(min_segments, max_segments))
    segs = []
    left = max_T
    for i in range(k):
        room = left - (k - 1 - i)
        if room < 1:
            break
        seg = draw(segments(max_length=room, patterns=patterns))
        segs.append(seg)
        left -= seg.length
    return Program(tuple(segs))


def problems(*, dims: Sequence[int] | st.SearchStrategy[int] = st.integers(1, 6),
             names: Sequence[str] = ("quadratic", "quadratic:spectrum=geometric,mu=0.01,rotate=true", "logsum",
                                     "logsum:width=0.5", "chain", "chain:lam=0.5")) -> st.SearchStrategy[P.Problem]:
    """Problems with exact (or safely bounded) constants, from ``verify.problems.make``."""
    dim_st = dims if isinstance(dims, st.SearchStrategy) else st.sampled_from(list(dims))
    return st.builds(P.make, st.sampled_from(list(names)), dim_st)


def noises() -> st.SearchStrategy[P.Noise]:
    """The unit-variance noise models (Student-t with df in (2, 30])."""
    return st.one_of(st.sampled_from(["gaussian", "bounded", "rademacher"]).map(P.make_noise),
                     st.floats(2.1, 30.0).map(lambda df: P.make_noise(f"student_t:df={df!r}")))


@st.composite
def algorithm_overrides(draw, name: str, beta: float) -> dict[str, Any]:
    """A (possibly empty) dict of valid overrides for ``verify.algorithms.resolve(name, ...)``: eta in
    [1e-3, 2.5/beta] (unstable steps included), rho in [1e-3, 10], R in [1, 20], tau_C in [0, 10],
    rule among the choices."""
    params = algorithms.ALGORITHMS[name].params
    out: dict[str, Any] = {}
    for k, p in params.items():
        if not draw(st.booleans()):
            continue
        if k == "eta":
            out[k] = draw(st.floats(1e-3, 2.5 / beta))
        elif k == "rho":
            out[k] = draw(st.floats(1e-3, 10.0))
        elif k == "R":
            out[k] = draw(st.integers(1, 20))
        elif k == "tau_C":
            out[k] = draw(st.sampled_from([0.0, 1.0, 2.5, 10.0]))
        elif p.choices:
            out[k] = draw(st.sampled_from(list(p.choices)))
    return out

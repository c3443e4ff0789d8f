r"""Public Hypothesis strategies for picky-sgd (in the style of ``xarray.testing.strategies``).

Every strategy generates only valid inputs -- causal delay sequences, in-range parameters, objects
that the package's own constructors accept -- and shrinks toward the simplest one: short
sequences, zero delays, few segments, parameters at their defaults or small. Strategy arguments
are checked when the strategy is built; a bad one raises :class:`StrategyArgumentError` (both a
``ValueError`` and Hypothesis' ``InvalidArgument``).

Delays (the model: step t = 1..T uses a gradient from step t - d_t, 0 <= d_t <= t - 1, i.e.
``0 <= d[i] <= i`` in a 0-based array)

=========================  ==========================================================================
strategy                   generates
=========================  ==========================================================================
:func:`causal_delays`      int64 arrays with 0 <= d[i] <= i, a maximum and a budget on sum d or tau_avg
:func:`model_sequences`    :class:`~verify.models.delays.DelaySequence` s of the named models of
                           :data:`verify.models.delays.MODELS`, with drawn parameters and seeds
:func:`delay_sequences`    DelaySequences: :func:`causal_delays` arrays or :func:`model_sequences`
:func:`heavy_tailed`       Pareto / log-normal DelaySequences
:func:`bursty`             ``bursty`` DelaySequences (tight for the counting lemma)
:func:`stragglers`         a single straggler, or the KSJ straggler
:func:`two_point`          i.i.d. two-point delays (``bimodal``: D w.p. p, else 0)
:func:`segments`           :class:`~verify.models.programs.Segment` s
:func:`programs`           :class:`~verify.models.programs.Program` s: long sequences from a few numbers
=========================  ==========================================================================

Problems and parameters

=============================  ======================================================================
:func:`problems`               :class:`~verify.models.problems.Problem` s (:func:`verify.models.problems.make`)
:func:`noises`                 unit-variance :class:`~verify.models.noise.Noise` models
:func:`step_parameters`        every user parameter of an algorithm, in range
:func:`algorithm_overrides`    a subset of them: valid ``**overrides`` for :func:`verify.algorithms.resolve`
=============================  ======================================================================

Helpers: :func:`log_integers` (integers spread over every scale); :func:`reproducible_search`, a
context in which a seeded search depends on its seed and budget only (Hypothesis otherwise mixes in
literals mined from the package's loaded modules).

>>> from hypothesis import given
>>> from verify.search import strategies as vst
>>> @given(vst.causal_delays(max_T=50, tau_avg_budget=2.0))
... def test(d):
...     assert d.sum() <= 2.0 * d.size
>>> test()

Long sequences: :func:`causal_delays` draws every entry while that takes at most
:data:`DENSE_BYTES` bytes (T <= 4000 for delays below 256, T <= 2000 otherwise) and otherwise a
sparse array (zeros but for a few drawn blocks); for structured long sequences (T = 1e5 and more)
search over :func:`programs`, which draws a handful of numbers whatever T.
"""
from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from verify.models import delays as D
from verify.models.programs import MAX_T, PATTERNS, Program, Segment

if TYPE_CHECKING:  # imported when first used: numba and the compiled rules are not needed for delays
    from verify.models import problems as P
    from verify.models.noise import Noise

__all__ = [
    "reproducible_search",
    "StrategyArgumentError",
    "DENSE_BYTES",
    "causal_delays",
    "model_sequences",
    "delay_sequences",
    "heavy_tailed",
    "bursty",
    "stragglers",
    "two_point",
    "segments",
    "programs",
    "problems",
    "noises",
    "step_parameters",
    "algorithm_overrides",
    "log_integers",
]

@contextlib.contextmanager
def reproducible_search() -> Iterator[None]:
    """Make a seeded Hypothesis search depend on its seed and budget only.

    Hypothesis (6.131 and later) mixes into its draws literals mined from the source of every loaded
    module it deems local ("local constants") -- this package's own modules, in an editable install.
    A derandomized search then finds different examples depending on what was imported and on edits
    anywhere in the package (found here: ``picky hunt``'s counterexample disappeared when the CLI
    imported one more module). Inside this block Hypothesis sees no local constants (its global
    ones remain). It patches a private Hypothesis function; if that is absent, it does nothing.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        original = providers._get_local_constants
    except (ImportError, AttributeError):  # pragma: no cover - another Hypothesis version
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


#: causal_delays draws every entry (as one byte string) while it takes at most this many bytes
#: (Hypothesis fails its ``large_base_example`` health check above 4096, overruns above 8192)
DENSE_BYTES = 4000
_INT_CHOICES = 256  # up to this length a dense draw is one integer choice per entry
_SPARSE_BLOCKS = 64  # at most this many constant blocks in a sparse draw
_SEEDS = st.integers(0, 2**32 - 1)


class StrategyArgumentError(InvalidArgument, ValueError):
    """A bad argument to a strategy of this module (a ValueError and a Hypothesis InvalidArgument)."""


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------


def _int(name: str, value: Any, low: int, high: float = math.inf, *, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        hi = "inf)" if high == math.inf else f"{int(high)}]"
        raise StrategyArgumentError(f"{name} must be an integer in [{low}, {hi}{' or None' if none else ''}; got {value!r}")
    return int(value)


def _real(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = False,
          none: bool = False) -> float | None:
    if value is None and none:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    ok = ok and math.isfinite(float(value)) and (float(value) > low if low_open else float(value) >= low)
    ok = ok and float(value) <= high
    if not ok:
        lo = "(" if low_open else "["
        hi = "inf)" if high == math.inf else f"{high:g}]"
        raise StrategyArgumentError(f"{name} must be a finite real in {lo}{low:g}, {hi}{' or None' if none else ''}; "
                                    f"got {value!r}")
    return float(value)


def _horizon(T: int | None, min_T: int, max_T: int, *, low: int = 1, high: int = MAX_T) -> st.SearchStrategy[int]:
    """st.just(T) for a fixed T, else integers in [min_T, max_T] (checked)."""
    if T is not None:
        return st.just(_int("T", T, low, high))
    lo = _int("min_T", min_T, low, high)
    hi = _int("max_T", max_T, low, high)
    if hi < lo:
        raise StrategyArgumentError(f"max_T must be >= min_T = {lo}; got max_T = {hi}")
    return st.integers(lo, hi)


def _names(what: str, given: Sequence[str] | None, known: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    allowed = [n for n in known if n not in exclude]
    if given is None:
        return allowed
    names = [given] if isinstance(given, str) else list(given)
    bad = [n for n in names if n not in allowed]
    if not names or bad:
        raise StrategyArgumentError(f"{what} must be a non-empty list of {allowed}; got {given!r}")
    return names


def log_integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in [lo, hi] spread over every scale: one of the nested ranges [lo, lo + 8^k]
    (k = 1, 2, ... while below hi) and [lo, hi], chosen with equal probability, then an integer in
    it. Every range contains lo, so a value shrinks directly (toward lo) and toward the narrowest
    range. Delay searches need 10 and 10^5 alike; plain ``st.integers(0, 10**5)`` draws below 100
    less than one time in ten."""
    lo, hi = int(lo), int(hi)
    if hi <= lo:
        return st.just(lo)
    branches, width = [], 8
    while lo + width < hi:
        branches.append(st.integers(lo, lo + width))
        width *= 8
    branches.append(st.integers(lo, hi))
    return st.one_of(branches)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """None (= use the default) or a drawn value; shrinks to None."""
    return st.none() | strategy


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------------------------
# delays
# --------------------------------------------------------------------------------------------


def _budget(n: int, tau_avg_budget: float | None, sum_budget: float | None) -> int | None:
    """The largest integer total allowed: floor(min(sum_budget, tau_avg_budget * n)), in exact
    arithmetic (so that sum <= budget holds both exactly and in floating point)."""
    caps = []
    if sum_budget is not None:
        caps.append(math.floor(Fraction(sum_budget)))
    if tau_avg_budget is not None:
        caps.append(math.floor(Fraction(tau_avg_budget) * n))
    return min(caps) if caps else None


def _fit_budget(d: np.ndarray, budget: int | None) -> np.ndarray:
    """Scale d down to sum <= budget: d_i -> floor(d_i * budget / sum) (exact integers), which keeps
    causality and the maximum and spreads the budget over the whole sequence."""
    if budget is None:
        return d
    total = int(d.sum())
    if total <= budget:
        return d
    if int(d.max()) * budget < 2**62:
        return d * budget // total
    return (d.astype(object) * budget // total).astype(np.int64)  # exact beyond int64


def causal_delays(T: int | None = None, *, min_T: int = 1, max_T: int = 200, max_delay: int | None = None,
                  tau_avg_budget: float | None = None, sum_budget: float | None = None,
                  sparse: bool | None = None) -> st.SearchStrategy[np.ndarray]:
    """Causal delay arrays: int64 ``d`` of length T with ``0 <= d[i] <= i`` (step t = i + 1 has
    0 <= d_t <= t - 1).

    Parameters
    ----------
    T : int >= 1, optional
        The length; if None it is drawn in [``min_T``, ``max_T``] (shrinking toward ``min_T``).
    max_delay : int >= 0, optional
        Every ``d[i] <= max_delay`` (default: only causality, d[i] <= i).
    sum_budget : real >= 0, optional
        ``d.sum() <= sum_budget``.
    tau_avg_budget : real >= 0, optional
        ``d.sum() <= tau_avg_budget * T``, i.e. tau_avg = mean(d) <= tau_avg_budget. Both budgets
        bound the total only (not every prefix) and hold exactly: the total is at most
        floor(budget), computed in exact arithmetic.
    sparse : bool, optional
        False: every entry is drawn: r_i in [0, cap] (cap = min(max_delay, T - 1)), then
        ``d[i] = min(r_i, i)`` (the clipping of the hand-written strategies it replaces). Up to
        T = 256 each r_i is one ``st.integers(0, cap)`` draw; longer arrays come from one byte
        string, k bytes per entry (k = 1 for cap < 256, 2 for cap < 65536, else 4) and
        r_i = floor(x_i (cap + 1) / 256^k) for the k-byte integer x_i (monotone in the bytes, so
        shrinking the bytes shrinks the delays; one choice for the whole array, so fast).
        True: zeros except at most 64 drawn blocks (start, length, value), each setting
        ``d[i] = min(value, i)`` on its steps (later blocks overwrite earlier ones; length and
        value on a log scale). Default: dense iff T k <= :data:`DENSE_BYTES`. A forced dense
        draw above 4096 bytes needs ``@settings(suppress_health_check=[HealthCheck.large_base_example])``
        and one above 8192 bytes does not fit in a Hypothesis example.

    If the drawn total exceeds the budget, every entry is scaled down, d[i] -> floor(d[i] B / sum)
    (B = the budget), which keeps causality and the maximum. Shrinks toward all zeros and short T.
    """
    horizon = _horizon(T, min_T, max_T)
    max_delay = _int("max_delay", max_delay, 0, none=True)
    tau_avg_budget = _real("tau_avg_budget", tau_avg_budget, 0.0, none=True)
    sum_budget = _real("sum_budget", sum_budget, 0.0, none=True)
    if sparse is not None and not isinstance(sparse, bool):
        raise StrategyArgumentError(f"sparse must be True, False or None; got {sparse!r}")

    @st.composite
    def draw_delays(draw: Callable) -> np.ndarray:
        n = draw(horizon)
        cap = n - 1 if max_delay is None else min(max_delay, n - 1)
        k = 1 if cap < 256 else 2 if cap < 65536 else 4
        if not (n * k > DENSE_BYTES if sparse is None else sparse):
            if n <= _INT_CHOICES:  # one integer choice per entry: Hypothesis' own distribution and shrinking
                entry = st.integers(0, cap)
                raw = np.array([draw(entry) for _ in range(n)], dtype=np.int64)
            else:  # one byte string for the whole array: fast at thousands of entries
                x = np.frombuffer(draw(st.binary(min_size=n * k, max_size=n * k)), dtype=f">u{k}").astype(np.int64)
                raw = (x * (cap + 1)) >> (8 * k)  # < 2^32 * 10^8: no overflow
            d = np.minimum(raw, np.arange(n, dtype=np.int64))
        else:
            d = np.zeros(n, np.int64)
            if n > 1 and cap > 0:
                blocks = draw(st.lists(st.tuples(st.integers(1, n - 1), log_integers(1, n - 1), log_integers(1, cap)),
                                       max_size=_SPARSE_BLOCKS))
                idx = np.arange(n, dtype=np.int64)
                for start, length, v in blocks:
                    d[start : start + length] = np.minimum(v, idx[start : start + length])
        return _fit_budget(d, _budget(n, tau_avg_budget, sum_budget))

    return draw_delays()


def _workers_params(T: int) -> st.SearchStrategy[dict[str, Any]]:
    def for_dist(dist: str) -> st.SearchStrategy[dict[str, Any]]:
        shape = {"pareto": {"alpha": _optional(st.floats(1.05, 4.0))},
                 "lognormal": {"s": _optional(st.floats(0.0, 2.0))}}.get(dist, {})
        return st.fixed_dictionaries({"n": _optional(st.integers(1, 16)), "dist": st.just(dist),
                                      "spread": _optional(st.floats(1.0, 100.0)), **shape})

    return st.sampled_from(["exponential", "pareto", "lognormal", "constant"]).flatmap(for_dist)


def _compute_params(T: int) -> st.SearchStrategy[dict[str, Any]]:
    """The delay model ``compute``: a fixed fleet of 1-8 workers with small integer times (ties), or a
    random one (tau_i = sqrt(i) + eta)."""
    fixed = st.lists(st.integers(1, 5), min_size=1, max_size=8).map(
        lambda t: {"spec": "fixed:times=" + ";".join(map(str, t))})
    rand = st.tuples(st.integers(1, 8), st.sampled_from(["exponential", "lognormal", "pareto", "logcauchy"])).map(
        lambda a: {"spec": f"random:n={a[0]},eta={a[1]}"})
    return st.one_of(fixed, rand)


def _fixed(**items: Callable[[int], st.SearchStrategy[Any]]) -> Callable[[int], st.SearchStrategy[dict[str, Any]]]:
    """T -> a dict strategy with each parameter None (its default) or drawn."""
    return lambda T: st.fixed_dictionaries({k: _optional(f(T)) for k, f in items.items()})


#: parameter strategies of the delay models, by model, as functions of T (every model but replay)
_MODEL_PARAMS: dict[str, Callable[[int], st.SearchStrategy[dict[str, Any]]]] = {
    "none": lambda T: st.just({}),
    "constant": _fixed(tau=lambda T: log_integers(0, T)),
    "bursty": _fixed(m=lambda T: log_integers(0, T)),
    "straggler": _fixed(position=lambda T: st.integers(1, T)),
    "ksj-straggler": lambda T: st.just({}),
    "bimodal": _fixed(p=lambda T: st.floats(0.0, 1.0), D=lambda T: log_integers(0, T)),
    "geometric": _fixed(mean=lambda T: st.floats(0.0, 100.0)),
    "poisson": _fixed(lam=lambda T: st.floats(0.0, 100.0)),
    "pareto": _fixed(alpha=lambda T: st.floats(0.3, 4.0), scale=lambda T: st.floats(0.1, 10.0)),
    "lognormal": _fixed(mu=lambda T: st.floats(-1.0, 5.0), s=lambda T: st.floats(0.0, 2.5)),
    "workers": _workers_params,
    "compute": _compute_params,
}


def _model_params(name: str, T: int) -> st.SearchStrategy[dict[str, Any]]:
    """Parameters of delay model ``name`` at horizon T (a model registered later: its defaults)."""
    return _MODEL_PARAMS.get(name, lambda T: st.just({}))(T).map(_drop_none)


def model_sequences(models: Sequence[str] | None = None, *, T: int | None = None, min_T: int = 1,
                    max_T: int = 200) -> st.SearchStrategy[D.DelaySequence]:
    """DelaySequences ``verify.models.delays.make({"model": name, "params": params}, T, seed)`` of the named
    models ``models`` (default: every model of :data:`verify.models.delays.MODELS` except ``replay``), each
    parameter either left at its default or drawn inside its allowed range (moderate values: e.g.
    pareto alpha in [0.3, 4], workers n <= 16), and a seed in [0, 2^32) for the random models.
    Random draws above t - 1 are clipped by ``make`` (counted in ``clipped``). Shrinks toward the
    first model listed (``none`` by default) with default parameters and seed 0."""
    names = _names("models", models, list(D.MODELS), exclude=("replay",))
    horizon = _horizon(T, min_T, max_T)

    @st.composite
    def draw_model(draw: Callable) -> D.DelaySequence:
        n = draw(horizon)
        name = draw(st.sampled_from(names))
        params = draw(_model_params(name, n))
        seed = draw(_SEEDS) if D.MODELS[name].random else None
        return D.make({"model": name, "params": params}, n, seed=seed)

    return draw_model()


def delay_sequences(*, T: int | None = None, min_T: int = 1, max_T: int = 200, models: Sequence[str] | None = None,
                    raw: bool = True, max_delay: int | None = None) -> st.SearchStrategy[D.DelaySequence]:
    """DelaySequences of length T (fixed, or drawn in [``min_T``, ``max_T``]): either a
    :func:`causal_delays` array (with ``max_delay``) wrapped by :func:`verify.models.delays.from_trace`
    (model ``"replay"``), or a :func:`model_sequences` draw of ``models``. ``raw=False`` leaves out
    the arrays. Shrinks toward an all-zero array."""
    if not isinstance(raw, bool):
        raise StrategyArgumentError(f"raw must be a bool; got {raw!r}")
    named = model_sequences(models, T=T, min_T=min_T, max_T=max_T)
    if not raw:
        return named
    arrays = causal_delays(T, min_T=min_T, max_T=max_T, max_delay=max_delay).map(D.from_trace)
    return st.one_of(arrays, named)


def heavy_tailed(*, T: int | None = None, min_T: int = 10, max_T: int = 2000, min_alpha: float = 1.05,
                 max_alpha: float = 3.0, lognormal: bool = True) -> st.SearchStrategy[D.DelaySequence]:
    """Heavy-tailed DelaySequences: ``pareto`` (i.i.d. floor(scale * Lomax(alpha)), alpha in
    [``min_alpha``, ``max_alpha``], scale in [1, 10]) or, if ``lognormal``, ``lognormal`` (mu in
    [0, 3], s in [0.1, 2]); seed in [0, 2^32); draws above t - 1 clipped (and counted)."""
    horizon = _horizon(T, min_T, max_T)
    a0 = _real("min_alpha", min_alpha, 0.0, low_open=True)
    a1 = _real("max_alpha", max_alpha, a0)
    par = st.builds(lambda n, a, s, seed: D.make({"model": "pareto", "alpha": a, "scale": s}, n, seed=seed),
                    horizon, st.floats(a0, a1), st.floats(1.0, 10.0), _SEEDS)
    if not lognormal:
        return par
    logn = st.builds(lambda n, mu, s, seed: D.make({"model": "lognormal", "mu": mu, "s": s}, n, seed=seed),
                     horizon, st.floats(0.0, 3.0), st.floats(0.1, 2.0), _SEEDS)
    return st.one_of(par, logn)


def bursty(*, T: int | None = None, min_T: int = 2, max_T: int = 2000, min_m: int = 0,
           max_m: int = 50) -> st.SearchStrategy[D.DelaySequence]:
    """``bursty`` DelaySequences d_t = (t - 1) mod (m + 1), m in [``min_m``, ``max_m``] (the tight
    case of the counting lemma: over K full bursts sum = K m (m + 1)/2)."""
    m0 = _int("min_m", min_m, 0)
    m1 = _int("max_m", max_m, m0)
    return st.builds(lambda n, m: D.make({"model": "bursty", "m": m}, n), _horizon(T, min_T, max_T),
                     st.integers(m0, m1))


def stragglers(*, T: int | None = None, min_T: int = 2, max_T: int = 2000,
               ksj: bool = True) -> st.SearchStrategy[D.DelaySequence]:
    """A single straggler (``straggler``: d_P = P - 1 at a drawn position P in [1, T], every other
    d_t = 0) or, if ``ksj``, the Koloskova-Stich-Jaggi straggler (``ksj-straggler``: d_1 = 0,
    d_t = 1 for 1 < t < T, d_T = T - 1)."""
    horizon = _horizon(T, min_T, max_T)
    single = horizon.flatmap(lambda n: st.integers(1, n).map(
        lambda pos: D.make({"model": "straggler", "position": pos}, n)))
    return st.one_of(single, horizon.map(lambda n: D.make("ksj-straggler", n))) if ksj else single


def two_point(*, T: int | None = None, min_T: int = 10, max_T: int = 2000, min_p: float = 0.001,
              max_p: float = 1.0, max_D: int = 1000) -> st.SearchStrategy[D.DelaySequence]:
    """i.i.d. two-point DelaySequences (``bimodal``): d_t = D with probability p, else 0 (then
    clipped to t - 1), p in [``min_p``, ``max_p``], D in [0, ``max_D``]: tau_avg ~ p D,
    tau_max = D. The deterministic variant is the ``two-point`` segment of :func:`programs`."""
    p0 = _real("min_p", min_p, 0.0, 1.0)
    p1 = _real("max_p", max_p, p0, 1.0)
    d1 = _int("max_D", max_D, 0)
    return st.builds(lambda n, p, Dv, seed: D.make({"model": "bimodal", "p": p, "D": Dv}, n, seed=seed),
                     _horizon(T, min_T, max_T), st.floats(p0, p1), log_integers(0, d1), _SEEDS)


# --------------------------------------------------------------------------------------------
# sequence programs
# --------------------------------------------------------------------------------------------


def _segment_params(pattern: str, max_delay: int) -> st.SearchStrategy[dict[str, Any]]:
    delay = log_integers(0, max_delay)
    table: dict[str, st.SearchStrategy[Any]] = {
        "tau": delay, "m": delay, "D": delay,
        "p": log_integers(1, 1000).map(lambda q: 1.0 / q),  # p = 1/q: every q-th step
        "alpha": st.floats(1.05, 3.0), "scale": st.floats(0.5, 10.0), "seed": _SEEDS,
    }
    return st.fixed_dictionaries({k: table[k] for k in PATTERNS[pattern]})


def _segment_parts(patterns: list[str], max_length: int, max_delay: int) -> st.SearchStrategy[tuple]:
    """(pattern, length, params) with length in [1, max_length] on a log scale."""
    length = log_integers(1, max_length)
    table = {pat: st.tuples(st.just(pat), length, _segment_params(pat, max_delay)) for pat in patterns}
    return st.sampled_from(patterns).flatmap(table.__getitem__)


def segments(*, min_length: int = 1, max_length: int = 50_000, patterns: Sequence[str] | None = None,
             max_delay: int | None = None) -> st.SearchStrategy[Segment]:
    """One :class:`~verify.models.programs.Segment`: a pattern of ``patterns`` (default all of
    :data:`verify.models.programs.PATTERNS`), a length in [``min_length``, ``max_length``] spread over every
    scale (:func:`log_integers`), and its parameters: tau, m, D in [0, ``max_delay``] (default
    ``max_length``) on a log scale, p = 1/q with q in [1, 1000], alpha in [1.05, 3], scale in
    [0.5, 10], seed in [0, 2^32). Shrinks toward ``zeros`` of ``min_length`` steps."""
    pats = _names("patterns", patterns, list(PATTERNS))
    lo = _int("min_length", min_length, 1, MAX_T)
    hi = _int("max_length", max_length, lo, MAX_T)
    md = _int("max_delay", max_delay, 0, none=True)
    cap = hi if md is None else md
    length = log_integers(lo, hi)
    table = {pat: st.builds(Segment, st.just(pat), length, _segment_params(pat, cap)) for pat in pats}
    return st.sampled_from(pats).flatmap(table.__getitem__)


def programs(*, min_segments: int = 1, max_segments: int = 4, min_T: int = 1, max_T: int = 100_000,
             patterns: Sequence[str] | None = None, max_delay: int | None = None) -> st.SearchStrategy[Program]:
    """A :class:`~verify.models.programs.Program` of ``min_segments..max_segments`` segments (drawn as by
    :func:`segments`, with ``max_delay`` defaulting to ``max_T``) whose total length T lies in
    [``min_T``, ``max_T``].

    Lengths are fitted left to right: segment i gets min(drawn length, what ``max_T`` still allows
    with one step left for each later segment); if the total falls short of ``min_T``, the last
    segment is lengthened. The segment list is a ``st.lists``, so shrinking deletes segments, then
    shortens them and lowers their parameters -- toward one ``zeros`` segment of ``min_T`` steps.
    Expanding costs O(T) numpy whatever T, so T = 1e5 searches are cheap to draw.
    """
    pats = _names("patterns", patterns, list(PATTERNS))
    k0 = _int("min_segments", min_segments, 1)
    k1 = _int("max_segments", max_segments, k0)
    lo = _int("min_T", min_T, 1, MAX_T)
    hi = _int("max_T", max_T, lo, MAX_T)
    if k0 > hi:
        raise StrategyArgumentError(f"min_segments must be <= max_T = {hi} (every segment has a step); got {k0}")
    md = _int("max_delay", max_delay, 0, none=True)

    def build(parts: list[tuple]) -> Program:
        k, used, lengths = len(parts), 0, []
        for i, (_, n, _) in enumerate(parts):
            n = min(n, hi - used - (k - 1 - i))
            lengths.append(n)
            used += n
        if used < lo:
            lengths[-1] += lo - used
        return Program(tuple(Segment(pat, n, params) for (pat, _, params), n in zip(parts, lengths)))

    return st.lists(_segment_parts(pats, hi, hi if md is None else md), min_size=k0, max_size=k1).map(build)


# --------------------------------------------------------------------------------------------
# problems, noises, algorithm parameters
# --------------------------------------------------------------------------------------------


def _quadratic_params() -> st.SearchStrategy[dict[str, Any]]:
    def build(family, L, mu_frac, scale, rotate, seed):
        out = {"spectrum": family, "L": L, "scale": scale, "rotate": rotate, "seed": seed}
        if family != "constant" and mu_frac is not None:
            out["mu"] = mu_frac * (1.0 if L is None else L)
        return _drop_none(out)

    return st.builds(build, st.sampled_from(["linear", "geometric", "constant"]), _optional(st.floats(0.1, 10.0)),
                     _optional(st.floats(1e-3, 1.0)), _optional(st.floats(0.1, 4.0)), _optional(st.booleans()),
                     _optional(st.integers(0, 2**16)))


_PROBLEM_PARAMS: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "quadratic": _quadratic_params,
    "logsum": lambda: st.fixed_dictionaries({"width": _optional(st.floats(0.25, 4.0)),
                                             "scale": _optional(st.floats(0.1, 4.0))}).map(_drop_none),
    "chain": lambda: st.fixed_dictionaries({"L": _optional(st.floats(0.1, 200.0)),
                                            "lam": _optional(st.floats(0.1, 10.0))}).map(_drop_none),
}


def problems(*, dims: int | Sequence[int] | st.SearchStrategy[int] = st.integers(1, 6),
             names: Sequence[str] | None = None, parameters: bool = True) -> st.SearchStrategy[P.Problem]:
    """Problems ``verify.models.problems.make(name, dim, **params)`` of the registered problems ``names``
    (default: every key of :data:`verify.models.problems.PROBLEMS`) in dimension ``dims`` (an int, a list
    to sample from, or a strategy; default 1..6). With ``parameters`` each parameter is left at its
    default or drawn: quadratic spectrum family, L in [0.1, 10], mu = (fraction in [1e-3, 1]) * L,
    scale in [0.1, 4], rotate, seed; logsum width in [0.25, 4], scale in [0.1, 4]; chain L in
    [0.1, 200], lam in [0.1, 10]. Every problem has beta > 0 and F > 0 (x1 is not a minimiser), so
    ``verify.algorithms.resolve`` accepts its constants. Shrinks toward the first name with its
    defaults in the smallest dimension."""
    from verify.models import problems as P

    pnames = _names("names", names, list(P.PROBLEMS))
    if isinstance(dims, st.SearchStrategy):
        dim_st = dims
    else:
        ds = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
        if not ds:
            raise StrategyArgumentError(f"dims must be a positive integer, a non-empty list of them or a strategy; got {dims!r}")
        dim_st = st.sampled_from(sorted(_int("dims", d, 1) for d in ds))
    if not isinstance(parameters, bool):
        raise StrategyArgumentError(f"parameters must be a bool; got {parameters!r}")

    def of(name: str) -> st.SearchStrategy[P.Problem]:
        kwargs = _PROBLEM_PARAMS.get(name, lambda: st.just({}))() if parameters else st.just({})
        return st.builds(lambda dim, kw: P.make(name, dim, **kw), dim_st, kwargs)

    table = {name: of(name) for name in pnames}
    return st.sampled_from(pnames).flatmap(table.__getitem__)


_NOISE_PARAMS: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "student_t": lambda: st.fixed_dictionaries({"df": _optional(st.floats(2.0, 30.0, exclude_min=True))}).map(_drop_none),
}


def noises(*, names: Sequence[str] | None = None) -> st.SearchStrategy[Noise]:
    """Unit-variance noise models ``verify.models.noise.make_noise(name, **params)`` of ``names``
    (default: every key of :data:`verify.models.noise.NOISES`); Student-t's df is the default 3 or
    drawn in (2, 30]. Shrinks toward the first name (``gaussian``)."""
    from verify.models.noise import NOISES, make_noise

    nnames = _names("names", names, list(NOISES))
    table = {name: _NOISE_PARAMS.get(name, lambda: st.just({}))().map(lambda kw, name=name: make_noise(name, **kw))
             for name in nnames}
    return st.sampled_from(nnames).flatmap(table.__getitem__)


#: drawn ranges of the algorithms' parameters (each intersected with the Param's own range);
#: eta's upper end is 2.5/beta, past the stability limit of stale steps on purpose
_ALGORITHM_RANGES: dict[str, Callable[[float], tuple[float, float]]] = {
    "eta": lambda beta: (1e-4 * 2.5 / beta, 2.5 / beta),
    "rho": lambda beta: (1e-4, 10.0),
    "R": lambda beta: (1, 64),
    "tau_C": lambda beta: (0.0, 64.0),
}


def _param_strategy(name: str, p: Any, beta: float) -> st.SearchStrategy[Any]:
    if p.kind is str:
        if not p.choices:
            raise StrategyArgumentError(f"no strategy for the free-text parameter {name!r}")
        return st.sampled_from(list(p.choices))
    lo, hi = _ALGORITHM_RANGES.get(name, lambda b: (p.low if math.isfinite(p.low) else 0.0,
                                                    (p.low if math.isfinite(p.low) else 0.0) + 10.0))(beta)
    lo, hi = max(lo, p.low), min(hi, p.high)
    if p.kind is int:
        lo_i = math.ceil(lo) + (1 if p.low_open and math.ceil(lo) == p.low else 0)
        return st.integers(lo_i, max(lo_i, math.floor(hi)))
    return st.floats(lo, hi, exclude_min=p.low_open and lo == p.low, exclude_max=p.high_open and hi == p.high)


def _algorithm_params(algorithm: Any, beta: float) -> dict[str, Any]:
    from verify import algorithms
    if isinstance(algorithm, type) and issubclass(algorithm, algorithms.Algorithm):
        algorithm = algorithm.name
    if algorithm not in algorithms.ALGORITHMS:
        raise StrategyArgumentError(f"algorithm must be one of {list(algorithms.ALGORITHMS)}; got {algorithm!r}")
    b = _real("beta", beta, 0.0, low_open=True)
    return {k: _param_strategy(k, p, b) for k, p in algorithms.ALGORITHMS[algorithm].params.items()}


def step_parameters(algorithm: str | type, beta: float) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with *every* user parameter of ``algorithm`` (a name of
    :data:`verify.algorithms.ALGORITHMS` or its class), each drawn inside its ``Param`` 's allowed
    range, for smoothness ``beta``: eta in [2.5e-4/beta, 2.5/beta] (up to past the stability limit),
    rho in [1e-4, 10], R an integer in [1, 64], tau_C in [0, 64], rule among its choices; other
    (future) parameters in [low, low + 10]. ``verify.algorithms.resolve(algorithm, beta=beta, ...,
    **params)`` accepts every draw and takes no default."""
    return st.fixed_dictionaries(_algorithm_params(algorithm, beta))


def algorithm_overrides(name: str | type, beta: float) -> st.SearchStrategy[dict[str, Any]]:
    """A (possibly empty) subset of :func:`step_parameters`: each parameter independently present
    (drawn as there) or absent (left to the theory default). Valid ``**overrides`` for
    ``verify.algorithms.resolve(name, beta=beta, ...)``; shrinks toward ``{}``."""
    return st.fixed_dictionaries({}, optional=_algorithm_params(name, beta))

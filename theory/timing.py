"""Time statements: seconds to an eps-stationary point under a computation model of n workers.

The package's other statements count *steps*. These count *seconds* under the **fixed
computation model** (Mishchenko et al. 2022; Tyurin & Richtarik 2023): worker i needs at most
tau_i seconds per stochastic gradient, the times sorted tau_1 <= ... <= tau_n; communication and
the server take no time; the gradients' noise is independent of the times. ``tau_i`` here is a
time in seconds (the calculators call the fleet ``worker_times``), not a delay in steps.

Two statistics of the fleet enter, for each number m in [n] of fastest workers used:

* H_m = ((1/m) sum_{i<=m} 1/tau_i)^{-1}, the harmonic mean of the m fastest times (symbol ``H_m``);
* h_m = tau_m, the m-th fastest time (the slowest of the m fastest; symbol ``h_m``).

Each :class:`TimeStatement` is one SymPy expression in (H_m, h_m, m, beta, F, sigma, eps, ...) and a
rule for m: ``"min"`` (the statement is the minimum over m in [n]) or ``"all"`` (m = n). The
calculators (:func:`time`, :func:`optimal_workers`, :func:`time_ratio`, :func:`batch_time`,
:func:`ringmaster_time`) evaluate the expression for every m at once (numpy) and take the minimum.

Every bound is in the package's NORM convention (||grad f|| <= eps). The sources write the
squared convention E||grad f||^2 <= eps; they were converted by eps -> eps^2 (DERIVED; the
Ringmaster co-author draft writes the same form in norm-eps). Provenance
(``../shared/reference/time-complexity.md``): the formulas are SAME-AUTHOR RESTATEMENTs (later
papers by an author of the original, quoted verbatim), never the original theorems, whose full
texts were not read; the package labels them ``secondary`` and writes "SAME-AUTHOR RESTATEMENT" in
the provenance. Their Theta/O constants are unknown: an explicit ``C``, placeholder 1.

Nothing here imports ``verify``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import sympy as sp

from . import symbols as Sy
from .results import ETA_D, get as _get_result
from .statement import Convention, Kind, Statement, Status, UnknownConstant
from .symbols import F, beta, constant, eps, sigma
from .validation import check, check_int

__all__ = [
    "TimeStatement",
    "TIME_RESULTS",
    "get_time",
    "time_ids",
    "calculators",
    "H_m",
    "h_m",
    "m",
    "S_batch",
    "K",
    "R",
    "harmonic_means",
    "time",
    "optimal_workers",
    "time_ratio",
    "batch_time",
    "ringmaster_time",
    "async_arrival_bounds",
    "picky_time_steps",
    "rennala_parameters",
    "ringmaster_parameters",
    "minibatch_parameters",
]

# --- symbols of the fleet -------------------------------------------------------------------------
H_m = sp.Symbol("H_m", positive=True)  #: harmonic mean of the m fastest worker times (seconds)
h_m = sp.Symbol("h_m", positive=True)  #: the m-th fastest worker time tau_m (seconds)
m = sp.Symbol("m", positive=True, integer=True)  #: number of (fastest) workers used
S_batch = sp.Symbol("S", positive=True)  #: a batch size (Rennala's S; Ringmaster's R consecutive updates)
K = sp.Symbol("K", positive=True)  #: a number of server steps (updates)
R = sp.Symbol("R", positive=True, integer=True)  #: Ringmaster's delay threshold

#: numeric name of every symbol a time statement may contain
_NAMES: dict[sp.Symbol, str] = {**Sy.NAMES, H_m: "H_m", h_m: "h_m", m: "m", S_batch: "S", K: "K", R: "R"}
#: the fleet statistics: filled by the calculators from ``worker_times``, never passed by the user
_FLEET = ("H_m", "h_m", "m")

_a = beta * F / eps**2  # the deterministic term beta F / eps^2 (norm convention)
_b = beta * F * sigma**2 / eps**4  # the noise term beta F sigma^2 / eps^4


@dataclass(frozen=True)
class TimeStatement(Statement):
    """A :class:`~theory.statement.Statement` whose ``bound`` is a time in seconds for a fleet.

    ``bound`` is the time when the m fastest workers are used, in the symbols ``H_m``, ``h_m``, ``m``
    (and the problem's); ``workers`` says how m is chosen: ``"min"`` (the statement is
    min_{m in [n]} of ``bound``) or ``"all"`` (m = n). ``model`` names the computation model."""

    workers: str = "min"
    model: str = "fixed"

    @property
    def parameters(self) -> tuple[str, ...]:
        syms = set(self.bound.free_symbols)
        if self.constant is not None:
            syms.discard(self.constant.symbol)
        return tuple(sorted(n for n in (_NAMES[s] for s in syms) if n not in _FLEET))


_TYURIN_2025 = ("A. Tyurin, Bridging the gap between homogeneous and heterogeneous asynchronous optimization is "
                "surprisingly difficult, 2025")
_TR_2023 = ("A. Tyurin, P. Richtarik, Optimal Time Complexities of Parallel Stochastic Optimization Methods Under a "
            "Fixed Computation Model, NeurIPS 2023, arXiv:2305.12387")
_RINGMASTER = ("A. Maranjyan, A. Tyurin, P. Richtarik, Ringmaster ASGD: The First Asynchronous SGD with Optimal Time "
               "Complexity, ICML 2025, arXiv:2501.16168")
_DRAFT = ("co-author Maranjyan's LaTeX draft of Ringmaster LMO (github.com/vectozavr/ringmaster-lmo, "
          "latex_files/neurips26/draft.tex, commit d175d784)")
_FIXED = ("fixed computation model: worker i needs at most tau_i seconds per stochastic gradient, tau_1 <= ... <= tau_n; "
          "communication and server time zero; computation times independent of the stochastic gradients")
_SMOOTH = "f beta-smooth, bounded below, F = f(x_0) - inf f; unbiased stochastic gradients with variance <= sigma^2"
_PLACEHOLDER = "placeholder default 1 chosen here; the source's constant is unknown (Theta/O)"

TIME_RESULTS: dict[str, TimeStatement] = {}


def _add(st: TimeStatement) -> None:
    if st.id in TIME_RESULTS:  # pragma: no cover - programming error
        raise RuntimeError(f"duplicate time statement id {st.id}")
    TIME_RESULTS[st.id] = st


_c_homog = constant("c_homog")
_C_rennala = constant("C_rennala")
_C_ringmaster = constant("C_ringmaster")
_C_asgd = constant("C_asgd")
_C_minibatch = constant("C_minibatch")

#: Rennala's batch-collection time and Ringmaster's duration of R consecutive updates, for m workers
_T_BATCH = 2 * H_m * (1 + S_batch / m)

#: seconds within which K arrivals of the asynchronous policy reach the server from m always-busy workers
#: (step 3 of :func:`picky_time_steps`; DERIVED here): H_m (K + m)/m
_T_ARRIVALS = H_m * (K + m) / m
#: ... and the seconds before which they cannot: K H_m/m (worker i completes at most t/tau_i by time t)
_T_ARRIVALS_LOWER = H_m * K / m

#: Rennala's batch size S = max{1, ceil(sigma^2/eps^2)} (norm-eps), THIRD-PARTY (the authors' group's code)
S_RENNALA = sp.Max(1, sp.ceiling(sigma**2 / eps**2))
#: Rennala's step gamma = min{1/beta, eps^2 S/(2 beta sigma^2)}, THIRD-PARTY code; written without 1/sigma^2
GAMMA_RENNALA = 1 / (beta * sp.Max(1, 2 * sigma**2 / (eps**2 * S_batch)))
#: Ringmaster's threshold R = max{1, ceil(sigma^2/eps^2)} (norm-eps): UNCONFIRMED recollection
R_RINGMASTER = sp.Max(1, sp.ceiling(sigma**2 / eps**2))
#: Ringmaster's step gamma = min{1/(2 R beta), eps^2/(4 beta sigma^2)}: UNCONFIRMED recollection
GAMMA_RINGMASTER = 1 / (beta * sp.Max(2 * R, 4 * sigma**2 / eps**2))

# --- the optimal time (lower bound) and Rennala SGD -------------------------------------------------
_add(TimeStatement(
    id="time-homog",
    title="Optimal time complexity T_homog under the fixed model (lower bound)",
    citation=_TR_2023 + " (lower bound: Theorem 6.4 per a third-party review); restated in " + _TYURIN_2025 + ", eq. (2)",
    status=Status.SECONDARY,
    provenance=("SAME-AUTHOR RESTATEMENT (Tyurin 2025 eq. (2); Tyurin & Richtarik 2024 eq. (5) agrees): T_homog = "
                "Theta(min_m H_m (L Delta/eps + sigma^2 L Delta/(m eps^2))) seconds (squared convention), optimal "
                "for zero-respecting methods when eps < c L Delta; the original theorem and its constant NOT FOUND; "
                "converted to norm-eps by eps -> eps^2 (DERIVED)"),
    convention=Convention.NORM,
    source_convention=Convention.SQUARED,
    kind=Kind.LOWER,
    guarantee="some instance needs this many seconds for E||grad f||^2 <= eps^2 (up to the unknown constant)",
    delay_quantity="none: the fleet's times (H_m, the harmonic mean of the m fastest)",
    assumptions=(_SMOOTH, _FIXED, "zero-respecting method, high dimension, eps^2 < c beta F"),
    bound=_c_homog * H_m * (_a + _b / m),
    constant=UnknownConstant(_c_homog, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    workers="min",
    notes="min over m in [n]: the optimum may leave the slow workers idle (m* < n)",
))

_add(TimeStatement(
    id="time-rennala",
    title="Rennala SGD's time under the fixed model (achieves T_homog)",
    citation=_TR_2023 + "; restated in " + _TYURIN_2025 + ", eq. (2) ('achieved by the Rennala SGD method')",
    status=Status.SECONDARY,
    provenance=("rate SAME-AUTHOR RESTATEMENT (T_homog is 'achieved by the Rennala SGD method'); its constant NOT FOUND "
                "(a derived 48 rests on an UNCONFIRMED K = 24 L Delta/eps and is not used); S and gamma THIRD-PARTY "
                "(the authors' group's code); converted to norm-eps (DERIVED)"),
    convention=Convention.NORM,
    source_convention=Convention.SQUARED,
    kind=Kind.UPPER,
    guarantee="E||grad f(x)||^2 <= eps^2 for the method's output",
    delay_quantity="none (no stale gradient is applied)",
    assumptions=(_SMOOTH, _FIXED),
    bound=_C_rennala * H_m * (_a + _b / m),
    step_size=GAMMA_RENNALA.subs(S_batch, S_RENNALA),
    step_size_note="gamma = min{1/beta, eps^2 S/(2 beta sigma^2)} with S = max{1, ceil(sigma^2/eps^2)} (THIRD-PARTY code)",
    constant=UnknownConstant(_C_rennala, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    aux={"batch_size": S_RENNALA, "batch_time": _T_BATCH},
    workers="min",
))

# --- Rennala's batch-collection time = Ringmaster's duration of R updates ---------------------------
_add(TimeStatement(
    id="batch-time",
    title="Time to collect S gradients (Rennala) / to complete R consecutive updates (Ringmaster, Lemma 4.1)",
    citation=(_TYURIN_2025 + ", proof of Thm 3.8 (citing Theorem 11 of Tyurin et al. 2024); " + _DRAFT
              + " restating " + _RINGMASTER + ", Lemma 4.1"),
    status=Status.SECONDARY,
    provenance=("SAME-AUTHOR RESTATEMENT, constant 2 stated: t(S) = 2 min_m H_m (1 + S/m) (two places; a third prints "
                "'(1 + S)', taken as a typo); no eps in it"),
    convention=Convention.NORM,
    source_convention=Convention.NORM,
    kind=Kind.UPPER,
    guarantee="the seconds within which the fleet delivers S gradients (R consecutive updates), from any start time",
    delay_quantity="none",
    assumptions=(_FIXED,),
    bound=_T_BATCH,
    workers="min",
))

# --- Ringmaster ASGD ----------------------------------------------------------------------------
_add(TimeStatement(
    id="time-ringmaster",
    title="Ringmaster ASGD's time under the fixed model (optimal, = T_homog's form)",
    citation=_RINGMASTER + "; rate restated in " + _DRAFT,
    status=Status.SECONDARY,
    provenance=("rate SAME-AUTHOR RESTATEMENT (norm-eps in the draft): O(min_m H_m (L Delta/eps^2 + sigma^2 L Delta/(m eps^4))); "
                "T(K) <= ceil(K/R) t(R) SAME-AUTHOR RESTATEMENT; K, R and gamma of the theorem NOT FOUND: R = max{1, "
                "ceil(sigma^2/eps^2)} and gamma = min{1/(2 R beta), eps^2/(4 beta sigma^2)} are UNCONFIRMED recollections"),
    convention=Convention.NORM,
    source_convention=Convention.NORM,
    kind=Kind.UPPER,
    guarantee="E||grad f||^2 <= eps^2 (average over the iterates)",
    delay_quantity="applied delays < R (a gradient of delay >= R is ignored; with stops: cancelled)",
    assumptions=(_SMOOTH, _FIXED),
    bound=_C_ringmaster * H_m * (_a + _b / m),
    step_size=GAMMA_RINGMASTER.subs(R, R_RINGMASTER),
    step_size_note="UNCONFIRMED recollection: gamma = min{1/(2 R beta), eps^2/(4 beta sigma^2)}",
    threshold=R_RINGMASTER,
    threshold_note="delay threshold R = max{1, ceil(sigma^2/eps^2)}: UNCONFIRMED recollection (independent of n and the times)",
    constant=UnknownConstant(_C_ringmaster, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    aux={"time_of_K_updates": sp.ceiling(K / R) * _T_BATCH.subs(S_batch, R)},
    workers="min",
))

# --- asynchronous SGD and minibatch SGD -----------------------------------------------------------
_add(TimeStatement(
    id="time-asgd",
    title="Asynchronous SGD's time under the fixed model (every worker used)",
    citation=_TYURIN_2025 + " §1, on Mishchenko et al. 2022 and Koloskova et al. 2022",
    status=Status.SECONDARY,
    provenance=("SAME-AUTHOR RESTATEMENT: O(H_n (L Delta/eps + sigma^2 L Delta/(n eps^2))); the attribution to a theorem "
                "number NOT FOUND; converted to norm-eps (DERIVED)"),
    convention=Convention.NORM,
    source_convention=Convention.SQUARED,
    kind=Kind.UPPER,
    guarantee="E||grad f||^2 <= eps^2 (average over the iterates)",
    delay_quantity="every worker busy: one update per arrival",
    assumptions=(_SMOOTH, _FIXED),
    bound=_C_asgd * H_m * (_a + _b / m),
    constant=UnknownConstant(_C_asgd, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    workers="all",
    notes="H_n over all n workers: suboptimal when slow workers drag H_n up (T_asgd/T_homog unbounded as tau_n grows)",
))

_add(TimeStatement(
    id="time-minibatch",
    title="Minibatch SGD's time under the fixed model (waits for the slowest of n workers)",
    citation=_TYURIN_2025 + " §1",
    status=Status.SECONDARY,
    provenance=("SAME-AUTHOR RESTATEMENT: O(max_i tau_i (L Delta/eps + sigma^2 L Delta/(n eps^2))) 'because it waits for "
                "the slowest worker'; converted to norm-eps (DERIVED)"),
    convention=Convention.NORM,
    source_convention=Convention.SQUARED,
    kind=Kind.UPPER,
    guarantee="E||grad f||^2 <= eps^2",
    delay_quantity="none (synchronous rounds)",
    assumptions=(_SMOOTH, _FIXED),
    bound=_C_minibatch * h_m * (_a + _b / m),
    constant=UnknownConstant(_C_minibatch, 1.0, Status.UNCONFIRMED, _PLACEHOLDER),
    workers="all",
    notes="h_n = tau_n, the slowest time; with the m fastest workers only (waiting for those) tau_m replaces it",
))

# --- Picky SGD under the fixed model (derived here) ---------------------------------------------
_picky = _get_result("picky-explicit-sharp")
_C_DELAY = 8960
#: steps Theorem D' asks for when at most m-1 gradients are in flight besides the arriving one
PICKY_STEPS = sp.ceiling(sp.Max(512 * _a + 128 * _b, _C_DELAY * _a * (m - 1)))

_add(TimeStatement(
    id="time-picky",
    title="Picky SGD's time under the fixed model (m fastest workers, asynchronous dispatch; derived here)",
    citation="derived for this package from Theorem D' (picky-explicit-sharp) and the fleet's arrival rate. NOT a paper's",
    status=Status.DERIVED,
    provenance=(
        "DERIVED here (see theory.timing.picky_time_steps): tau_avg <= m - 1 pathwise when m workers are always busy, "
        "so Theorem D' holds after K = ceil(max{512 bF/e^2 + 128 bF s^2/e^4, 8960 bF (m-1)/e^2}) steps, and K steps "
        "arrive within H_m (K + m)/m seconds; Theorem D''s constants are derived, not the paper's"),
    convention=Convention.NORM,
    source_convention=Convention.NORM,
    kind=Kind.UPPER,
    guarantee="P(some iterate within the time is eps-stationary, ||grad f|| <= eps) >= 1/2 (Theorem D')",
    delay_quantity="the schedule of the m fastest workers, all always busy: tau_avg <= m - 1",
    assumptions=(_SMOOTH, _FIXED, "asynchronous dispatch to the m fastest workers; threshold rho = eps/(2 beta); step eta_D"),
    bound=_T_ARRIVALS.subs(K, PICKY_STEPS),
    step_size=ETA_D,
    step_size_note=_picky.step_size_note,
    threshold=_picky.threshold,
    threshold_note=_picky.threshold_note,
    success_probability=_picky.success_probability,
    restarts=_picky.restarts,
    aux={"steps": PICKY_STEPS},
    workers="min",
    notes="per m: ~ H_m (8960 bF/e^2 + 128 bF s^2/(m e^4)), T_homog's form: with the m* fastest workers Picky SGD is "
          "within a constant of the optimal time (the constant's size: time_ratio)",
))


def get_time(result_id: str) -> TimeStatement:
    """The time statement with this id; ValueError listing the ids otherwise."""
    try:
        return TIME_RESULTS[result_id]
    except KeyError:
        raise ValueError(f"time result must be one of {sorted(TIME_RESULTS)}; got {result_id!r}") from None


def time_ids() -> list[str]:
    """The ids of :data:`TIME_RESULTS`, in registry order."""
    return list(TIME_RESULTS)


#: the calculators that evaluate each time statement (every statement: :func:`time`,
#: :func:`optimal_workers` and :func:`time_ratio`; these as well)
_OWN_CALCULATORS: dict[str, tuple[str, ...]] = {
    "batch-time": ("batch_time",),
    "time-rennala": ("rennala_parameters",),
    "time-ringmaster": ("ringmaster_time", "ringmaster_parameters"),
}


def calculators(result_id: str) -> tuple[str, ...]:
    """The names (in :mod:`theory.timing`) of the calculators that evaluate time statement ``result_id``."""
    get_time(result_id)
    return ("time", "optimal_workers", "time_ratio") + _OWN_CALCULATORS.get(result_id, ())


def picky_time_steps() -> str:
    """The derivation of ``time-picky`` (DERIVED here; returns this docstring for display).

    Setting: the fixed model, asynchronous dispatch to the m fastest workers (every arrival is a
    server step, the worker restarts at the newest iterate), so each of the m workers always has
    exactly one gradient in flight.

    1. Delays. The gradient applied at step t has delay d_t = the number of steps applied while it
       was in flight. At every step exactly m - 1 *other* gradients are in flight, so each step is
       counted in the delays of at most m - 1 gradients, and sum_{t<=T} d_t <= (m-1) T for every T:
       tau_avg <= m - 1, pathwise, whatever the times (ties included).
    2. Steps. Theorem D' (``picky-explicit-sharp``) holds at horizon T when T >= 512 bF/e^2 +
       128 bF s^2/e^4 and S_T <= e^2 T^2/(8960 bF); with S_T <= (m-1) T the second holds once
       T >= 8960 bF (m-1)/e^2. So K = ceil(max{512 bF/e^2 + 128 bF s^2/e^4, 8960 bF (m-1)/e^2})
       steps suffice. The schedule does not depend on the noise: the delays are oblivious.
    3. Seconds. Worker i completes at least floor(t/tau_i) gradients by time t, and
       sum_{i<=m} floor(t/tau_i) > t sum_{i<=m} 1/tau_i - m = t m/H_m - m, which is >= K at
       t = H_m (K + m)/m. So the K-th step arrives within H_m (K + m)/m seconds.

    Per m this is ~ H_m (8960 bF/e^2 + 128 bF s^2/(m e^4)) + H_m: T_homog's form with larger
    constants; the statement is the minimum over m.
    """
    return picky_time_steps.__doc__ or ""


# ---------------------------------------------------------------------------------------------
# calculators
# ---------------------------------------------------------------------------------------------
def _fleet(worker_times: Any) -> np.ndarray:
    """The fleet's times as a sorted float array; ValueError naming worker_times otherwise."""
    try:
        t = np.asarray(worker_times, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"worker_times must be a nonempty 1-D sequence of finite times > 0 (seconds); got {worker_times!r}") from None
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"worker_times must be a nonempty 1-D sequence of finite times > 0 (seconds); got {worker_times!r}")
    bad = ~(np.isfinite(t) & (t > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"worker_times must be finite times > 0 (seconds); got worker_times[{i}] = {float(t[i])!r}")
    return np.sort(t)


def harmonic_means(worker_times: Any) -> np.ndarray:
    """H_m = ((1/m) sum_{i<=m} 1/tau_(i))^{-1} for m = 1..n, the times sorted ascending."""
    t = _fleet(worker_times)
    return np.arange(1, t.size + 1) / np.cumsum(1.0 / t)


@dataclass(frozen=True)
class _Compiled:
    names: tuple[str, ...]
    fn: Callable[..., Any]


def _arg(st: TimeStatement, s: sp.Symbol) -> str:
    if st.constant is not None and s == st.constant.symbol:
        return "C"
    return _NAMES[s]


@lru_cache(maxsize=None)
def _compiled(result_id: str, what: str) -> _Compiled:
    st = get_time(result_id)
    expr = st._expr(what)
    if expr is None:
        raise ValueError(f"time result {result_id!r} has no {what}")
    syms = sorted(expr.free_symbols, key=lambda s: _arg(st, s))
    return _Compiled(tuple(_arg(st, s) for s in syms), sp.lambdify(syms, expr, modules="numpy"))


def _convert(params: dict[str, Any], convention: str) -> None:
    if convention not in ("norm", "squared"):
        raise ValueError(f"convention must be one of ('norm', 'squared'); got {convention!r}")
    if convention == "squared" and "eps" in params:
        e = check("eps", params["eps"])
        params["eps"] = np.sqrt(e)


def _per_m(result_id: str, what: str, times: np.ndarray, params: dict[str, Any], C: Any,
           workers: int | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The expression for every admissible m: (values of shape P + (k,), the m's (k,), any array input)."""
    st = get_time(result_id)
    comp = _compiled(result_id, what)
    n = times.size
    if workers is not None:
        ms = np.array([check_int("workers", workers, 1, n)])
    elif st.workers == "all":
        ms = np.array([n])
    else:
        ms = np.arange(1, n + 1)
    fleet = {"m": ms.astype(float), "H_m": (np.arange(1, n + 1) / np.cumsum(1.0 / times))[ms - 1], "h_m": times[ms - 1]}
    args: list[Any] = []
    vector = False
    for name in comp.names:
        if name in fleet:
            args.append(fleet[name])
            continue
        if name == "C":
            v = st.constant.default if C is None else C  # type: ignore[union-attr]
        elif name in params:
            v = params[name]
        else:
            raise ValueError(f"time result {result_id!r} needs parameter {name}")
        v = check("C" if name == "C" else name, v) if name not in ("S", "K", "R") else _check_count(name, v)
        vector = vector or isinstance(v, np.ndarray)
        args.append(np.asarray(v, dtype=float)[..., None])
    extra = set(params) - set(comp.names) - {"beta", "F", "sigma", "eps"}
    if extra:
        raise ValueError(f"unknown parameter {sorted(extra)[0]!r} for time result {result_id!r}; it takes {sorted(set(comp.names) - set(_FLEET))}")
    with np.errstate(all="ignore"):
        out = np.asarray(comp.fn(*args), dtype=float)
    shape = np.broadcast_shapes(*[np.shape(a) for a in args]) if args else (ms.size,)
    out = np.broadcast_to(out, shape[:-1] + (ms.size,))
    if np.isnan(out).any():
        raise ValueError(f"time result {result_id!r} has no floating-point value at these parameters (over- or underflow)")
    return out, ms, vector


def _check_count(name: str, v: Any) -> Any:
    """S (batch size, real > 0), K (steps, real > 0), R (threshold, integer >= 1)."""
    a = np.asarray(v, dtype=float) if isinstance(v, (list, tuple, np.ndarray)) else v
    vals = np.atleast_1d(np.asarray(a, dtype=float))
    if name == "R":
        ok = np.isfinite(vals) & (vals >= 1) & (vals == np.floor(vals))
        what = "an integer >= 1"
    else:
        ok = np.isfinite(vals) & (vals > 0)
        what = "a finite real > 0"
    if not ok.all() or isinstance(v, bool):
        raise ValueError(f"{name} must be {what}; got {v!r}")
    return a


def _reduce(out: np.ndarray, ms: np.ndarray, vector: bool) -> tuple[Any, Any]:
    j = np.argmin(out, axis=-1)
    best = np.take_along_axis(out, j[..., None], axis=-1)[..., 0]
    mstar = ms[j]
    if not vector:
        return float(best), int(mstar)
    return best, mstar


def time(result_id: str, /, *, worker_times: Any, convention: str = "norm", C: Any = None, workers: int | None = None,
         **params: Any) -> Any:
    """Seconds the time statement ``result_id`` gives for the fleet ``worker_times`` (tau_i, seconds).

    The statement's expression is evaluated for every m in [n] (H_m, h_m of the m fastest) and
    minimised (``workers="min"`` statements), or at m = n (``"all"``); ``workers=m`` fixes m.
    ``beta, F, sigma, eps`` (and ``S``, ``K``, ``R`` where the expression has them) are floats or
    arrays (broadcast; float out for scalars). ``convention="squared"``: eps is a target for
    ||grad f||^2. ``C``: the unknown constant (default its placeholder 1)."""
    p = dict(params)
    _convert(p, convention)
    out, ms, vector = _per_m(result_id, "bound", _fleet(worker_times), p, C, workers)
    return _reduce(out, ms, vector)[0]


def optimal_workers(result_id: str, /, *, worker_times: Any, convention: str = "norm", C: Any = None,
                    **params: Any) -> Any:
    """The m in [n] at which :func:`time` is attained (the smallest such m on ties)."""
    p = dict(params)
    _convert(p, convention)
    out, ms, vector = _per_m(result_id, "bound", _fleet(worker_times), p, C, None)
    return _reduce(out, ms, vector)[1]


def time_ratio(result_id: str = "time-picky", baseline: str = "time-homog", /, *, worker_times: Any,
               convention: str = "norm", C: Any = None, C_baseline: Any = None, **params: Any) -> Any:
    """time(result) / time(baseline) for the same fleet and parameters (default: Picky SGD's derived
    time over the optimal T_homog, whose constant is a placeholder: the ratio is as uncertain)."""
    a = time(result_id, worker_times=worker_times, convention=convention, C=C, **params)
    b = time(baseline, worker_times=worker_times, convention=convention, C=C_baseline, **params)
    return a / b


def batch_time(S: Any, /, *, worker_times: Any) -> Any:
    """t(S) = 2 min_m H_m (1 + S/m): seconds within which the fleet delivers S gradients (Rennala's
    batch) or completes S consecutive updates (Ringmaster's Lemma 4.1); SAME-AUTHOR RESTATEMENT."""
    out, ms, vector = _per_m("batch-time", "bound", _fleet(worker_times), {"S": S}, None, None)
    return _reduce(out, ms, vector)[0]


def ringmaster_time(K_steps: Any, /, *, R: Any, worker_times: Any) -> Any:
    """T(K) <= ceil(K/R) t(R): seconds for K updates of Ringmaster ASGD with threshold R."""
    out, ms, vector = _per_m("time-ringmaster", "time_of_K_updates", _fleet(worker_times), {"K": K_steps, "R": R},
                             None, None)
    return _reduce(out, ms, vector)[0]


def async_arrival_bounds(K_steps: Any, /, *, worker_times: Any) -> tuple[Any, Any]:
    """(K H_n/n, H_n (K + n)/n): the seconds between which the K-th arrival of the asynchronous
    policy (every worker always busy, restarting at each arrival) falls under the fixed model, n the
    fleet's size. DERIVED here (step 3 of :func:`picky_time_steps`): by time t worker i has completed
    floor(t/tau_i) gradients, and t n/H_n - n < sum_i floor(t/tau_i) <= t n/H_n. ``K_steps``: an
    integer >= 1 or an array of them (arrays out)."""
    t = _fleet(worker_times)
    k = np.asarray(K_steps)
    if k.ndim == 0:
        k = np.asarray(check_int("K", K_steps, 1))
    elif k.size == 0 or not np.issubdtype(k.dtype, np.integer) or (k < 1).any():
        raise ValueError(f"K must be an integer >= 1 or an array of them; got {K_steps!r}")
    n = t.size
    H = float(harmonic_means(t)[-1])
    lo, hi = (sp.lambdify((H_m, m, K), e, modules="numpy")(H, float(n), k.astype(float))
              for e in (_T_ARRIVALS_LOWER, _T_ARRIVALS))
    if k.ndim == 0:
        return float(lo), float(hi)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _evaluate(expr: sp.Expr, params: dict[str, Any], convention: str) -> Any:
    p = dict(params)
    _convert(p, convention)
    syms = sorted(expr.free_symbols, key=lambda s: _NAMES[s])
    vals = [check(_NAMES[s], p[_NAMES[s]]) for s in syms]
    out = sp.lambdify(syms, expr, modules="numpy")(*vals)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=float)


def rennala_parameters(*, beta: Any, sigma: Any, eps: Any, S: int | None = None, convention: str = "norm") -> dict[str, Any]:
    """Rennala SGD's batch size S = max{1, ceil(sigma^2/eps^2)} and step gamma = min{1/beta, eps^2 S/(2 beta sigma^2)}
    (norm-eps; THIRD-PARTY: the authors' group's code, not the theorem's text). ``S`` given: the step at that
    batch size (S itself is then the caller's)."""
    p = {"beta": beta, "sigma": sigma, "eps": eps}
    if S is None:
        return {"S": _evaluate(S_RENNALA, p, convention), "gamma": _evaluate(TIME_RESULTS["time-rennala"].step_size, p, convention),
                "status": Status.SECONDARY.value, "source": "THIRD-PARTY code (github.com/vectozavr/ringmaster-lmo)"}
    S = check_int("S", S, 1)
    return {"S": float(S), "gamma": _evaluate(GAMMA_RENNALA.subs(S_batch, S), p, convention),
            "status": Status.SECONDARY.value, "source": "THIRD-PARTY code (github.com/vectozavr/ringmaster-lmo), at the given S"}


def ringmaster_parameters(*, beta: Any, sigma: Any, eps: Any, R: int | None = None, convention: str = "norm") -> dict[str, Any]:
    """Ringmaster ASGD's threshold R = max{1, ceil(sigma^2/eps^2)} and step gamma = min{1/(2 R beta),
    eps^2/(4 beta sigma^2)} (norm-eps): UNCONFIRMED recollections, labelled choices, not the theorem's.
    ``R`` given: the step at that threshold (R itself is then the caller's)."""
    p = {"beta": beta, "sigma": sigma, "eps": eps}
    st = TIME_RESULTS["time-ringmaster"]
    if R is None:
        return {"R": _evaluate(st.threshold, p, convention), "gamma": _evaluate(st.step_size, p, convention),
                "status": Status.UNCONFIRMED.value, "source": "recollection of Thm 4.1, not checked against the text"}
    R = check_int("R", R, 1)
    return {"R": float(R), "gamma": _evaluate(GAMMA_RINGMASTER.subs(globals()["R"], R), p, convention),
            "status": Status.UNCONFIRMED.value, "source": "recollection of Thm 4.1, not checked against the text; at the given R"}


def minibatch_parameters(*, beta: Any, sigma: Any, eps: Any, m: int, convention: str = "norm") -> dict[str, Any]:
    """Minibatch SGD's step with m gradients (all at the same iterate) averaged per server step:
    gamma = min{1/beta, eps^2 m/(2 beta sigma^2)} -- Rennala's step rule :data:`GAMMA_RENNALA` at S = m
    (the same expression, not retyped). A CHOICE MADE HERE, not a source's: minibatch SGD is SGD whose
    gradient has variance sigma^2/m, which is Rennala's step with a batch of S = m (norm-eps)."""
    gamma = rennala_parameters(beta=beta, sigma=sigma, eps=eps, S=check_int("m", m, 1), convention=convention)["gamma"]
    return {"gamma": gamma, "status": Status.DERIVED.value,
            "source": "choice made here: Rennala's step rule (THIRD-PARTY code) at S = m"}

"""Fast numeric calculators generated from the SymPy statements of :mod:`theory.results`.

Nothing here retypes a formula: every function lambdifies an expression of a
:class:`~theory.statement.Statement` (once, cached) into a plain-float function (Python ``math``)
and a numpy function (vectorised, broadcasting). The lambdified forms are also cached on disk
(:mod:`theory._lambdacache`, keyed by a hash of ``theory/``'s source), so that a calculator in a
fresh process neither imports SymPy nor builds the statements once that cache is warm. Inputs are validated by
:mod:`theory.validation`: bad input raises ``ValueError`` naming the parameter, its value and the
allowed range.

Conventions: ``convention="norm"`` (default) means ``eps`` is the target for ||grad f||;
``convention="squared"`` means ``eps`` is the target for ||grad f||^2, converted by eps -> sqrt(eps)
on input (and accuracies are returned squared).
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._lambdacache import lambdified
from .validation import DOMAINS, DelaysLike, check, validate_delays

if TYPE_CHECKING:  # SymPy and the statements are imported on a cache miss only
    import sympy as sp

    from .statement import Statement

__all__ = [
    "about",
    "iterations",
    "horizon",
    "check_constants",
    "accuracy",
    "step_size",
    "threshold",
    "restarts",
    "evaluate",
    "condition_holds",
    "first_horizon",
    "crossover_tau_max",
    "crossover_ratio",
    "stability_threshold",
    "max_stable_delay",
    "compare",
    "inverse_expression",
    "CONVENTIONS",
    "RangeWarning",
]

CONVENTIONS = ("norm", "squared")
_ArrayLike = Any


# --------------------------------------------------------------------------------------------
# compilation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Compiled:
    names: tuple[str, ...]  # positional argument names ("C" for the unknown constant)
    scalar: Callable[..., float]
    vector: Callable[..., np.ndarray]
    kind: str = ""  # the statement's Kind value
    C_default: float | None = None  # the stated default of its unknown constant, if it has one


def _arg_name(st: Statement, s: sp.Symbol) -> str:
    from . import symbols as Sy

    if st.constant is not None and s == st.constant.symbol:
        return "C"
    return Sy.NAMES[s]


def _lambdify(st: Statement, expr: sp.Expr) -> tuple[dict[str, Any], list[tuple[Callable, str]]]:
    """``expr`` lambdified (math and numpy), with what the calculators need of ``st``."""
    import sympy as sp

    syms = sorted(expr.free_symbols, key=lambda s: _arg_name(st, s))
    data = {"names": [_arg_name(st, s) for s in syms], "kind": st.kind.value,
            "C_default": None if st.constant is None else float(st.constant.default)}
    return data, [(sp.lambdify(syms, expr, modules="math"), "math"), (sp.lambdify(syms, expr, modules="numpy"), "numpy")]


def _from_data(data: dict[str, Any], scalar: Callable, vector: Callable) -> _Compiled:
    return _Compiled(tuple(data["names"]), scalar, vector, data["kind"], data["C_default"])


def _compile(st: Statement, expr: sp.Expr) -> _Compiled:
    data, (scalar, vector) = _lambdify(st, expr)
    return _from_data(data, scalar[0], vector[0])


def _cached(key: str, make: Callable[[], tuple[Any, list[tuple[Callable, str]]]]) -> _Compiled:
    data, (scalar, vector) = lambdified(key, make)
    return _from_data(data, scalar, vector)


def inverse_expression(st: Statement) -> sp.Expr:
    """eps reachable after T steps, solved symbolically from ``st.bound`` = T.

    Every iteration bound here is a polynomial a u^2 + b u + c in u = 1/eps^2 with nonnegative
    coefficients (possibly under Max, each argument decreasing in eps). For T > c the positive root
    is written in the cancellation-free form u = 2 (T - c) / (b + sqrt(b^2 + 4 a (T - c))), which
    stays finite at a = 0 (sigma = 0); eps = u^(-1/2). Under Max the inverse is the Max of the
    inverses (T >= max_i g_i(eps) iff eps >= max_i g_i^{-1}(T)).
    """
    from .statement import Kind

    if st.kind is Kind.COUNT:
        raise ValueError(f"{st.id!r} is a counting bound, not an iteration bound: it has no accuracy inverse")
    return _invert(st.bound)


def _invert(expr: sp.Expr) -> sp.Expr:
    import sympy as sp

    from . import symbols as Sy

    if isinstance(expr, sp.Max):
        return sp.Max(*[_invert(a) for a in expr.args])
    u = sp.Symbol("u", positive=True)
    poly = sp.Poly(sp.expand(expr.subs(Sy.eps, 1 / sp.sqrt(u))), u)
    if poly.degree() > 2:
        raise NotImplementedError(f"bound is not quadratic in 1/eps^2: {expr}")
    c2, c1, c0 = (poly.coeff_monomial(u**k) for k in (2, 1, 0))
    rest = Sy.T - c0
    u_root = 2 * rest / (c1 + sp.sqrt(c1**2 + 4 * c2 * rest))
    return 1 / sp.sqrt(u_root)


@lru_cache(maxsize=None)
def _compiled(result_id: str, what: str) -> _Compiled:
    def make() -> tuple[dict[str, Any], list[tuple[Callable, str]]]:
        from .results import get

        st = get(result_id)
        if what == "inverse":
            return _lambdify(st, inverse_expression(st))
        expr = st._expr(what)
        if expr is None:
            note = getattr(st, f"{what}_note", "")
            raise ValueError(f"result {result_id!r} has no {what}" + (f": {note}" if note else ""))
        return _lambdify(st, expr)

    return _cached(f"compiled:{result_id}:{what}", make)


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
def _is_array(v: Any) -> bool:
    return isinstance(v, (np.ndarray, list, tuple))


def _convert_eps(params: dict[str, Any], convention: str) -> None:
    if convention == "norm":
        return
    if convention != "squared":
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}")
    if "eps" in params:
        e = check("eps", params["eps"])
        params["eps"] = np.sqrt(e) if isinstance(e, np.ndarray) else math.sqrt(e)


def _call(comp: _Compiled, result_id: str, params: dict[str, Any], C: Any, what: str | None = None) -> Any:
    """Evaluate ``comp`` at validated ``params``. ``what`` names the quantity (``bound``, ``inverse``,
    ``step_size``, ...) for the range check of :func:`_warn_range` (None: no check)."""
    for k in params:
        if k not in DOMAINS:
            raise ValueError(f"unknown parameter {k!r}; known parameters: {sorted(DOMAINS)}")
    args = []
    vector = False
    for name in comp.names:
        if name == "C":
            v = comp.C_default if C is None else C
        else:
            try:
                v = params[name]
            except KeyError:
                dom = DOMAINS[name]
                raise ValueError(
                    f"result {result_id!r} needs parameter {name} ({dom.meaning}; {dom.describe()})"
                ) from None
        v = check(name, v)
        vector = vector or isinstance(v, np.ndarray)
        args.append(v)
    if not vector:
        try:
            out = float(comp.scalar(*args))
        except (ZeroDivisionError, OverflowError):  # math's errors where IEEE arithmetic gives inf
            with np.errstate(all="ignore"):
                out = float(comp.vector(*[np.float64(a) for a in args]))
        out = _representable(out, result_id, comp, args)
        if what is not None and _suspect(out):
            _warn_range(result_id, what, comp.names, args, out)
        return out
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    with np.errstate(all="ignore"):
        out = comp.vector(*arrays)
    out = np.broadcast_to(np.asarray(out, dtype=float), arrays[0].shape if arrays else ()).copy()
    bad = np.isnan(out)
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        _representable(math.nan, result_id, comp, [np.asarray(a)[i] if np.ndim(a) else a for a in arrays], i)
    if what is not None:
        suspects = np.argwhere(np.isinf(out) | (np.abs(out) < _TINY))
        for j in suspects[:_MAX_EXACT]:  # the first element whose exact value is out of range
            i = tuple(int(k) for k in j)
            at = [float(a[i]) for a in arrays]
            if _warn_range(result_id, what, comp.names, at, float(out[i]), i, len(suspects)):
                break
    return out


# --------------------------------------------------------------------------------------------
# values beyond float64's range: inf and 0 are never returned silently
# --------------------------------------------------------------------------------------------
_TINY = sys.float_info.min  # the smallest normal float64 (2.2e-308); below it precision is lost
_MAX_EXACT = 50  # exact evaluations spent per array call looking for an out-of-range element
#: how each quantity is named in the warning
_QUANTITY = {"bound": "iterations", "inverse": "accuracy"}


class RangeWarning(RuntimeWarning):
    """A calculator's exact value lies beyond float64's range: the float returned is ``inf``
    (overflow, exact value > 1.8e308) or ``0.0`` / a subnormal (underflow, exact value < 2.2e-308).
    Attributes: ``result``, ``quantity`` (iterations, accuracy, step_size, threshold or an aux name),
    ``exact`` (the exact value, from the SymPy statement in exact rational arithmetic, as a string
    with 6 significant digits), ``returned`` (the float), ``index`` (array element or None)."""

    def __init__(self, message: str, *, result: str, quantity: str, exact: str, returned: float,
                 index: tuple[int, ...] | None = None) -> None:
        super().__init__(message)
        self.result, self.quantity, self.exact, self.returned, self.index = result, quantity, exact, returned, index


def _suspect(x: float) -> bool:
    return math.isinf(x) or abs(x) < _TINY


def _exact_value(result_id: str, what: str, names: tuple[str, ...], args: list[float]) -> sp.Expr:
    """The statement's expression ``what`` evaluated exactly (SymPy, the float inputs as exact
    rationals) to 20 digits: the value a float64 calculator over- or underflows on."""
    import sympy as sp

    from .results import get

    st = get(result_id)
    expr = inverse_expression(st) if what == "inverse" else st._expr(what)
    by_name = {_arg_name(st, sym): sym for sym in expr.free_symbols}
    subs = {by_name[n]: sp.Rational(float(a)) for n, a in zip(names, args) if n in by_name}
    return sp.N(expr.subs(subs), 20)


def _warn_range(result_id: str, what: str, names: tuple[str, ...], args: list[float], returned: float,
                index: tuple[int, ...] | None = None, count: int = 1) -> bool:
    """Warn (:class:`RangeWarning`) if the exact value of a suspect float (inf, 0, subnormal) is a
    finite nonzero number outside float64's normal range; True if it warned."""
    import mpmath

    exact = _exact_value(result_id, what, names, args)
    if not exact.is_finite or exact.is_zero:  # the float is the true value (0, or a true infinity)
        return False
    if math.isinf(returned) and abs(exact) <= sys.float_info.max:
        return False
    if not math.isinf(returned) and abs(exact) >= _TINY:
        return False
    text = mpmath.nstr(exact._to_mpmath(80), 6)
    quantity = _QUANTITY.get(what, what)
    how = (f"overflows float64 (max {sys.float_info.max:.3g})" if math.isinf(returned)
           else f"underflows float64 (smallest normal {_TINY:.3g})")
    given = ", ".join(f"{n}={float(a):g}" for n, a in zip(names, args))
    where = "" if index is None else (f" at index {index if len(index) > 1 else index[0]}"
                                      f" (first of {count} elements that are inf or below {_TINY:.3g})")
    warnings.warn(RangeWarning(f"{quantity} of {result_id!r} = {text} {how}: returned {returned!r}{where} "
                               f"({given})", result=result_id, quantity=quantity, exact=text, returned=returned,
                               index=index), stacklevel=4)
    return True


def _representable(out: float, result_id: str, comp: _Compiled, args: list[Any], index: tuple | None = None) -> float:
    """Extreme inputs: a value that overflows is +inf (for scalars and arrays alike, with a
    :class:`RangeWarning` giving the exact value); one that has no floating-point value (inf - inf,
    0 * inf) is an error naming the inputs."""
    if math.isnan(out):
        given = ", ".join(f"{n}={float(a):g}" for n, a in zip(comp.names, args))
        at = "" if index is None else f" at index {index if len(index) > 1 else index[0]}"
        raise ValueError(f"result {result_id!r} has no floating-point value at {given}{at} (the parameters are "
                         "too extreme: over- or underflow)")
    return out


def evaluate(result_id: str, what: str = "bound", /, *, convention: str = "norm", C: Any = None, **params: Any) -> Any:
    """Evaluate any named expression of a statement (``bound``, ``step_size``, ``threshold`` or an
    ``aux`` entry) at validated parameters. Scalars in, float out; arrays broadcast."""
    _convert_eps(params, convention)
    return _call(_compiled(result_id, what), result_id, params, C, what)


def iterations(result_id: str, /, *, convention: str = "norm", C: Any = None, **params: Any) -> Any:
    """Steps T that the statement's bound asks for (a number of gradient steps; real-valued, take
    ``ceil`` for an integer horizon). For a LOWER statement, the steps that are necessary."""
    comp = _compiled(result_id, "bound")
    if comp.kind == "count":
        raise ValueError(f"{result_id!r} is a counting bound; use evaluate({result_id!r}, ...) instead")
    _convert_eps(params, convention)
    return _call(comp, result_id, params, C, "bound")


def accuracy(result_id: str, /, T: Any, *, convention: str = "norm", C: Any = None, **params: Any) -> Any:
    """The accuracy eps the statement guarantees after T steps: the inverse of :func:`iterations`
    in eps (returned as eps^2 when ``convention="squared"``)."""
    if "eps" in params:
        raise ValueError("accuracy() solves for eps: do not pass eps")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}")
    params["T"] = T
    out = _call(_compiled(result_id, "inverse"), result_id, params, C, "inverse")
    if convention == "squared":
        return out * out
    return out


def step_size(result_id: str, /, *, convention: str = "norm", **params: Any) -> Any:
    """The statement's step size eta (units: length^2 per f-unit; beta*eta is dimensionless)."""
    _convert_eps(params, convention)
    return _call(_compiled(result_id, "step_size"), result_id, params, None, "step_size")


def threshold(result_id: str, /, *, convention: str = "norm", **params: Any) -> Any:
    """The statement's distance threshold rho (units of x)."""
    _convert_eps(params, convention)
    return _call(_compiled(result_id, "threshold"), result_id, params, None, "threshold")


def restarts(delta: Any) -> Any:
    """k = ceil(log2(1/delta)): the number of independent runs whose joint failure probability
    2^-k is <= delta (paper.md §4.1). Computed exactly (no floating-point off-by-one at powers of
    two): the smallest integer k >= 0 with 2^-k <= delta."""
    d = check("delta", delta)
    if isinstance(d, np.ndarray):
        k = np.ceil(-np.log2(d))
        k = np.where(np.exp2(-(k - 1)) <= d, k - 1, k)
        k = np.where(np.exp2(-k) <= d, k, k + 1)
        return k.astype(np.int64)
    k = math.ceil(-math.log2(d))
    while k > 0 and 2.0 ** -(k - 1) <= d:
        k -= 1
    while 2.0**-k > d:
        k += 1
    return k


# --------------------------------------------------------------------------------------------
# the condition of Theorem D / D' on a pair (T, d_1..d_T)
# --------------------------------------------------------------------------------------------
def _margin_exprs(st: Statement) -> tuple[sp.Expr, ...]:
    """Each side condition as an expression that is >= 0 exactly when it holds."""
    import sympy as sp

    out = []
    for rel in st.side_conditions:
        if isinstance(rel, (sp.GreaterThan, sp.StrictGreaterThan)):
            out.append(rel.lhs - rel.rhs)
        elif isinstance(rel, (sp.LessThan, sp.StrictLessThan)):
            out.append(rel.rhs - rel.lhs)
        else:  # pragma: no cover
            raise NotImplementedError(rel)
    return tuple(out)


@lru_cache(maxsize=None)
def _margins(result_id: str) -> tuple[_Compiled, ...]:
    def make() -> tuple[list[dict[str, Any]], list[tuple[Callable, str]]]:
        from . import symbols as Sy
        from .results import get

        st = get(result_id)
        if not st.side_conditions or Sy.T not in set().union(*(r.free_symbols for r in st.side_conditions)):
            raise ValueError(
                f"result {result_id!r} has no condition on the pair (T, d_1..d_T); "
                "use 'picky-explicit' or 'picky-explicit-sharp'"
            )
        datas, fns = [], []
        for m in _margin_exprs(st):
            data, pair = _lambdify(st, m)
            datas.append(data)
            fns.extend(pair)
        return datas, fns

    datas, fns = lambdified(f"margins:{result_id}", make)
    return tuple(_from_data(d, fns[2 * i], fns[2 * i + 1]) for i, d in enumerate(datas))


def condition_holds(result_id: str, /, *, T: Any, sum_delays: Any, convention: str = "norm", **params: Any) -> Any:
    """Whether the statement's side conditions hold for horizon T and S = sum_{t<=T} d_t."""
    _convert_eps(params, convention)
    params = dict(params, T=T, sum_delays=sum_delays)
    ok: Any = True
    for comp in _margins(result_id):
        m = _call(comp, result_id, params, None)
        ok = np.logical_and(ok, np.asarray(m) >= 0)
    return bool(ok) if np.ndim(ok) == 0 else ok


def first_horizon(
    delays: _ArrayLike | DelaysLike,
    /,
    *,
    result: str = "picky-explicit-sharp",
    convention: str = "norm",
    **params: Any,
) -> int | None:
    """The first horizon T (a number of steps, 1 <= T <= len(delays)) at which the statement's
    condition holds for the prefix d_1..d_T, or ``None`` if it never holds within the sequence.
    ``delays``: a sequence of integers or an object with a ``.delays`` array (a
    ``verify.models.delays.DelaySequence``, :class:`theory.validation.DelaysLike`).

    Theorem D/D' (theorem-d-review.md §7.3): the condition is on the pair (T, d_1..d_T) and is not
    monotone in T, but the conclusion is; so the guarantee applies from this first T on.
    """
    d = validate_delays(delays)
    if d.size == 0:
        return None
    _convert_eps(params, convention)
    Ts = np.arange(1, d.size + 1, dtype=float)
    Ss = np.cumsum(d, dtype=np.float64)
    ok = np.asarray(condition_holds(result, T=Ts, sum_delays=Ss, **params))
    if not ok.any():
        return None
    return int(np.argmax(ok)) + 1


# --------------------------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _crossover(picky: str, baseline: str) -> tuple[_Compiled, float, float]:
    """The crossover tau_max as a function of the two constants C_a, C_b (and the parameters),
    with the two statements' default constants (1 when a statement has none)."""

    def make() -> tuple[dict[str, Any], list[tuple[Callable, str]]]:
        return _crossover_make(picky, baseline)

    data, (scalar, vector) = lambdified(f"crossover:{picky}:{baseline}", make)
    return _Compiled(tuple(data["names"]), scalar, vector), data["C_a"], data["C_b"]


def _crossover_make(picky: str, baseline: str) -> tuple[dict[str, Any], list[tuple[Callable, str]]]:
    import sympy as sp

    from . import symbols as Sy
    from .results import get

    sp_, sb = get(picky), get(baseline)
    cp = sp.Symbol("C_a", positive=True)
    cb = sp.Symbol("C_b", positive=True)
    ep = sp_.bound.subs(sp_.constant.symbol, cp) if sp_.constant else sp_.bound
    eb = sb.bound.subs(sb.constant.symbol, cb) if sb.constant else sb.bound
    if Sy.tau_max not in eb.free_symbols or Sy.tau_max in ep.free_symbols:
        raise ValueError(f"crossover needs a tau_max-bound baseline and a tau_max-free contender; got {picky}, {baseline}")
    sols = sp.solve(sp.Eq(ep, eb), Sy.tau_max)
    if len(sols) != 1:
        raise NotImplementedError(f"no unique crossover between {picky} and {baseline}: {sols}")
    expr = sp.Max(0, sp.simplify(sols[0]))
    names_map = {cp: "C_a", cb: "C_b"}
    syms = sorted(expr.free_symbols, key=lambda s: names_map.get(s, Sy.NAMES.get(s, str(s))))
    names = [names_map.get(s, Sy.NAMES.get(s)) for s in syms]
    data = {"names": names,
            "C_a": float(sp_.constant.default) if sp_.constant else None,
            "C_b": float(sb.constant.default) if sb.constant else None}
    return data, [(sp.lambdify(syms, expr, "math"), "math"), (sp.lambdify(syms, expr, "numpy"), "numpy")]


def crossover_tau_max(
    *,
    picky: str = "picky",
    baseline: str = "delayed-sgd",
    C_picky: float | None = None,
    C_baseline: float | None = None,
    convention: str = "norm",
    **params: Any,
) -> Any:
    """The smallest tau_max >= 0 at which ``picky``'s bound (in tau_avg) is <= ``baseline``'s (in
    tau_max): solved symbolically from the two bounds. Divide by tau_avg for the tau_max/tau_avg
    ratio. With equal constants and the rate forms, the crossover is tau_max = tau_avg (ratio 1)."""
    _convert_eps(params, convention)
    comp, ca, cb = _crossover(picky, baseline)
    vals = dict(params)
    vals["C_a"] = (ca if C_picky is None else C_picky) if ca is not None else 1.0
    vals["C_b"] = (cb if C_baseline is None else C_baseline) if cb is not None else 1.0
    args = []
    for n in comp.names:
        if n not in vals:
            raise ValueError(f"crossover_tau_max needs parameter {n}")
        args.append(check("C" if n in ("C_a", "C_b") else n, vals[n]))
    if any(isinstance(a, np.ndarray) for a in args):
        arrays = np.broadcast_arrays(*[np.asarray(a, float) for a in args])
        return np.asarray(comp.vector(*arrays), dtype=float)
    return float(comp.scalar(*args))


def crossover_ratio(**kwargs: Any) -> Any:
    """tau_max/tau_avg at the crossover of :func:`crossover_tau_max` (same arguments; tau_avg > 0):
    Picky's bound is below the baseline's once the delays are this skewed."""
    ta = kwargs.get("tau_avg")
    if ta is None:
        raise ValueError("crossover_ratio needs parameter tau_avg")
    t = check("tau_avg", ta)
    if np.any(np.asarray(t) == 0):
        raise ValueError("crossover_ratio needs tau_avg > 0 (the ratio tau_max/tau_avg is undefined at 0); use crossover_tau_max")
    return crossover_tau_max(**kwargs) / t


@lru_cache(maxsize=None)
def _stability() -> _Compiled:
    def make() -> tuple[dict[str, Any], list[tuple[Callable, str]]]:
        from .results import get

        st = get("delayed-sgd")
        return _lambdify(st, st.aux["stability_threshold"])

    return _cached("stability", make)


def stability_threshold(tau: Any) -> Any:
    """a*(tau) = 2 sin(pi/(2(2 tau + 1))): delayed GD with constant delay tau on f = (beta/2) x^2
    is asymptotically stable iff 0 < eta*beta < a*(tau) (dimensionless; DERIVED, related.md §2)."""
    if isinstance(tau, (np.ndarray, list, tuple)):
        t = np.asarray(tau)
        if not np.issubdtype(t.dtype, np.integer) and not np.all(t == np.floor(t)):
            raise ValueError(f"tau must be a nonnegative integer delay; got {tau!r}")
        if np.any(t < 0):
            raise ValueError(f"tau must be a nonnegative integer delay; got {tau!r}")
        return np.asarray(_stability().vector(t.astype(float)), dtype=float)
    if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or tau < 0:
        raise ValueError(f"tau must be a nonnegative integer delay; got {tau!r}")
    return float(_stability().scalar(float(tau)))


def max_stable_delay(eta: float, beta: float) -> int | None:
    """The largest constant delay tau for which delayed GD with step eta is stable on
    f = (beta/2) x^2, i.e. eta*beta < a*(tau); None if eta*beta >= 2 (unstable even without
    delay). a*(tau) decreases in tau, so this is a search over tau."""
    a = check("eta", eta) * check("beta", beta)
    if not a < 2.0:
        return None
    # a*(tau) ~ pi/(2 tau): start near the root and walk
    tau = max(0, int(math.pi / (2 * a)) - 2)
    while tau > 0 and not a < stability_threshold(tau):
        tau -= 1
    while a < stability_threshold(tau + 1):
        tau += 1
    return tau


@lru_cache(maxsize=None)
def _facts() -> tuple[dict[str, Any], ...]:
    """What :func:`compare` and :func:`check_constants` read of every statement (ids, titles, labels,
    parameters, which expressions exist, the unknown constant), in registry order: read from the
    statements, cached on disk with the lambdified forms."""

    def make() -> tuple[list[dict[str, Any]], list]:
        from .results import RESULTS

        facts = []
        for st in RESULTS.values():
            c = st.constant
            facts.append({
                "id": st.id, "title": st.title, "guarantee": st.guarantee, "status": st.status.value, "kind": st.kind.value,
                "source_convention": st.source_convention.value, "parameters": list(st.parameters),
                "has_step_size": st.step_size is not None, "has_threshold": st.threshold is not None,
                "has_restarts": st.restarts is not None,
                "success_probability": None if st.success_probability is None else float(st.success_probability),
                "constant": None if c is None else {"symbol": str(c.symbol), "default": float(c.default),
                                                    "status": c.status.value, "meaning": c.meaning},
            })
        return facts, []

    return tuple(lambdified("facts", make)[0])


def about(result_id: str) -> dict[str, Any]:
    """A statement's facts as plain data (id, title, guarantee, status, kind, source_convention,
    parameters, success_probability, constant, and which of step size, threshold, restarts it
    has), without building the statements when the on-disk cache is warm; ValueError for an
    unknown id. The statement itself: :func:`theory.get`."""
    for f in _facts():
        if f["id"] == result_id:
            return dict(f)
    from .results import get

    get(result_id)  # raises ValueError naming the ids
    raise AssertionError(result_id)  # pragma: no cover


def check_constants(constants: dict[str, Any]) -> dict[str, float]:
    """Validate user-set constants {result id: C}: the id must name a result with an unknown
    constant, and C must be a finite real > 0; ValueError naming the result otherwise."""
    facts = {f["id"]: f for f in _facts()}
    with_c = [r for r, f in facts.items() if f["constant"] is not None]
    out = {}
    for rid, value in constants.items():
        if rid not in facts:
            raise ValueError(f"unknown result {rid!r}; results with an unknown constant C: {', '.join(with_c)}")
        if facts[rid]["constant"] is None:
            raise ValueError(f"result {rid!r} has no unknown constant (its constants are explicit); "
                             f"results with one: {', '.join(with_c)}")
        try:
            out[rid] = check("C", value)
        except ValueError as exc:
            raise ValueError(f"the constant C of {rid!r}: {exc}") from None
    return out


def horizon(iterations: float) -> float:
    """The integer horizon a real-valued bound asks for: ceil, and at least one step (inf stays inf)."""
    return iterations if math.isinf(iterations) else float(max(1, math.ceil(iterations)))


def compare(
    *,
    beta: float,
    F: float,
    eps: float,
    sigma: float = 0.0,
    tau_avg: float | None = None,
    tau_max: float | None = None,
    workers: int | None = None,
    q: float | None = None,
    tau_q: float | None = None,
    delta: float | None = None,
    convention: str = "norm",
    constants: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One row per iteration-bound statement for one parameter set (used by ``picky bounds``).

    Each row: id, title, status, kind, convention, applicable, missing (parameters needed but not
    given), iterations, restarts and iterations_with_restarts (when delta is given and the result
    has a constant success probability), step_size, threshold, success_probability, constant
    (name, value, status), delay_parameters (what was substituted), notes, out_of_range ({quantity:
    exact value} for every number beyond float64's range, whose float is inf or 0: see
    :class:`RangeWarning`; the note says it too).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}")
    base: dict[str, Any] = {"beta": beta, "F": F, "eps": eps, "sigma": sigma}
    for name, v in (("tau_avg", tau_avg), ("tau_max", tau_max), ("q", q), ("tau_q", tau_q)):
        if v is not None:
            base[name] = v
    for k, v in base.items():
        check(k, v)
    if workers is not None:
        check("workers", workers)
    if tau_avg is not None and tau_max is not None and tau_avg > tau_max:
        raise ValueError(f"tau_avg must be <= tau_max (an average cannot exceed the maximum); got tau_avg={tau_avg}, tau_max={tau_max}")
    if (q is None) != (tau_q is None):
        raise ValueError("q and tau_q must be given together (the q-quantile of the delays is tau_q)")
    k = restarts(delta) if delta is not None else None
    constants = dict(constants or {})
    check_constants(constants)

    rows = []
    for st in _facts():
        if st["kind"] == "count":
            continue
        sid = st["id"]
        params = dict(base)
        subst: dict[str, Any] = {}
        note = ""
        if "tau_C" in st["parameters"]:
            if workers is not None:
                params["tau_C"] = float(workers)
                subst["tau_C"] = f"workers = {workers}"
            elif tau_avg is not None and sid == "delay-adaptive":
                params["tau_C"] = tau_avg
                subst["tau_C"] = "tau_avg (KSJ Cor. 9, constant concurrency)"
        missing = [p for p in st["parameters"] if p not in params]
        C = constants.get(sid)
        row: dict[str, Any] = {
            "id": sid,
            "title": st["title"],
            "status": st["status"],
            "kind": st["kind"],
            "convention": convention,
            "source_convention": st["source_convention"],
            "applicable": not missing,
            "missing": missing,
            "iterations": None,
            "steps": None,
            "restarts": None,
            "iterations_with_restarts": None,
            "step_size": None,
            "threshold": None,
            "success_probability": st["success_probability"],
            "constant": None,
            "delay_parameters": subst,
            "notes": note,
        }
        const = st["constant"]
        if const is not None:
            row["constant"] = {
                "name": "C",
                "symbol": const["symbol"],
                "value": float(const["default"] if C is None else C),
                "status": const["status"] if C is None else "user",
                "meaning": const["meaning"] if C is None else "set by the user",
            }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RangeWarning)
            _fill_row(row, st, params, missing, convention, C, k)
        ranged = [w.message for w in caught if isinstance(w.message, RangeWarning)]
        for w in caught:  # anything else goes on as it came
            if not isinstance(w.message, RangeWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        row["out_of_range"] = {m.quantity: m.exact for m in ranged}
        if ranged:
            row["notes"] = "; ".join(
                [row["notes"]] * bool(row["notes"])
                + [f"{m.quantity} = {m.exact} is beyond float64's range (returned {m.returned!r})" for m in ranged])
        rows.append(row)
    return rows


def _fill_row(row: dict[str, Any], st: dict[str, Any], params: dict[str, Any], missing: list[str], convention: str,
              C: Any, k: int | None) -> None:
    """compare()'s numbers for one statement (its facts, :func:`about`): iterations, steps, step size,
    threshold, restarts."""
    sid = st["id"]
    if not missing:
        p = {k2: params[k2] for k2 in st["parameters"]}
        row["iterations"] = iterations(sid, convention=convention, C=C, **p)
        row["steps"] = horizon(row["iterations"])
        if st["has_step_size"]:
            row["step_size"] = step_size(sid, convention=convention, **{n: params[n] for n in _compiled(sid, "step_size").names})
        if st["has_threshold"]:
            row["threshold"] = threshold(sid, convention=convention, **{n: params[n] for n in _compiled(sid, "threshold").names})
        if k is not None and st["has_restarts"]:
            row["restarts"] = k
            row["iterations_with_restarts"] = k * row["iterations"]
    else:
        if st["has_step_size"] and all(n in params for n in _compiled(sid, "step_size").names):
            row["step_size"] = step_size(sid, convention=convention, **{n: params[n] for n in _compiled(sid, "step_size").names})
        if st["has_threshold"] and all(n in params for n in _compiled(sid, "threshold").names):
            row["threshold"] = threshold(sid, convention=convention, **{n: params[n] for n in _compiled(sid, "threshold").names})
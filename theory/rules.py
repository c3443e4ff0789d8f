"""Every algorithm's per-step rule, written once as SymPy.

At step t the server holds x_t and receives a stochastic gradient computed at the stale iterate
y_t = x_{t-d_t}. An :class:`UpdateRule` says what the algorithm does with it:

* ``accept`` -- a SymPy Boolean in ``dist`` = ||x_t - y_t|| (Euclidean) and ``d`` = d_t: the
  gradient is applied iff it holds (x_{t+1} = x_t - eta_t g_t), otherwise x_{t+1} = x_t;
* ``step`` -- eta_t, a SymPy expression in ``d`` and the rule's parameters;
* ``parameters`` -- each with its default: a SymPy expression in the problem constants (beta, F),
  the target eps, the noise level sigma and the statistics of the delay sequence (tau_avg,
  tau_max, and ``concurrency``: the largest number of gradients in flight at one step), and
  possibly in earlier parameters;
* ``uses_delays`` -- False for plain SGD, which sees d_t = 0 whatever the sequence says.

``verify.algorithms`` compiles these expressions (``sympy.lambdify``, then numba) into the
functions that the reference loop, the compiled engine, the adaptive adversaries and the
asynchronous server all call: nothing downstream retypes a rule.

Provenance: each rule and each default carries its label (see ``paper_notes.md``); defaults marked
"choice made here" are this package's, not a source's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sympy as sp

from .results import ETA_D, RHO_D, get
from .statement import Status
from .symbols import NAMES, F, beta, concurrency, eps, sigma, tau_avg, tau_max

__all__ = ["UpdateRule", "Parameter", "RULES", "get_rule", "decide_function", "default_value", "needs", "dist", "d", "eta", "rho", "R", "tau_C",
           "user_rule", "parse_user_expr", "decide_lambdified", "default_lambdified"]

#: ||x_t - x_{t-d_t}||, the distance between the current and the stale iterate
dist = sp.Symbol("dist", nonnegative=True)
#: d_t, the delay of the gradient applied at step t (an integer, 0 <= d_t <= t-1)
d = sp.Symbol("d_t", nonnegative=True, integer=True)
eta = sp.Symbol("eta", positive=True)
rho = sp.Symbol("rho", positive=True)
R = sp.Symbol("R", positive=True, integer=True)
tau_C = sp.Symbol("tau_C", nonnegative=True)

#: the quantities a default may depend on (the problem, the target and the delay statistics)
CONTEXT = (beta, F, eps, sigma, tau_avg, tau_max, concurrency)


@dataclass(frozen=True)
class Parameter:
    """A parameter of a rule: its symbol, its default (an expression in :data:`CONTEXT` and earlier
    parameters) and where that default comes from."""

    symbol: sp.Symbol
    default: sp.Expr
    source: str
    status: Status

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass(frozen=True)
class UpdateRule:
    """One algorithm's rule (see the module docstring). ``inputs``: the symbols a compiled rule
    takes besides (dist, d), in order -- the parameters, then the context symbols the rule itself
    uses (e.g. beta in the KSJ step cap)."""

    id: str
    algorithm: str
    title: str
    citation: str
    status: Status
    parameters: tuple[Parameter, ...]
    accept: sp.Basic
    step: sp.Expr
    uses_delays: bool = True
    notes: str = ""

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        own = tuple(p.symbol for p in self.parameters)
        used = (sp.sympify(self.accept).free_symbols | sp.sympify(self.step).free_symbols) - {dist, d, *own}
        extra = tuple(s for s in CONTEXT if s in used)
        unknown = used - set(extra)
        if unknown:  # pragma: no cover - programming error in a rule below
            raise RuntimeError(f"rule {self.id}: symbols {unknown} are neither parameters nor context")
        return own + extra

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise ValueError(f"rule {self.id!r} has no parameter {name!r}; it has {[p.name for p in self.parameters]}")


_DSGD_STEP = get("delayed-sgd").step_size  # in tau_max

RULES: dict[str, UpdateRule] = {}


def _add(rule: UpdateRule) -> None:
    if rule.id in RULES:  # pragma: no cover - programming error
        raise RuntimeError(f"duplicate rule id {rule.id}")
    RULES[rule.id] = rule


_add(UpdateRule(
    id="picky",
    algorithm="picky",
    title="Picky SGD (Algorithm 1): apply the stale gradient only if x_t is still within rho of x_{t-d_t}",
    citation="paper.md §3.2 (filter-and-skip structure CONFIRMED; the test is '<=')",
    status=Status.SECONDARY,
    parameters=(
        Parameter(eta, ETA_D, "theory picky-explicit step_size (Theorem D, derived)", Status.DERIVED),
        Parameter(rho, RHO_D, "theory picky-explicit threshold eps/(2 beta) (Theorem D; paper value UNCONFIRMED)",
                  Status.DERIVED),
    ),
    accept=sp.Le(dist, rho),
    step=eta,
))

_add(UpdateRule(
    id="delayed-sgd",
    algorithm="delayed-sgd",
    title="Delayed SGD: apply every stale gradient with a constant step",
    citation="Stich-Karimireddy 2020 (the max-delay rate; see theory delayed-sgd)",
    status=Status.SECONDARY,
    parameters=(
        Parameter(eta, _DSGD_STEP, "theory delayed-sgd step_size at the sequence's tau_max (choice made here)",
                  Status.UNCONFIRMED),
    ),
    accept=sp.true,
    step=eta,
))

_DA_STEP = get("delay-adaptive").step_size


def _delay_adaptive_parameters(eta_source: str) -> tuple[Parameter, Parameter]:
    """tau_C and eta of both delay-adaptive rules (the same defaults; only eta's provenance differs)."""
    return (  # tau_C first: eta's default is in tau_C (a tau_C given by the user sets eta's default too)
        Parameter(tau_C, concurrency,
                  "the sequence's maximum concurrency: KSJ 2022 Definition 1 (verbatim in the digest) defines "
                  "tau_C = max_t |C_t|, C_t the active workers at step t (= n when all n workers are busy), and "
                  "Theorem 8's rule keeps eta for delays <= tau_C; measured here (derived: the package's reading "
                  "for a delay sequence) as the largest number of gradients in flight at one step, "
                  "max_t #{u >= t : u - d_u <= t}", Status.DERIVED),
        Parameter(eta, _DA_STEP, eta_source, Status.UNCONFIRMED),
    )


_add(UpdateRule(
    id="delay-adaptive-ksj",
    algorithm="delay-adaptive",
    title="Delay-adaptive SGD, KSJ rule: eta_t = eta if d_t <= tau_C, else min{eta, 1/(4 beta d_t)}",
    citation="Koloskova-Stich-Jaggi 2022, Theorem 8 (step caps 1/(4 beta), 1/(4 beta tau_t) CONFIRMED)",
    status=Status.RATE_ONLY,
    parameters=_delay_adaptive_parameters("theory delay-adaptive step_size: 1/(4 beta tau_C) with Theorem D's noise "
                                          "caps (choice made here: KSJ's 1/(4 beta) alone is unstable from tau_C = 6)"),
    accept=sp.true,
    step=sp.Piecewise((eta, d <= tau_C), (sp.Min(eta, 1 / (4 * beta * d)), True)),
))

_add(UpdateRule(
    id="delay-adaptive-mishchenko",
    algorithm="delay-adaptive",
    title="Delay-adaptive SGD, Mishchenko et al.'s rule: eta_t = eta if d_t <= tau_C, else eta tau_C/d_t",
    citation=("Mishchenko, Bach, Even, Woodworth 2022; their public code konstmish/asynchronous_sgd, code.ipynb: "
              "lr * n / max(n, delay)"),
    status=Status.SECONDARY,
    parameters=_delay_adaptive_parameters("theory delay-adaptive step_size (choice made here)"),
    accept=sp.true,
    step=sp.Piecewise((eta, d <= tau_C), (eta * tau_C / d, True)),
))

_add(UpdateRule(
    id="stale-drop",
    algorithm="stale-drop",
    title="Stale-drop SGD: ignore gradients with delay >= R (Ringmaster ASGD's idea)",
    citation="Maranjyan et al., Ringmaster ASGD, ICML 2025 (drop delay >= R: SECONDARY; related.md §9)",
    status=Status.SECONDARY,
    parameters=(
        Parameter(R, sp.ceiling(2 * tau_avg) + 1,
                  "ceil(2 tau_avg) + 1 (choice made here: by Markov's inequality fewer than half the gradients are dropped)",
                  Status.DERIVED),
        Parameter(eta, _DSGD_STEP.subs(tau_max, R - 1), "theory delayed-sgd step_size at tau_max = R - 1 (choice made here)",
                  Status.UNCONFIRMED),
    ),
    accept=sp.Lt(d, R),
    step=eta,
))

_add(UpdateRule(
    id="sgd",
    algorithm="sgd",
    title="SGD without delays (d_t = 0 whatever the sequence says)",
    citation="Ghadimi-Lan 2013 (theory sgd)",
    status=Status.DERIVED,
    parameters=(Parameter(eta, get("sgd").step_size, "theory sgd step_size (Ghadimi-Lan's gamma)", Status.DERIVED),),
    accept=sp.true,
    step=eta,
    uses_delays=False,
))


def get_rule(rule_id: str) -> UpdateRule:
    """The rule with this id; ValueError listing the ids otherwise."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise ValueError(f"rule id must be one of {sorted(RULES)}; got {rule_id!r}") from None


# --------------------------------------------------------------------------------------------
# numeric forms (lambdified; cached on disk and served by theory.rulefns; verify compiles decide_function with numba)
# --------------------------------------------------------------------------------------------
_P = sp.IndexedBase("p")


def _decide_lambdified(rule_id: str) -> Callable[[Any, float, int], tuple[bool, float]]:
    """The rule's accept test and step size lambdified into ``decide(p, dist, d)`` (math module), with
    ``p[i]`` the value of ``inputs[i]``; used (and cached on disk) by :func:`theory.rulefns.decide_function`."""
    return decide_lambdified(get_rule(rule_id))


def _default_lambdified(rule_id: str, name: str) -> tuple[tuple[str, ...], Callable[..., float]]:
    """The default of parameter ``name`` lambdified (math module), with its argument names."""
    return default_lambdified(get_rule(rule_id).parameter(name))


# the numeric forms, loadable without SymPy (cached on disk): one implementation, in theory.rulefns
from .rulefns import decide_function, default_value, needs  # noqa: E402


# --------------------------------------------------------------------------------------------
# user-defined rules: the same UpdateRule, parsed from text over a whitelist of symbols
# --------------------------------------------------------------------------------------------
#: the functions a user rule may call (SymPy's; ``Piecewise((a, cond), (b, True))`` for cases)
USER_FUNCTIONS: dict[str, Any] = {
    "Min": sp.Min, "Max": sp.Max, "min": sp.Min, "max": sp.Max, "sqrt": sp.sqrt, "log": sp.log, "exp": sp.exp,
    "Abs": sp.Abs, "abs": sp.Abs, "ceiling": sp.ceiling, "floor": sp.floor, "Piecewise": sp.Piecewise,
    "And": sp.And, "Or": sp.Or, "Not": sp.Not, "Le": sp.Le, "Lt": sp.Lt, "Ge": sp.Ge, "Gt": sp.Gt,
    "Eq": sp.Eq, "Ne": sp.Ne, "true": sp.true, "false": sp.false, "True": sp.true, "False": sp.false,
    "pi": sp.pi, "E": sp.E,
}
#: the quantities a user rule's accept test and step may read besides its parameters (the
#: algorithm object holds them: eps, sigma, beta; ``d`` is an alias of ``d_t``)
USER_RULE_CONTEXT: dict[str, sp.Symbol] = {"beta": beta, "eps": eps, "sigma": sigma}
#: the quantities a user rule's defaults may read besides earlier parameters
USER_DEFAULT_CONTEXT: dict[str, sp.Symbol] = {"beta": beta, "F": F, "eps": eps, "sigma": sigma, "tau_avg": tau_avg,
                                              "tau_max": tau_max, "concurrency": concurrency}
#: theory's symbols for the parameters of the built-in rules (a user parameter of that name is that symbol)
_KNOWN_PARAMETERS: dict[str, sp.Symbol] = {"eta": eta, "rho": rho, "R": R, "tau_C": tau_C}
_RESERVED = {"dist", "d", "d_t", "source", "name", "params", "rule", *USER_DEFAULT_CONTEXT, *USER_FUNCTIONS}


def parse_user_expr(text: Any, allowed: dict[str, sp.Basic], what: str) -> sp.Basic:
    """``text`` (a string parsed by ``sympy.parse_expr``, or a SymPy expression) as SymPy over the
    names in ``allowed`` and :data:`USER_FUNCTIONS` only; ValueError (one line) naming the first
    unknown symbol and the allowed ones. ``a <= b`` and friends are comparisons; ``&``, ``|``, ``~``
    combine them."""
    names = ", ".join(sorted(allowed))
    if isinstance(text, sp.Basic):
        expr = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        expr = sp.sympify(text)
    elif isinstance(text, str) and text.strip():
        from sympy.parsing.sympy_parser import parse_expr, standard_transformations

        src = " ".join(text.split())
        local = dict(USER_FUNCTIONS)
        local.update(allowed)
        # every other name becomes a plain Symbol (found below, and named in the error)
        try:
            expr = parse_expr(src, local_dict=local, global_dict={"Integer": sp.Integer, "Float": sp.Float,
                                                                   "Rational": sp.Rational, "Symbol": sp.Symbol,
                                                                   "Function": sp.Function, "__builtins__": {}},
                              transformations=standard_transformations, evaluate=True)
        except Exception as e:  # noqa: BLE001 - SyntaxError, TypeError, TokenError ...: one line
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ValueError(f"{what} {text!r} is not an expression ({type(e).__name__}: {msg}); "
                             f"allowed symbols: {names}") from None
    else:
        raise ValueError(f"{what} must be a non-empty string or a SymPy expression; got {text!r}")
    if not isinstance(expr, sp.Basic):
        raise ValueError(f"{what} {text!r} is not a SymPy expression (got {type(expr).__name__}); allowed symbols: {names}")
    from sympy.core.function import AppliedUndef

    undefined = sorted({type(f).__name__ for f in expr.atoms(AppliedUndef)})
    if undefined:
        raise ValueError(f"{what} {text!r}: unknown function {undefined[0]!r}; allowed symbols: {names}; functions: "
                         f"{', '.join(sorted(USER_FUNCTIONS))}")
    known = set(allowed.values())
    unknown = sorted((s for s in expr.free_symbols if s not in known), key=lambda s: s.name)
    if unknown:
        raise ValueError(f"{what} {text!r}: unknown symbol {unknown[0].name!r}; allowed symbols: {names}")
    return expr


def user_rule(rule_id: str, accept: Any, step: Any, params: dict[str, Any] | None = None, *,
              title: str = "") -> UpdateRule:
    """An :class:`UpdateRule` from a user's expressions (status UNCONFIRMED: nobody's theorem).

    ``accept``: a Boolean in ``dist`` = ||x_t - x_{t-d_t}||, ``d_t`` (or ``d``), the parameters and
    beta, eps, sigma; ``step``: eta_t in the same names but ``dist``; ``params``: name -> default, in
    order, each an expression in beta, F, eps, sigma, tau_avg, tau_max, concurrency and the earlier parameters.
    A parameter named eta, rho, R or tau_C is theory's symbol of that name (so a user rule equal to a
    built-in is the same SymPy). ValueError (one line) on anything else."""
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ValueError(f"a user rule needs a name; got {rule_id!r}")
    params = dict(params or {})
    syms: dict[str, sp.Symbol] = {}
    pars: list[Parameter] = []
    for name, default in params.items():
        if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED or name.startswith("_"):
            raise ValueError(f"rule {rule_id!r}: parameter name {name!r} must be an identifier other than "
                             f"{', '.join(sorted(_RESERVED))}")
        sym = _KNOWN_PARAMETERS.get(name, sp.Symbol(name, real=True))
        allowed = {**USER_DEFAULT_CONTEXT, **syms}
        expr = parse_user_expr(default, allowed, f"rule {rule_id!r}: the default of {name}")
        pars.append(Parameter(sym, sp.sympify(expr), f"user rule {rule_id}: {name} = {default if isinstance(default, str) else expr}", Status.UNCONFIRMED))
        syms[name] = sym
    acc = parse_user_expr(accept, {"dist": dist, "d_t": d, "d": d, **USER_RULE_CONTEXT, **syms},
                          f"rule {rule_id!r}: accept")
    if acc is True or acc is False:
        acc = sp.true if acc else sp.false
    if isinstance(acc, sp.Expr) or not isinstance(acc, sp.logic.boolalg.Boolean):
        raise ValueError(f"rule {rule_id!r}: accept {accept!r} must be a condition (e.g. 'dist <= rho'); got {acc}")
    stp = parse_user_expr(step, {"d_t": d, "d": d, **USER_RULE_CONTEXT, **syms}, f"rule {rule_id!r}: step")
    if not isinstance(stp, sp.Expr):
        raise ValueError(f"rule {rule_id!r}: step {step!r} must be a number expression (e.g. 'eta'); got a condition")
    return UpdateRule(id=rule_id, algorithm=rule_id, title=title or f"user rule {rule_id}: accept iff {acc}; eta_t = {stp}",
                      citation="user-defined", status=Status.UNCONFIRMED, parameters=tuple(pars), accept=acc, step=stp,
                      uses_delays=True)


def decide_lambdified(rule: UpdateRule) -> Callable[[Any, float, int], tuple[bool, float]]:
    """``decide(p, dist, d) -> (accept, eta_t)``: the rule's accept test and step size lambdified
    (math module), with ``p[i]`` the value of ``rule.inputs[i]`` (every rule, built-in or user)."""
    sub = {s: _P[i] for i, s in enumerate(rule.inputs)}
    acc = sp.sympify(rule.accept).subs(sub)
    step = sp.sympify(rule.step).subs(sub)
    return sp.lambdify((_P, dist, d), (acc, step), modules="math", docstring_limit=0)


def default_lambdified(par: Parameter) -> tuple[tuple[str, ...], Callable[..., float]]:
    """A parameter's default lambdified (math module), with its argument names (``NAMES``)."""
    syms = sorted(par.default.free_symbols, key=lambda s: s.name)
    names = tuple(NAMES.get(s, s.name) for s in syms)
    return names, sp.lambdify(syms, par.default, modules="math")

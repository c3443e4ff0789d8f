"""Your own rules: an algorithm defined from SymPy expressions, run everywhere a built-in runs.

>>> from verify import algorithms
>>> Picky2 = algorithms.define("picky-2rho", accept="dist <= 2*rho", step="eta",
...                            params={"eta": "1/(9*beta)", "rho": "eps/(2*beta)"})
>>> alg = algorithms.resolve("picky-2rho", beta=1.0, F=1.0, eps=0.1, sigma=0.0)
>>> alg.rho, alg.decide(0.1, 3)        # 0.1 <= 2 rho = 0.1: accepted
(0.05, (True, 0.1111111111111111))

``accept`` is a condition in ``dist`` = ||x_t - x_{t-d_t}||, ``d_t`` (or ``d``), the parameters and
beta, eps, sigma; ``step`` is eta_t in the same names but ``dist``; ``params`` maps each parameter
name to its default, in order: an expression in beta, F, eps, sigma, tau_avg, tau_max (the delay
sequence's statistics) and the earlier parameters. Strings are parsed by ``sympy.parse_expr`` over
that whitelist (and Min, Max, sqrt, log, exp, Abs, ceiling, floor, Piecewise, And, Or, Not); SymPy
expressions over :mod:`theory.rules`' symbols are taken as they are. Anything else is a one-line
ValueError naming the unknown symbol and the allowed ones. The rule itself is a
:class:`theory.rules.UpdateRule` (:func:`theory.rules.user_rule`), lambdified exactly like the
built-ins'.

Where it runs. The reference loop calls the lambdified ``decide`` in Python (as for a built-in).
The compiled kernel must not fall back to Python, and numba compiles the rule dispatch
(``decide_any``) into the kernel: so :func:`kernel` builds a new dispatch over the built-ins *and*
every registered user rule (the user's decide compiled by numba, inlined like a built-in's) and
recompiles ``run_lane`` from its Python function with that dispatch in its globals. Design choice:
this keeps one kernel source (no copy of the loop to drift), keeps built-in-only runs on the
disk-cached kernel, unchanged in code and bits, and costs one compilation (~20-60 s) per set of user
rules per process; the recompiled kernel is cached in memory, keyed by the rules' content, and not on
disk (numba's disk cache keys a function by its file and bytecode, which the copy shares with the
built-in kernel). A user rule's code is ``len(RULE_IDS) + its index`` in the registry.

Limits: user classes live in this process (a process pool cannot unpickle them; threads are fine);
redefining a name replaces the rule (objects of the old definition then refuse to run).
"""
from __future__ import annotations

import types
from dataclasses import make_dataclass
from typing import Any, Callable, Mapping

import numba

from theory.rulefns import evaluate_default

from ..params import Param
from .rules import DECIDE_JIT, RULE_IDS, Algorithm, ALGORITHMS

__all__ = ["define", "USER_RULES", "is_user", "kernel", "parse_rule_spec", "format_rule_spec", "with_accept"]

#: the user rules of this process, by name (in definition order: their codes follow the built-ins')
USER_RULES: dict[str, type[Algorithm]] = {}
_KERNELS: dict[tuple, Callable] = {}


class _UserFns:
    """The numeric forms of one user rule, with :mod:`theory.rulefns`' interface."""

    def __init__(self, rule: Any):
        from theory.rules import decide_lambdified, default_lambdified

        self.rule = rule
        self.decide = decide_lambdified(rule)
        self.defaults = {p.name: default_lambdified(p) for p in rule.parameters}
        self.param_names = tuple(p.name for p in rule.parameters)
        self.input_names = tuple(s.name if s.name != "epsilon" else "eps" for s in rule.inputs)
        self.key = (rule.id, tuple((p.name, str(p.default)) for p in rule.parameters), str(rule.accept), str(rule.step))
        self.jitted = numba.njit(nogil=True, inline="always")(self.decide)

    def parameters(self, rule_id: str) -> tuple[tuple[str, str], ...]:
        return tuple((p.name, p.source) for p in self.rule.parameters)

    def inputs(self, rule_id: str) -> tuple[str, ...]:
        return self.input_names

    def uses_delays(self, rule_id: str) -> bool:
        return True

    def decide_function(self, rule_id: str) -> Callable:
        return self.decide

    def needs(self, rule_id: str, name: str) -> tuple[str, ...]:
        return self.defaults[name][0]

    def default_value(self, rule_id: str, name: str, /, **values: float) -> float:
        names, fn = self.defaults[name]
        return evaluate_default(f"the default {name} of rule {rule_id!r}", names, fn, values,
                                unchecked=self.param_names)


def _param(sym: Any) -> Param:
    """The allowed range of a user parameter, from its symbol's assumptions (theory's eta, rho: > 0;
    R: an integer >= 1; tau_C: >= 0; a new name: any finite real)."""
    if sym.is_integer and sym.is_positive:
        return Param(int, None, low=1, doc="user parameter")
    if sym.is_positive:
        return Param(float, None, low=0.0, low_open=True, doc="user parameter")
    if sym.is_nonnegative:
        return Param(float, None, low=0.0, doc="user parameter")
    return Param(float, None, doc="user parameter")


def define(name: str, accept: Any, step: Any, params: Mapping[str, Any] | None = None, *,
           doc: str = "") -> type[Algorithm]:
    """Define (or redefine) the algorithm ``name`` from its accept condition, its step and its
    parameters' defaults (see the module docstring); returns its :class:`Algorithm` subclass, also
    reachable by name through :func:`verify.algorithms.resolve`. ValueError (one line) on a
    malformed expression, naming the symbol it does not know and the allowed ones."""
    from theory.rules import user_rule

    if not isinstance(name, str) or not name.strip() or any(c in name for c in ",:=\"' "):
        raise ValueError(f"a user rule's name must be a non-empty string without , : = quotes or spaces; got {name!r}")
    name = name.strip().lower()
    if name in ALGORITHMS:
        raise ValueError(f"rule name {name!r} is a built-in algorithm ({', '.join(ALGORITHMS)}); choose another")
    if params is not None and not isinstance(params, Mapping):
        raise ValueError(f"rule {name!r}: params must be a mapping name -> default expression; got {params!r}")
    rule = user_rule(name, accept, step, dict(params or {}), title=doc)
    fns = _UserFns(rule)
    old = USER_RULES.get(name)
    if old is not None and old._fns.key == fns.key:  # type: ignore[attr-defined]
        return old
    ps = {p.name: _param(p.symbol) for p in rule.parameters}
    cls = make_dataclass(
        "UserRule_" + "".join(c if c.isalnum() else "_" for c in name),
        [(n, int if p.kind is int else float) for n, p in ps.items()],
        bases=(Algorithm,), frozen=True, kw_only=True,
        namespace={"name": name, "params": ps, "_fns": fns, "code": property(_code),
                   "update_rule": property(lambda self: self._fns.rule),
                   "__doc__": doc or f"User rule {name}: accept iff {rule.accept}; eta_t = {rule.step}."},
    )
    cls.__module__ = __name__
    USER_RULES[name] = cls
    return cls


def _code(self: Algorithm) -> int:
    """Index of the rule in the user kernel's dispatch: after the built-ins, in definition order."""
    if USER_RULES.get(self.name) is not type(self):
        raise ValueError(f"user rule {self.name!r} was redefined; resolve the algorithm again")
    return len(RULE_IDS) + list(USER_RULES).index(self.name)


def is_user(alg: Any) -> bool:
    """Whether ``alg`` (an algorithm object or class) is a user rule."""
    cls = alg if isinstance(alg, type) else type(alg)
    return isinstance(getattr(cls, "_fns", None), _UserFns)


def kernel() -> Callable:
    """``run_lane`` compiled with a dispatch over the built-in rules and every user rule (module
    docstring: the design), cached in memory per set of user rules."""
    from ..engine import kernel as K
    from .._jit import jit, switch

    key = tuple(c._fns.key for c in USER_RULES.values())  # type: ignore[attr-defined]
    k = _KERNELS.get(key)
    if k is None:
        dec = switch("decide_any", [*DECIDE_JIT, *(c._fns.jitted for c in USER_RULES.values())],  # type: ignore[attr-defined]
                     "p, dist, d", "(False, 0.0)")
        py = K.run_lane.py_func
        g = dict(py.__globals__)
        g["decide_any"] = dec
        fn = types.FunctionType(py.__code__, g, "run_lane_user", py.__defaults__, py.__closure__)
        fn.__doc__ = py.__doc__
        k = _KERNELS[key] = jit(fn, cache=False)
    return k


def parse_rule_spec(spec: str) -> type[Algorithm]:
    """``NAME:accept=EXPR,step=EXPR[,param=default,...]`` (the spec grammar of
    :mod:`verify.io.specs`; quote an expression holding a comma: ``step="Min(eta, 1/d_t)"``) ->
    :func:`define`. Parameters are listed in order; each default is an expression."""
    from ..io.specs import parse_spec

    name, kv = parse_spec(spec, what="rule name")
    missing = [k for k in ("accept", "step") if k not in kv]
    if missing:
        raise ValueError(f"--rule {spec!r}: missing {' and '.join(missing)}; expected "
                         "NAME:accept=EXPR,step=EXPR[,param=default,...]")
    accept, step = kv.pop("accept"), kv.pop("step")
    return define(name, _text(accept), _text(step), {k: _text(v) for k, v in kv.items()})


def _text(v: Any) -> Any:
    """A spec value back to expression text (a bare number is parsed as a number by the grammar)."""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, list):
        raise ValueError(f"an expression holds ';': {v!r}")
    return v if isinstance(v, str) else repr(v)


def with_accept(algorithm: str, accept: Any, rule: str | None = None) -> type[Algorithm]:
    """The built-in ``algorithm`` (its step and its parameters' defaults from :mod:`theory.rules`;
    delay-adaptive's step ``rule``) with its accept test replaced by ``accept``: a user rule named
    ``ALGORITHM-accept-HASH`` (what ``picky hunt --accept`` runs)."""
    import hashlib

    import theory

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}; got {algorithm!r}")
    base = theory.get_rule(ALGORITHMS[algorithm]._rule_id_for({"rule": rule} if rule else {}))
    if not base.uses_delays:
        raise ValueError(f"--accept: {algorithm} sees d_t = 0 always; choose an algorithm with delays")
    text = accept if isinstance(accept, str) else str(accept)
    tag = hashlib.sha256(f"{base.id}|{text}".encode()).hexdigest()[:8]
    return define(f"{algorithm}-accept-{tag}", accept, base.step, {p.name: p.default for p in base.parameters},
                  doc=f"{base.id} with accept iff {text}")


def format_rule_spec(cls: type[Algorithm]) -> str:
    """The ``--user-rule`` spec that defines ``cls`` again (inverse of :func:`parse_rule_spec`)."""
    from ..io.specs import format_spec

    rule = cls._fns.rule  # type: ignore[attr-defined]
    kv = {"accept": _plain(rule.accept), "step": _plain(rule.step)}
    kv.update({p.name: _plain(p.default) for p in rule.parameters})
    return format_spec(cls.name, kv)


def _plain(expr: Any) -> str:
    """SymPy as text that :func:`theory.rules.parse_user_expr` reads back (theory's eps is named epsilon)."""
    import sympy as sp

    from theory.symbols import eps

    return str(sp.sympify(expr).xreplace({eps: sp.Symbol("eps")}))

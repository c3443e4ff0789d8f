"""The numeric forms of :mod:`theory.rules` (what ``verify.algorithms`` runs), loadable without SymPy.

The rules are SymPy (:mod:`theory.rules`, the one source of truth). Their lambdified forms -- each
rule's ``decide(p, dist, d) -> (accept, eta_t)`` and each parameter's default -- and the facts
``verify`` needs about them (rule ids, parameter names and the provenance of each default) are
cached on disk by :mod:`theory._lambdacache` (keyed by a hash of ``theory/``'s source), so that a
fresh process that only *runs* an algorithm neither imports SymPy nor builds the rules once that
cache is warm. On a miss, everything here is computed from :mod:`theory.rules`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from ._lambdacache import lambdified
from .validation import check

__all__ = ["rule_ids", "parameters", "inputs", "uses_delays", "decide_function", "default_value", "needs",
           "evaluate_default"]


@lru_cache(maxsize=1)
def _facts() -> dict[str, Any]:
    def make() -> tuple[dict[str, Any], list]:
        from .rules import RULES

        return {rid: {"parameters": [[p.name, p.source] for p in r.parameters], "inputs": [s.name for s in r.inputs],
                      "uses_delays": bool(r.uses_delays)} for rid, r in RULES.items()}, []

    return lambdified("rules:facts", make)[0]


def rule_ids() -> tuple[str, ...]:
    """The ids of :data:`theory.rules.RULES`, in registry order."""
    return tuple(_facts())


def _rule(rule_id: str) -> dict[str, Any]:
    facts = _facts()
    if rule_id not in facts:
        raise ValueError(f"rule id must be one of {sorted(facts)}; got {rule_id!r}")
    return facts[rule_id]


def parameters(rule_id: str) -> tuple[tuple[str, str], ...]:
    """``(name, source of its default)`` of every parameter of rule ``rule_id``, in order."""
    return tuple((n, s) for n, s in _rule(rule_id)["parameters"])


def inputs(rule_id: str) -> tuple[str, ...]:
    """The names of :attr:`theory.rules.UpdateRule.inputs` (what ``decide``'s ``p[i]`` holds), in order."""
    return tuple(_rule(rule_id)["inputs"])


def uses_delays(rule_id: str) -> bool:
    """:attr:`theory.rules.UpdateRule.uses_delays`."""
    return bool(_rule(rule_id)["uses_delays"])


@lru_cache(maxsize=None)
def decide_function(rule_id: str) -> Callable[[Any, float, int], tuple[bool, float]]:
    """``decide(p, dist, d) -> (accept, eta_t)``: the rule's accept test and step size as one plain
    Python function (``sympy.lambdify``, math module), with ``p[i]`` the value of ``inputs[i]``."""

    def make() -> tuple[None, list]:
        from .rules import _decide_lambdified

        return None, [(_decide_lambdified(rule_id), "math")]

    return lambdified(f"rules:decide:{rule_id}", make)[1][0]


@lru_cache(maxsize=None)
def _default_function(rule_id: str, name: str) -> tuple[tuple[str, ...], Callable[..., float]]:
    def make() -> tuple[list[str], list]:
        from .rules import _default_lambdified

        names, fn = _default_lambdified(rule_id, name)
        return list(names), [(fn, "math")]

    names, (fn,) = lambdified(f"rules:default:{rule_id}:{name}", make)
    return tuple(names), fn


def default_value(rule_id: str, name: str, /, **values: float) -> float:
    """The default of parameter ``name`` of rule ``rule_id`` at ``values`` (beta, F, eps, sigma,
    tau_avg, tau_max, concurrency and earlier parameters, as needed; each validated)."""
    names, fn = _default_function(rule_id, name)
    return evaluate_default(f"the default {name} of rule {rule_id!r}", names, fn, values, unchecked=("R",))


def evaluate_default(what: str, names: tuple[str, ...], fn: Callable[..., float], values: dict[str, float],
                     unchecked: tuple[str, ...] = ()) -> float:
    """``fn`` (a lambdified default with argument names ``names``) at ``values`` (each validated by
    :func:`theory.validation.check` but those named in ``unchecked``); IEEE arithmetic (0 or inf)
    at extreme inputs, as the calculators."""
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{what} needs {', '.join(missing)}")
    args = []
    for n in names:
        v = values[n]
        args.append(float(v) if n in unchecked else check(n, v))
    try:
        return float(fn(*args))
    except (ZeroDivisionError, OverflowError):  # extreme inputs: IEEE arithmetic (0 or inf), as the calculators
        import numpy as np

        with np.errstate(all="ignore"):
            return float(fn(*[np.float64(a) for a in args]))


def needs(rule_id: str, name: str) -> tuple[str, ...]:
    """The names the default of ``name`` depends on (e.g. ``("tau_max", ...)``)."""
    return _default_function(rule_id, name)[0]

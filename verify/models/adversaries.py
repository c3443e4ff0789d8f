"""Adaptive adversaries: delay choices that watch the run and spend an average-delay budget.

The theorems cover *oblivious* delays (fixed in advance). An adaptive adversary chooses d_t after
seeing x_1..x_t, so its runs are flagged ``adaptive=True`` in their records. With sigma = 0 the run
is deterministic and the realised sequence is, in hindsight, a fixed sequence: Theorem D then
applies to it, which makes adaptive adversaries a sharp test of the deterministic claim.

Budget: after t steps the adversary has spent at most ``tau_budget * t`` (so the average delay over
any prefix is <= tau_budget); d_t <= t - 1 always. Both adversaries are greedy heuristics, not
optimal strategies; they are used with :func:`verify.algorithms.reference_run`, which accepts a
callable ``delay(t, iterates, problem) -> d_t``.
Accept rules come from the attacked algorithm's rule object (never retyped here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from theory.validation import check

from verify._jit import dist
from verify.models.delays import parse_spec
from verify.params import Param

if TYPE_CHECKING:  # models do not import algorithms at run time (imports run one way); a rule is duck-typed
    from verify.algorithms import Algorithm

__all__ = ["ADVERSARIES", "NOTE", "PickyRejector", "StaleErrorMaximizer", "bounds", "budget_bounds", "make", "parse"]

#: the flag every adaptive run carries in reports (the theorems assume oblivious delays)
NOTE = "adaptive: outside the theorem's oblivious assumption"


@dataclass
class _Budget:
    tau_budget: float
    window: int = 2000
    spent: int = 0
    history: list[int] = field(default_factory=list)

    def affordable(self, t: int) -> int:
        """Largest d the adversary may choose at step t (1-indexed)."""
        return int(min(t - 1, self.window, np.floor(self.tau_budget * t - self.spent + 1e-9)))

    def spend(self, d: int) -> int:
        self.spent += d
        self.history.append(d)
        return d

    def bounds(self) -> dict[str, float]:
        """:func:`budget_bounds` of this adversary."""
        return budget_bounds(self.tau_budget, self.window)


def budget_bounds(tau_budget: float, window: int) -> dict[str, float]:
    """What is known of an adversary's delays in advance: tau_avg <= tau_budget over every prefix and
    tau_max <= window (defaults that need tau_avg or tau_max, e.g. delayed SGD's step, use these)."""
    return {"tau_avg": float(tau_budget), "tau_max": float(window)}


@dataclass
class PickyRejector(_Budget):
    """Against an algorithm that filters stale gradients (Picky SGD, stale-drop): at step t choose
    the *cheapest* delay whose gradient the algorithm rejects -- the smallest affordable d with
    ``not rule.accepts(||x_t - x_{t-d}||, d)`` (the algorithm's own accept rule) -- else d_t = 0.
    Maximises the number of rejections per unit of delay spent."""

    rule: Algorithm | None = None

    def __post_init__(self) -> None:
        check("tau_avg", self.tau_budget)
        if not callable(getattr(self.rule, "accepts", None)):
            raise ValueError(f"rule must be the attacked algorithm (verify.algorithms.resolve(...)); got {self.rule!r}")

    def __call__(self, t: int, xs: list, problem) -> int:
        dmax = self.affordable(t)
        x_t = xs[t - 1]
        for dd in range(1, dmax + 1):  # x_{t-1}, x_{t-2}, ..., x_{t-dmax}
            if not self.rule.accepts(dist(x_t, xs[t - 1 - dd]), dd):
                return self.spend(dd)
        return self.spend(0)


@dataclass
class StaleErrorMaximizer(_Budget):
    """Against delayed SGD: make the applied gradient as wrong as the budget allows.

    ``strategy="greedy"``: at every step choose the affordable d maximising the stale-gradient
    error ||grad f(x_{t-d}) - grad f(x_t)||. On a contracting trajectory this is simply the largest
    affordable delay, i.e. (about) the constant delay tau_budget: greedy spending buys nothing over
    an oblivious constant delay (observed on the quadratic; see tests/test_adversary.py).
    ``strategy="strike"`` (default; needs ``eps``): save the budget and spend all of it at once,
    d = the largest affordable delay, when the run is about to succeed (||grad f(x_t)|| <=
    kappa eps) and that stale gradient differs from the current one: one very stale gradient
    throws the iterate back. (Striking on a large relative error instead, without regard to eps,
    was tried and did not slow delayed SGD on the quadratic: the zero-delay steps in between
    converge faster than under a constant delay.)
    """

    strategy: str = "strike"
    eps: float | None = None
    kappa: float = 2.0

    def __post_init__(self) -> None:
        check("tau_avg", self.tau_budget)
        if self.strategy not in ("greedy", "strike"):
            raise ValueError(f"strategy must be 'greedy' or 'strike'; got {self.strategy!r}")
        if not self.kappa > 0:
            raise ValueError(f"kappa must be > 0; got {self.kappa!r}")
        if self.strategy == "strike":
            if self.eps is None:
                raise ValueError("eps is required with strategy='strike' (the adversary strikes when ||grad f|| <= kappa eps)")
            check("eps", self.eps)

    def __call__(self, t: int, xs: list, problem) -> int:
        dmax = self.affordable(t)
        if dmax < 1:
            return self.spend(0)
        x_t = xs[t - 1]
        g_t = problem.grad(x_t)
        if self.strategy == "strike":
            near = float(np.sqrt(np.add.reduce(g_t**2))) <= self.kappa * self.eps
            err = float(np.sqrt(np.add.reduce((problem.grad(xs[t - 1 - dmax]) - g_t) ** 2))) if near else 0.0
            return self.spend(dmax if err > 0 else 0)
        past = np.asarray(xs[t - 1 - dmax : t - 1][::-1])
        err = np.sqrt(np.add.reduce((problem.grad(past) - g_t) ** 2, axis=1))
        k = int(np.argmax(err))
        return self.spend(k + 1 if err[k] > 0 else 0)


@dataclass(frozen=True)
class Adversary:
    """A registered adaptive adversary: ``build(rule, eps, **params)`` returns a fresh (stateful)
    delay function for one run."""

    name: str
    description: str
    params: dict[str, Param]
    build: Callable[..., _Budget]


_BUDGET = {
    "tau": Param(float, 3.0, low=0.0, doc="average-delay budget: every prefix has tau_avg <= tau"),
    "window": Param(int, 200, low=1, doc="largest delay the adversary may choose (d_t <= window)"),
}

ADVERSARIES: dict[str, Adversary] = {
    "picky-rejector": Adversary(
        "picky-rejector", "the cheapest delay whose gradient the algorithm's accept rule rejects (PickyRejector)",
        dict(_BUDGET),
        lambda rule, eps, tau, window: PickyRejector(tau_budget=tau, window=window, rule=rule)),
    "stale-error": Adversary(
        "stale-error", "the stale gradient as wrong as the budget allows (StaleErrorMaximizer)",
        {**_BUDGET, "strategy": Param(str, "strike", choices=("strike", "greedy"), doc="strike: all budget at once near success"),
         "kappa": Param(float, 2.0, low=0.0, low_open=True, doc="strike when ||grad f(x_t)|| <= kappa eps")},
        lambda rule, eps, tau, window, strategy, kappa: StaleErrorMaximizer(
            tau_budget=tau, window=window, strategy=strategy, eps=eps, kappa=kappa)),
}


def parse(spec: str | Mapping[str, Any]) -> tuple[Adversary, dict[str, Any]]:
    """``"name:key=value,..."`` (the delay models' grammar) -> the adversary and its validated
    parameters, or ValueError naming the parameter, its allowed range and the value."""
    name, given = parse_spec(spec)
    if name not in ADVERSARIES:
        raise ValueError(f"unknown adversary {name!r}; known adversaries: {', '.join(ADVERSARIES)}")
    adv = ADVERSARIES[name]
    unknown = sorted(set(given) - set(adv.params))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} (= {given[unknown[0]]!r}) for adversary {name!r}; "
                         f"allowed parameters: {', '.join(adv.params)}")
    return adv, {k: (p.coerce(f"adversary {name!r}", k, given[k]) if k in given else p.default)
                 for k, p in adv.params.items()}


def bounds(spec: str | Mapping[str, Any]) -> dict[str, float]:
    """:func:`budget_bounds` of the adversary ``spec`` (validated)."""
    params = parse(spec)[1]
    return budget_bounds(params["tau"], params["window"])


def make(spec: str | Mapping[str, Any], rule: Algorithm, eps: float) -> _Budget:
    """A fresh adversary of ``spec`` against ``rule`` (one per run: adversaries keep state)."""
    adv, params = parse(spec)
    return adv.build(rule, eps, **params)

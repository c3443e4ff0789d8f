"""The algorithms as rule objects: each one a small frozen dataclass that states its parameters
(with their allowed ranges), takes their defaults from :mod:`theory.rules`, and applies its accept
rule and step-size rule -- both compiled from the SymPy of :mod:`theory.rules`, never retyped.

======================  =================================  ==============================================
algorithm               accept(dist, d_t)                  eta_t
======================  =================================  ==============================================
``picky``               dist <= rho                        eta
``delayed-sgd``         always                             eta
``delay-adaptive``      always                             eta if d_t <= tau_C, else min{eta, 1/(4 beta d_t)}
                                                           (``rule="ksj"``) or eta tau_C/d_t (``"mishchenko"``)
``stale-drop``          d_t < R                            eta
``sgd``                 always (and d_t = 0 always)        eta
======================  =================================  ==============================================

Here dist = ||x_t - x_{t-d_t}||. Every implementation (the reference loop, the compiled engine, the
adaptive adversaries) calls :meth:`Algorithm.decide` or, in compiled code, ``decide_any(code,
vector, dist, d)`` with ``code`` and ``vector`` from the object: the same lambdified expression.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping

import numba
import numpy as np

import theory
from theory import rulefns
from theory.validation import check, validate_delays

from .._jit import switch
from verify.models.delays import DelaySequence, concurrency
from ..params import Param

__all__ = [
    "Algorithm", "Picky", "DelayedSGD", "DelayAdaptive", "StaleDrop", "SGD", "ALGORITHMS",
    "RULE_IDS", "decide_any", "resolve", "from_dict", "Ringmaster", "RingmasterStops", "POLICY_ALGORITHMS",
]

#: theory's rules, in the order of their compiled codes
RULE_IDS: tuple[str, ...] = rulefns.rule_ids()
_CODES = {rid: i for i, rid in enumerate(RULE_IDS)}
#: from theory.rules' SymPy, lambdified (cached on disk by theory: no SymPy import when warm)
_PY_DECIDE = {rid: rulefns.decide_function(rid) for rid in RULE_IDS}
#: the built-in rules' decide functions compiled (to be inlined into the kernel), in code order
DECIDE_JIT: tuple = tuple(numba.njit(nogil=True, inline="always")(_PY_DECIDE[r]) for r in RULE_IDS)
#: decide_any(code, p, dist, d) -> (accept, eta_t): the compiled rules, dispatched by code
decide_any = switch("decide_any", DECIDE_JIT, "p, dist, d", "(False, 0.0)")

_POSITIVE = dict(kind=float, default=None, low=0.0, low_open=True)


@dataclass(frozen=True, kw_only=True)
class Algorithm:
    """One algorithm configured for one run: its parameter values, the run's target ``eps``, noise
    level ``sigma`` and smoothness ``beta`` (the defaults, and the KSJ cap, depend on them), and
    ``source``: where each parameter value came from ("user" or the theory default)."""

    name: ClassVar[str]
    #: the parameters a user may set, with their allowed ranges
    params: ClassVar[dict[str, Param]]
    #: where the rule's numeric forms come from (:mod:`theory.rulefns`; a user rule has its own,
    #: :mod:`verify.algorithms.user`)
    _fns: ClassVar[Any] = rulefns

    eps: float
    sigma: float
    beta: float
    source: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for n in ("eps", "beta"):
            object.__setattr__(self, n, float(check(n, getattr(self, n))))
        object.__setattr__(self, "sigma", float(check("sigma", self.sigma)))
        for n, p in self.params.items():
            object.__setattr__(self, n, p.coerce(f"algorithm {self.name!r}", n, getattr(self, n)))
        object.__setattr__(self, "source", dict(self.source))
        vec = np.array([float(getattr(self, name)) for name in self._fns.inputs(self.rule_id)], dtype=np.float64)
        vec.setflags(write=False)
        object.__setattr__(self, "_vector", vec)

    # --- the rule ------------------------------------------------------------------------
    @property
    def rule_id(self) -> str:
        """The id of this algorithm's rule in :data:`theory.RULES`."""
        return self.name

    @property
    def update_rule(self) -> theory.UpdateRule:
        """This algorithm's rule (:class:`theory.rules.UpdateRule`): accept, step and defaults as SymPy."""
        return theory.get_rule(self.rule_id)

    @property
    def code(self) -> int:
        """Index of the rule in the compiled dispatch (``decide_any``)."""
        return _CODES[self.rule_id]

    @property
    def vector(self) -> np.ndarray:
        """The values of ``rule.inputs`` (parameters, then context such as beta), as compiled code reads them."""
        return self._vector  # type: ignore[attr-defined]

    @property
    def uses_delays(self) -> bool:
        """False for SGD: it sees d_t = 0 whatever the delay sequence says."""
        return self._fns.uses_delays(self.rule_id)

    def decide(self, dist: float, d: int) -> tuple[bool, float]:
        """(accept, eta_t) at a step with delay ``d`` and ||x_t - x_{t-d}|| = ``dist``."""
        fn = _PY_DECIDE.get(self.rule_id) if self._fns is rulefns else self._fns.decide_function(self.rule_id)
        a, e = fn(self._vector, dist, d)  # type: ignore[attr-defined]
        return bool(a), float(e)

    def accepts(self, dist: float, d: int) -> bool:
        return self.decide(dist, d)[0]

    def step(self, d: int) -> float:
        """eta_t at delay ``d`` (whether or not the gradient is accepted)."""
        return self.decide(0.0, d)[1]

    # --- construction and records ---------------------------------------------------------
    @classmethod
    def _rule_id_for(cls, values: Mapping[str, Any]) -> str:
        return cls.name

    @classmethod
    def resolve(
        cls,
        *,
        beta: float,
        F: float,
        eps: float,
        sigma: float,
        delays: DelaySequence | np.ndarray | Mapping[str, float] | None = None,
        **given: Any,
    ) -> "Algorithm":
        """This algorithm with every parameter not in ``given`` (``None`` = not given) set to its
        default from :mod:`theory.rules`. ``delays`` is needed for the defaults that depend on the
        sequence (delayed SGD's tau_max, stale-drop's R, delay-adaptive's tau_C); a mapping
        ``{"tau_avg": ..., "tau_max": ...}`` (and optionally ``"concurrency"``, else tau_max + 1) gives
        bounds known in advance instead (an adaptive adversary's budget,
        :meth:`verify.models.adversaries.PickyRejector.bounds`)."""
        ctx = {"beta": check("beta", beta), "F": check("F", F), "eps": check("eps", eps), "sigma": check("sigma", sigma)}
        given = {k: v for k, v in given.items() if v is not None}
        bad = [k for k in given if k not in cls.params]
        if bad:
            raise ValueError(f"parameter(s) {bad} do not apply to algorithm {cls.name!r} (it takes {list(cls.params)})")
        vals = {k: cls.params[k].coerce(f"algorithm {cls.name!r}", k, v) for k, v in given.items()}
        source = {k: "user" for k in vals}
        rule_id = cls._rule_id_for(vals)
        stats: dict[str, float] = {}
        fns = cls._fns
        for par_name, par_source in fns.parameters(rule_id):
            if par_name in vals:
                continue
            need = fns.needs(rule_id, par_name)
            seq_stats = [n for n in need if n in _SEQUENCE_STATS]
            if seq_stats and not stats:
                stats = _delay_stats(cls.name, par_name, delays)
            missing = [n for n in seq_stats if n not in stats]
            if missing:  # bounds known in advance that lack one this default needs
                raise ValueError(f"{cls.name}: the default {par_name} needs {' and '.join(missing)} known in advance; "
                                 f"got {dict(delays)!r} (give {missing[0]}, or set {par_name})")
            value = fns.default_value(rule_id, par_name, **ctx, **stats, **vals)
            vals[par_name] = cls.params[par_name].coerce(f"algorithm {cls.name!r} (default)", par_name,
                                                         int(round(value)) if cls.params[par_name].kind is int else value)
            rel, of = ("<=", "known in advance") if isinstance(delays, Mapping) else ("=", "of the sequence")
            where = "; ".join(f"{n} {rel} {stats[n]:g} {of}" for n in seq_stats)
            where += "".join(f"; {n} = {vals[n]:g}" for n in need if n in cls.params and n != par_name)
            source[par_name] = (f"theory rules {rule_id}: " if fns is rulefns else "") + par_source + (f" ({where.lstrip('; ')})" if where else "")
        for k in cls.params:
            if k not in source and k in vals:  # a discrete choice left at its default (delay-adaptive's rule)
                source[k] = f"default {vals[k]!r}"
        return cls(eps=ctx["eps"], sigma=ctx["sigma"], beta=ctx["beta"], source=source, **vals)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: algorithm, update_rule, eps, sigma, beta, the parameters, source."""
        out: dict[str, Any] = {"algorithm": self.name, "update_rule": self.rule_id, "eps": self.eps,
                               "sigma": self.sigma, "beta": self.beta}
        out.update({n: getattr(self, n) for n in self.params})
        out["source"] = dict(self.source)
        return out

    def with_(self, **changes: Any) -> "Algorithm":
        """A copy with some fields changed (validated again)."""
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        kw.update(changes)
        return type(self)(**kw)


#: the statistics of the delay sequence a default may need (theory.rules.CONTEXT's sequence symbols)
_SEQUENCE_STATS = ("tau_avg", "tau_max", "concurrency")


def _delay_stats(name: str, what: str, delays: Any) -> dict[str, float]:
    """The sequence's tau_avg, tau_max and concurrency (the max of :func:`verify.models.delays.concurrency`).
    From a mapping of bounds known in advance: those it gives (each validated; other keys are an error),
    the concurrency, when not given, bounded by tau_max + 1 if tau_max is (DERIVED: every gradient in
    flight at step t arrives at one of the steps t..t + tau_max, one per step)."""
    if delays is None:
        raise ValueError(f"{name}: the default {what} depends on the delay sequence; pass delays= or set {what}")
    if isinstance(delays, Mapping):  # bounds known in advance (an adaptive adversary's budget)
        unknown = [k for k in delays if k not in _SEQUENCE_STATS]
        if unknown:
            raise ValueError(f"{name}: delay bounds known in advance are {', '.join(_SEQUENCE_STATS)}; got {unknown[0]!r}")
        out = {k: check(k, float(delays[k])) for k in _SEQUENCE_STATS if k in delays}
        if "concurrency" not in out and "tau_max" in out:
            out["concurrency"] = out["tau_max"] + 1.0
        return out
    d = delays.delays if isinstance(delays, DelaySequence) else validate_delays(delays)
    if d.size == 0:
        raise ValueError(f"{name}: the default {what} needs a delay sequence of at least one step; got length 0")
    return {"tau_avg": float(d.mean()), "tau_max": float(d.max()), "concurrency": float(concurrency(d)[0])}


@dataclass(frozen=True, kw_only=True)
class Picky(Algorithm):
    """Picky SGD (Algorithm 1): x_{t+1} = x_t - eta g_t if ||x_t - x_{t-d_t}|| <= rho, else x_t.
    Defaults: Theorem D's eta and rho = eps/(2 beta) (theory ``picky-explicit``; derived here)."""

    name: ClassVar[str] = "picky"
    params: ClassVar[dict[str, Param]] = {
        "eta": Param(**_POSITIVE, doc="step size"),
        "rho": Param(**_POSITIVE, doc="accept iff ||x_t - x_{t-d_t}|| <= rho"),
    }
    eta: float
    rho: float


@dataclass(frozen=True, kw_only=True)
class DelayedSGD(Algorithm):
    """Delayed SGD: every stale gradient applied with a constant step; default eta scaled to the
    sequence's tau_max (delayed SGD's theorem needs it in advance)."""

    name: ClassVar[str] = "delayed-sgd"
    params: ClassVar[dict[str, Param]] = {"eta": Param(**_POSITIVE, doc="step size")}
    eta: float


@dataclass(frozen=True, kw_only=True)
class DelayAdaptive(Algorithm):
    """Delay-adaptive SGD: every gradient applied; eta_t = eta if d_t <= tau_C, else the KSJ cap
    min{eta, 1/(4 beta d_t)} (``rule="ksj"``) or eta tau_C/d_t (``rule="mishchenko"``)."""

    name: ClassVar[str] = "delay-adaptive"
    params: ClassVar[dict[str, Param]] = {
        "eta": Param(**_POSITIVE, doc="base step size"),
        "tau_C": Param(float, None, low=0.0, doc="delays <= tau_C keep the base step"),
        "rule": Param(str, "ksj", choices=("ksj", "mishchenko"), doc="step rule for d_t > tau_C"),
    }
    eta: float
    tau_C: float
    rule: str = "ksj"

    @property
    def rule_id(self) -> str:
        return f"delay-adaptive-{self.rule}"

    @classmethod
    def _rule_id_for(cls, values: Mapping[str, Any]) -> str:
        return f"delay-adaptive-{values.setdefault('rule', 'ksj')}"


@dataclass(frozen=True, kw_only=True)
class StaleDrop(Algorithm):
    """Stale-drop SGD: gradients with delay >= R are dropped, the others applied with eta."""

    name: ClassVar[str] = "stale-drop"
    params: ClassVar[dict[str, Param]] = {
        "eta": Param(**_POSITIVE, doc="step size"),
        "R": Param(int, None, low=1, doc="accept iff d_t < R"),
    }
    eta: float
    R: int


@dataclass(frozen=True, kw_only=True)
class SGD(Algorithm):
    """Plain SGD with no delays (d_t = 0 whatever the sequence says); Ghadimi-Lan's step."""

    name: ClassVar[str] = "sgd"
    params: ClassVar[dict[str, Param]] = {"eta": Param(**_POSITIVE, doc="step size")}
    eta: float


@dataclass(frozen=True, kw_only=True)
class Ringmaster(StaleDrop):
    """Ringmaster ASGD (Maranjyan, Tyurin, Richtarik, ICML 2025) without stops: stale-drop's rule (accept
    iff d_t < R, step eta) run on the ``ringmaster`` schedule of :mod:`verify.engine.events`, whose steps are
    the applied updates (an arrival of delay >= R, counted in updates, is ignored there and its worker
    restarts at the current iterate). Defaults: R and eta from :func:`theory.timing.ringmaster_parameters`
    (R = max{1, ceil(sigma^2/eps^2)}, eta = min{1/(2 R beta), eps^2/(4 beta sigma^2)}: UNCONFIRMED
    recollections of the paper, labelled as such). Not in :data:`ALGORITHMS`: it needs a computation model
    (``verify.runtime.simulation.run_on_compute``, ``picky simulate --compute``)."""

    name: ClassVar[str] = "ringmaster"

    @property
    def rule_id(self) -> str:
        return "stale-drop"

    @classmethod
    def _rule_id_for(cls, values: Mapping[str, Any]) -> str:
        return "stale-drop"

    @classmethod
    def resolve(cls, *, beta: float, F: float, eps: float, sigma: float, delays: Any = None, eta: float | None = None,
                R: int | None = None, **given: Any) -> "Ringmaster":
        bad = [k for k, v in given.items() if v is not None]
        if bad:
            raise ValueError(f"parameter(s) {bad} do not apply to algorithm {cls.name!r} (it takes {list(cls.params)})")
        source = {"R": "user", "eta": "user"}
        if R is None:
            R = int(theory.timing.ringmaster_parameters(beta=beta, sigma=sigma, eps=eps)["R"])
            source["R"] = "theory timing R_RINGMASTER = max{1, ceil(sigma^2/eps^2)} (UNCONFIRMED recollection)"
        else:
            R = cls.params["R"].coerce(f"algorithm {cls.name!r}", "R", R)
        if eta is None:  # the step at the R used (the user's or the default)
            eta = theory.timing.ringmaster_parameters(beta=beta, sigma=sigma, eps=eps, R=R)["gamma"]
            source["eta"] = ("theory timing GAMMA_RINGMASTER = min{1/(2 R beta), eps^2/(4 beta sigma^2)} "
                             f"(UNCONFIRMED recollection; R = {R})")
        return cls(eps=eps, sigma=sigma, beta=beta, eta=eta, R=R, source=source)


@dataclass(frozen=True, kw_only=True)
class RingmasterStops(Ringmaster):
    """Ringmaster ASGD with stops: as :class:`Ringmaster`, on the ``ringmaster-stops`` schedule (a computation
    whose delay reaches R is cancelled and restarted at the current iterate, so every arrival is applied)."""

    name: ClassVar[str] = "ringmaster-stops"


#: the asynchronous methods that need a computation model's schedule (not a bare delay sequence)
POLICY_ALGORITHMS: dict[str, type[Algorithm]] = {c.name: c for c in (Ringmaster, RingmasterStops)}


#: every algorithm, by name
ALGORITHMS: dict[str, type[Algorithm]] = {c.name: c for c in (Picky, DelayedSGD, DelayAdaptive, StaleDrop, SGD)}


def _cls(name: Any) -> type[Algorithm]:
    """The built-in or the user rule (:func:`verify.algorithms.define`) of this name."""
    from .user import USER_RULES

    try:
        return ALGORITHMS[name] if name in ALGORITHMS else USER_RULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"algorithm must be one of {[*ALGORITHMS, *USER_RULES]}; got {name!r}") from None


def resolve(algorithm: str, **kw: Any) -> Algorithm:
    """``ALGORITHMS[algorithm].resolve(**kw)``: the algorithm with defaults from :mod:`theory`."""
    return _cls(algorithm).resolve(**kw)


def from_dict(d: Mapping[str, Any]) -> Algorithm:
    """The algorithm recorded by :meth:`Algorithm.as_dict` (values validated again)."""
    if not isinstance(d, Mapping) or "algorithm" not in d:
        raise ValueError(f"an algorithm record needs the key 'algorithm'; got {d!r}")
    cls = _cls(d["algorithm"])
    missing = [k for k in ("eps", "sigma", "beta", *cls.params) if d.get(k) is None and k != "rule"]
    if missing:
        raise ValueError(f"algorithm record for {cls.name!r} lacks {missing}")
    kw = {k: d[k] for k in cls.params if d.get(k) is not None}
    return cls(eps=d["eps"], sigma=d["sigma"], beta=d["beta"], source=d.get("source") or {}, **kw)

"""The conjecture hunter: Hypothesis searches delay sequences for a counterexample to a claimed bound.

A conjecture is "for every delay sequence, metric <= bound", for one algorithm on one or more
*instances*: a problem spec (as ``picky list`` and ``picky simulate --problem`` name it), a
dimension and a target eps; beta and F are the problem's exact constants (:class:`Instance`).
By default every searched sequence is checked on the three instances of :data:`INSTANCES` (and the
worst is kept); ``Conjecture(problem=..., dim=..., eps=...)`` checks one instance instead.

* ``metric = "steps"``: the bound is a sufficient horizon, as in Theorem D -- for every sequence
  d_1..d_T with T >= bound(d_1..d_T), the algorithm is eps-stationary by step T. The hunter takes, for
  each searched sequence, the first prefix length T* that satisfies T* >= bound(d_1..d_{T*}) (a
  sequence with none is skipped: the claim says nothing about it) and runs to T*. sigma = 0: a run
  that has not hit eps by T* is a counterexample. sigma > 0 (the theorems' "with probability >=
  1/2"): ``seeds`` runs, and a counterexample is one where the one-sided exact binomial test rejects
  P(hit by T*) >= 1/2 at ``alpha``.
* ``metric = "rejections"``: the gradients rejected before the first eps-stationary iterate x_h,
  against the bound evaluated on the statistics of *the same prefix*, the steps 1..h-1 that were
  run before the hit (T = h - 1, sum_d, tau_avg, tau_max, accepted and rejected over those steps);
  a run that never hits is judged over every step it ran. Delays after the hit cannot add a counted
  rejection, so they do not enter the bound either. With sigma > 0 every one of the ``seeds`` runs
  is judged on its own prefix (a pathwise claim).

Expressions (``bound``, ``eta`` and the rule parameters ``params``) are SymPy over :data:`SYMBOLS`:
beta, F, eps, sigma (of the instance and the run), tau_avg, tau_max, T, sum_d (= sum_{t<=T} d_t)
of the prefix, and B, the counting lemma's breakpoint count for Picky SGD with sigma = 0,
K = 24 beta F/eps^2 (theory ``counting-lemma``, aux ``drift_breakpoints_deterministic``: the lemma
N <= sqrt(2 B sum_d) bounds the steps whose window straddles one of B breakpoints); a rejections
bound may also use the run's counts over the prefix, ``accepted`` and ``rejected``
(:data:`RUN_SYMBOLS`); plus numbers and functions (sqrt, log, Max, Min, ...). ``eta`` and the
numeric rule parameters (rho, R, tau_C; ``rule`` takes a name) are evaluated once per checked
horizon with the statistics of d_1..d_T of that horizon (an algorithm that knows the delay
statistics of its run in advance, as delayed SGD's theorem assumes); for the rejections metric
that horizon is the whole searched sequence (``LENGTH`` steps), which is fixed before the run.
R is rounded down to an integer. A parameter outside its range on a sequence skips the sequence.

A bound that cannot hold is refused before any search (:func:`check_bound`): not a real number
(NaN) or negative where probed (both metrics count), 0 everywhere (rejections), or, for the steps
metric, at most 1 at T = 1 -- every sequence has d_1 = 0, so the claim would be that x_1 is already
eps-stationary.

The searched sequences are programs (:mod:`verify.models.programs`), followed by zeros up to ``LENGTH``.
The work is bounded: at most ``budget`` distinct sequences are evaluated (each on every instance),
the shrinking of a counterexample included, and at most ``max_seconds`` of wall time if given
(that limit makes the result depend on the machine; the budget alone keeps it reproducible from
(seed, budget), see :func:`verify.search.strategies.reproducible_search`). Hypothesis shrinks a
counterexample to the smallest program it can, and the hunter reports it with a replay command.
"""
from __future__ import annotations

import functools
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp

import theory
from theory import symbols as S

from verify import algorithms, engine
from verify.models import delays, problems
from verify.io.output import atomic_write_text

__all__ = ["Conjecture", "Instance", "Outcome", "hunt", "parse", "check_bound", "SYMBOLS", "RUN_SYMBOLS",
           "INSTANCES", "LENGTH", "save_counterexample"]

_SUM_D = sp.Symbol("sum_d", nonnegative=True)
#: the names an expression may use: the instance's constants and the statistics of the prefix
SYMBOLS: dict[str, sp.Symbol] = {"beta": S.beta, "F": S.F, "eps": S.eps, "sigma": S.sigma, "tau_avg": S.tau_avg,
                                 "tau_max": S.tau_max, "T": S.T, "sum_d": _SUM_D, "B": S.B}
#: the run's own counts over the prefix: known only after the run, so only in a rejections bound
RUN_SYMBOLS: dict[str, sp.Symbol] = {"accepted": sp.Symbol("accepted", nonnegative=True),
                                     "rejected": sp.Symbol("rejected", nonnegative=True)}
_ALL = {**SYMBOLS, **RUN_SYMBOLS}
_FUNCS = {"sqrt": sp.sqrt, "log": sp.log, "exp": sp.exp, "Max": sp.Max, "Min": sp.Min, "max": sp.Max, "min": sp.Min,
          "ceiling": sp.ceiling, "floor": sp.floor, "pi": sp.pi, "E": sp.E}
#: the CLI flag of ``picky simulate`` that sets each rule parameter (for the replay command)
_SIMULATE_FLAG = {"eta": "--eta", "rho": "--rho", "R": "--R", "tau_C": "--tau-C", "rule": "--rule"}


@dataclass(frozen=True)
class Instance:
    """A problem (a spec of ``picky list``, built by :func:`verify.models.problems.make`) in dimension
    ``dim`` with target ``eps``; beta and F are the problem's exact constants."""

    spec: str
    dim: int
    eps: float

    def problem(self) -> problems.Problem:
        return _problem(self.spec, self.dim)

    def describe(self) -> str:
        """``SPEC (dim D, eps E; beta = .., F = ..)``: everything ``picky simulate`` needs."""
        p = self.problem()
        return f"{self.spec} (dim {self.dim}, eps {self.eps:g}; beta = {p.beta:.6g}, F = {p.F:.6g})"


@functools.lru_cache(maxsize=32)
def _problem(spec: str, dim: int) -> problems.Problem:
    return problems.make(spec, dim)


#: the default instances: every searched sequence is checked on each (and the worst is kept)
INSTANCES: dict[str, Instance] = {
    # ||x||^2/2 on R^4 from (1/2, ..., 1/2): beta = 1, F = 1/2
    "quad": Instance("quadratic:spectrum=constant,L=1,scale=0.5", 4, 0.5),
    # sum log(1 + x_i^2/2) on R^2 from (3/2, 3/2), non-convex: beta = 1, F = 2 log(17/8)
    "logsum": Instance("logsum:width=1.4142135623730951,scale=0.5", 2, 0.5),
    # an ill-conditioned quadratic (condition number 100): ~1e3 steps
    "slow": Instance("quadratic:spectrum=linear,mu=0.01,L=1", 10, 0.05),
}
#: every searched program is continued by zeros to this length (programs have at most half of it)
LENGTH = 1_000_000
#: the dimension of ``--problem`` when ``dim`` is not given (as ``picky simulate``)
DEFAULT_DIM = 10


def parse(text: str, what: str, *, run_counts: bool = False) -> sp.Expr:
    """A SymPy expression over :data:`SYMBOLS` (and :data:`RUN_SYMBOLS` if ``run_counts``);
    ValueError naming ``what``, the unknown names and the allowed ones."""
    allowed = _ALL if run_counts else SYMBOLS
    names_ = ", ".join(allowed)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} must be a non-empty expression over {names_}; got {text!r}")
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))
    counts = sorted((names & set(RUN_SYMBOLS)) - set(allowed))
    if counts:
        raise ValueError(f"{what}: {', '.join(counts)} in {text!r} is a count of the run, known only after it: "
                         "allowed in a rejections bound only (--metric rejections)")
    unknown = sorted(names - set(allowed) - set(_FUNCS))
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {unknown} in {text!r}; allowed: {names_} "
                         f"and {', '.join(_FUNCS)}")
    try:
        expr = sp.sympify(text, locals={**allowed, **_FUNCS})
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{what}: cannot parse {text!r} ({type(exc).__name__}); write e.g. '512*beta*F/eps**2'") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"{what} must be a numeric expression; got {text!r}")
    unknown = sorted(str(s) for s in expr.free_symbols if s not in allowed.values())
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {unknown} in {text!r}; allowed: {names_}")
    return expr


def _numeric(expr: sp.Expr) -> Callable[..., Any]:
    """``f(**values)`` with keyword names those of :data:`SYMBOLS` and :data:`RUN_SYMBOLS` (numpy,
    broadcasting; a name the expression does not use may be left out)."""
    names = list(_ALL)
    fn = sp.lambdify([_ALL[n] for n in names], expr, modules="numpy")
    return lambda **kw: fn(*(kw.get(n, np.nan) for n in names))


def _as_params(params: Any) -> tuple[tuple[str, str], ...]:
    if params is None:
        return ()
    if isinstance(params, Mapping):
        params = params.items()
    try:
        out = tuple((str(k), v) for k, v in params)
    except (TypeError, ValueError):
        raise ValueError(f"params must map rule parameter names to expressions; got {params!r}") from None
    return out


@dataclass(frozen=True)
class Conjecture:
    """"``metric`` <= ``bound`` for every delay sequence", for ``algorithm`` with step ``eta`` and
    rule parameters ``params`` (name -> expression; a name for ``rule``), on the default
    :data:`INSTANCES` or on ``problem`` (a spec) in dimension ``dim`` (default 10) with target
    ``eps`` (required with ``problem``; without it, ``dim`` and ``eps`` replace every default
    instance's)."""

    algorithm: str
    bound: str
    eta: str | None = None
    metric: str = "steps"
    sigma: float = 0.0
    seeds: int = 32
    alpha: float = 0.01
    problem: str | None = None
    dim: int | None = None
    eps: float | None = None
    params: Any = ()
    #: the accept test replacing the algorithm's (a user rule: :func:`verify.algorithms.user.with_accept`)
    accept: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in algorithms.ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(algorithms.ALGORITHMS)}; got {self.algorithm!r}")
        if self.metric not in ("steps", "rejections"):
            raise ValueError(f"metric must be 'steps' or 'rejections'; got {self.metric!r}")
        if isinstance(self.sigma, bool) or not (isinstance(self.sigma, (int, float)) and math.isfinite(self.sigma)
                                                and self.sigma >= 0):
            raise ValueError(f"sigma must be a finite number >= 0; got {self.sigma!r}")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be a positive integer; got {self.seeds!r}")
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be in (0, 1); got {self.alpha!r}")
        if self.dim is not None and (isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1):
            raise ValueError(f"dim must be a positive integer; got {self.dim!r}")
        if self.eps is not None and (isinstance(self.eps, bool) or not isinstance(self.eps, (int, float))
                                     or not (math.isfinite(self.eps) and self.eps > 0)):
            raise ValueError(f"eps must be a finite number > 0; got {self.eps!r}")
        if self.problem is not None and self.eps is None:
            raise ValueError(f"eps is required with problem {self.problem!r} (the target ||grad f(x_t)|| <= eps)")
        object.__setattr__(self, "params", _as_params(self.params))
        spec = algorithms.ALGORITHMS[self.algorithm].params
        seen = set()
        for name, value in self.params:
            if name == "eta":
                raise ValueError("params: give the step size as eta (--eta), not as a rule parameter")
            if name not in spec:
                allowed = [n for n in spec if n != "eta"]
                raise ValueError(f"params: {self.algorithm} has no parameter {name!r}; its parameters: "
                                 f"{', '.join(allowed) or 'none besides eta'}")
            if name in seen:
                raise ValueError(f"params: {name!r} given twice")
            seen.add(name)
            if spec[name].kind is str:
                if value not in spec[name].choices:
                    raise ValueError(f"params: {name} must be one of {list(spec[name].choices)}; got {value!r}")
            else:
                parse(value, f"parameter {name}")
        for inst in self.instances:
            try:
                p = inst.problem()
            except ValueError as exc:
                raise ValueError(f"problem: {exc}") from None
            g = float(p.grad_norm(p.x1))
            if g <= inst.eps:
                raise ValueError(f"eps = {inst.eps:g} on {inst.spec} (dim {inst.dim}): x_1 is already eps-stationary "
                                 f"(||grad f(x_1)|| = {g:.6g}); choose eps < {g:.6g}")
        parse(self.bound, "bound", run_counts=self.metric == "rejections")
        if self.eta is not None:
            parse(self.eta, "eta")
        if self.accept is not None:
            from verify.algorithms.user import with_accept

            try:
                with_accept(self.algorithm, self.accept, dict(self.params).get("rule"))
            except ValueError as exc:
                raise ValueError(f"accept: {exc}") from None
        check_bound(self)

    @property
    def rule_name(self) -> str:
        """The algorithm run: ``algorithm``, or its user rule with ``accept`` (defined in __post_init__)."""
        if self.accept is None:
            return self.algorithm
        from verify.algorithms.user import with_accept

        return with_accept(self.algorithm, self.accept, dict(self.params).get("rule")).name

    @property
    def instances(self) -> tuple[Instance, ...]:
        """The instances searched (see the class docstring)."""
        if self.problem is not None:
            return (Instance(self.problem, self.dim or DEFAULT_DIM, float(self.eps)),)
        return tuple(Instance(i.spec, self.dim or i.dim, float(self.eps) if self.eps else i.eps)
                     for i in INSTANCES.values())

    def statement(self) -> str:
        """One line: the claim as the hunter reads it."""
        rule = "".join(f", {k} = {v}" for k, v in self.params)
        eta = f" (eta = {self.eta}{rule})" if self.eta else (f" ({rule[2:]})" if rule else "")
        acc = f" [accept iff {self.accept}]" if self.accept is not None else ""
        return f"{self.algorithm}{acc}{eta}: {self.metric} <= {self.bound}, sigma = {self.sigma:g}"


def _breakpoints(beta: float, F: float, eps: float) -> float:
    """B: the counting lemma's drift-breakpoint count K = 24 beta F/eps^2 (theory, sigma = 0)."""
    return float(theory.evaluate("counting-lemma", "drift_breakpoints_deterministic", beta=beta, F=F, eps=eps))


def _probes(metric: str) -> list[tuple[str, dict[str, float]]]:
    """Delay statistics at which a bound is probed: zero, constant-5 and maximal delays
    (d_t = t - 1) at T = 1, 2, 10, 1e3, 1e6 (and, for rejections, none or half of the steps rejected)."""
    out = []
    for T in (1, 2, 10, 1000, 10**6):
        for name, s, m in (("zero delays", 0.0, 0.0),
                           ("constant delay 5", float(sum(min(5, t - 1) for t in range(1, min(T, 6) + 1)) + 5 * max(T - 6, 0)),
                            float(min(5, T - 1))),
                           ("d_t = t - 1", T * (T - 1) / 2, float(T - 1))):
            if T == 1 and name != "zero delays":
                continue
            for rej in ((0, T // 2) if metric == "rejections" else (None,)):
                stats_ = dict(T=float(T), sum_d=s, tau_avg=s / T, tau_max=m)
                what = f"T = {T}, {name}"
                if rej is not None:
                    stats_.update(rejected=float(rej), accepted=float(T - rej))
                    what += f", {rej} rejected"
                out.append((what, stats_))
    return out


def check_bound(conj: Conjecture) -> None:
    """ValueError if ``conj.bound`` cannot hold (see the module docstring), naming the value and where."""
    fn = _numeric(parse(conj.bound, "bound", run_counts=conj.metric == "rejections"))
    count = "steps" if conj.metric == "steps" else "rejections"
    nonzero = False
    for inst in conj.instances:
        p = inst.problem()
        ctx = dict(beta=p.beta, F=p.F, eps=inst.eps, sigma=conj.sigma, B=_breakpoints(p.beta, p.F, inst.eps))
        for what, st in _probes(conj.metric):
            with np.errstate(all="ignore"):
                v = complex(np.asarray(fn(**ctx, **st)).item())
            where = f"at {what} on {inst.describe()}"
            if v.imag != 0 or math.isnan(v.real):
                raise ValueError(f"bound {conj.bound!r} is not a real number ({v.real if not v.imag else v}) {where}")
            v = v.real
            if v < 0:
                raise ValueError(f"bound {conj.bound!r} = {v:g} is negative {where}: {count} are counted, so they "
                                 "are >= 0 and the claim cannot hold")
            nonzero = nonzero or v > 0
            if conj.metric == "steps" and st["T"] == 1 and v <= 1:
                raise ValueError(f"bound {conj.bound!r} = {v:g} <= 1 at T = 1 on {inst.describe()}: every sequence "
                                 "has d_1 = 0, so the claim would be that x_1 is already eps-stationary, which it is "
                                 "not; a steps bound must exceed 1 at T = 1")
    if not nonzero:
        raise ValueError(f"bound {conj.bound!r} is 0 wherever probed: the claim that no gradient is ever rejected "
                         "cannot hold for a rule that rejects; give a bound > 0")


@dataclass
class Outcome:
    """A counterexample (``found``) or none among ``examples`` evaluated sequences.

    ``examples``: distinct sequences evaluated (shrinking included; at most the budget);
    ``skipped``: how many of them were skipped, by reason; ``stopped``: "budget", "time" or None
    (the search ended on its own); ``seconds``: the wall time; ``shrunk``: False when the
    counterexample is one of the :func:`family_examples` (reported as it is)."""

    conjecture: Conjecture
    found: bool
    examples: int
    discarded: int
    program: Any = None
    instance: Instance | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    seconds: float = 0.0
    shrunk: bool = True

    def replay_command(self, path: str | Path) -> str:
        """The ``picky simulate`` command that reruns the counterexample from its saved trace
        (``path`` made absolute; every rule parameter given explicitly)."""
        inst, d = self.instance, self.detail
        path = Path(path).resolve()
        import shlex

        user = ""
        if self.conjecture.accept is not None:
            from verify.algorithms import USER_RULES
            from verify.algorithms.user import format_rule_spec

            user = f"--user-rule {shlex.quote(format_rule_spec(USER_RULES[self.conjecture.rule_name]))} "
        cmd = (f"picky simulate {user}--algorithm {self.conjecture.rule_name} --problem {inst.spec} --dim {inst.dim} "
               f"--delays replay:path={_quote(str(path))} --eps {inst.eps:g} --steps {d['steps']} "
               f"--sigma {self.conjecture.sigma:g} --seeds {self.conjecture.seeds if self.conjecture.sigma else 1}")
        for name, value in d.get("parameters", {}).items():
            if name == "rule" and self.conjecture.accept is not None:
                continue  # the user rule has the chosen step built in
            cmd += f" {_SIMULATE_FLAG[name]} {value!r}" if not isinstance(value, str) else f" {_SIMULATE_FLAG[name]} {value}"
        return cmd


def _quote(path: str) -> str:
    """A path as a spec value (quoted when it holds a character of the spec grammar), shell-safe."""
    import shlex

    value = f'"{path}"' if any(c in path for c in ',:="') else path
    return shlex.quote(value) if value != shlex.quote(value) else value


class _Evaluator:
    """The check of one searched sequence on every instance."""

    def __init__(self, conj: Conjecture):
        self.conj = conj
        self.bound = _numeric(parse(conj.bound, "bound", run_counts=conj.metric == "rejections"))
        self.eta = _numeric(parse(conj.eta, "eta")) if conj.eta else None
        spec = algorithms.ALGORITHMS[conj.algorithm].params
        self.params = {name: (value if spec[name].kind is str else _numeric(parse(value, f"parameter {name}")),
                              spec[name].kind) for name, value in conj.params}

    def __call__(self, inst: Instance, d: np.ndarray) -> tuple[dict[str, Any] | None, str | None]:
        """(result, None), or (None, the reason the sequence is skipped on ``inst``)."""
        conj = self.conj
        prob = inst.problem()
        eps = inst.eps
        T_all = d.size
        Ts = np.arange(1, T_all + 1, dtype=float)
        cs = np.cumsum(d, dtype=float)
        cm = np.maximum.accumulate(d).astype(float)
        ctx = dict(beta=prob.beta, F=prob.F, eps=eps, sigma=conj.sigma, B=_breakpoints(prob.beta, prob.F, eps))
        seeds = list(range(conj.seeds)) if conj.sigma else [0]

        def algorithm(n: int):
            """The algorithm on d_1..d_n, eta and the rule parameters from the statistics of those n steps."""
            seq = delays.from_trace(d[:n])
            stats_n = dict(ctx, tau_avg=cs[n - 1] / n, tau_max=cm[n - 1], T=float(n), sum_d=cs[n - 1])
            kw: dict[str, Any] = {}
            exprs = ({"eta": (self.eta, float)} if self.eta is not None else {}) | self.params
            for name, (fn, kind) in exprs.items():
                if kind is str:
                    kw[name] = fn
                    continue
                with np.errstate(all="ignore"):
                    v = float(fn(**stats_n))
                if not math.isfinite(v):
                    return seq, None, f"{name} not a finite number"
                kw[name] = math.floor(v) if kind is int else v
            try:
                if conj.accept is not None:
                    kw.pop("rule", None)  # the user rule has the chosen step built in
                alg = algorithms.resolve(conj.rule_name, beta=prob.beta, F=prob.F, eps=eps, sigma=conj.sigma,
                                         delays=seq, **kw)
            except ValueError:
                if not kw:
                    raise
                return seq, None, "a rule parameter out of its range"
            return seq, alg, None

        if conj.metric == "steps":
            with np.errstate(all="ignore"):
                b = np.broadcast_to(np.asarray(self.bound(**ctx, tau_avg=cs / Ts, tau_max=cm, T=Ts, sum_d=cs),
                                               dtype=float), Ts.shape)
            ok = Ts >= b
            if not ok.any():
                return None, f"T >= bound never held within {T_all:,} steps"
            T = int(np.argmax(ok)) + 1
            seq, alg, why = algorithm(T)
            if alg is None:
                return None, why
            runs = engine.run_batch(prob, seq, alg, seeds, T=T, stop_at_hit=True, record_rejections=False, threads=1)
            hits = [r.first_hit for r in runs]
            k = sum(h is not None for h in hits)
            if conj.sigma:
                from scipy import stats

                p = float(stats.binomtest(k, len(runs), 0.5, alternative="less").pvalue)
                violated = p < conj.alpha
            else:
                p, violated = None, k == 0
            med = float(np.median([h if h is not None else np.inf for h in hits]))
            return {"violated": violated, "T": T, "steps": T, "bound_at_T": float(b[T - 1]), "hits": k,
                    "runs": len(runs), "p_value": p, "median_first_hit": med if math.isfinite(med) else None,
                    "margin": med / T if math.isfinite(med) else None, "eta": alg.eta, "parameters": _parameters(alg),
                    "tau_avg": float(cs[T - 1] / T), "tau_max": int(cm[T - 1]), "sum_d": int(cs[T - 1]),
                    "diverged": sum(r.diverged for r in runs)}, None
        seq, alg, why = algorithm(T_all)
        if alg is None:
            return None, why
        runs = engine.run_batch(prob, seq, alg, seeds, T=T_all, stop_at_hit=True, record_rejections=True, threads=1)
        worst: dict[str, Any] | None = None
        for r in runs:
            h = r.first_hit
            n = h - 1 if h is not None else r.steps_run  # the steps run before the first hit
            rej = int(np.count_nonzero(r.rejected_steps < h)) if h is not None else int(r.rejected)
            st = dict(T=float(n), sum_d=float(cs[n - 1]) if n else 0.0, tau_avg=float(cs[n - 1] / n) if n else 0.0,
                      tau_max=float(cm[n - 1]) if n else 0.0, rejected=float(rej), accepted=float(n - rej))
            with np.errstate(all="ignore"):
                bound = float(self.bound(**ctx, **st)) if n else math.inf
            if math.isnan(bound):
                return None, f"bound not a number at the run's statistics ({st})"
            ratio = rej / bound if bound > 0 else (math.inf if rej > 0 else 0.0)
            res = {"violated": rej > bound, "T": n, "steps": h if h is not None else r.steps_run, "first_hit": h,
                   "bound": bound, "rejections": rej, "accepted": n - rej, "margin": ratio, "eta": alg.eta,
                   "parameters": _parameters(alg), "tau_avg": st["tau_avg"], "tau_max": int(st["tau_max"]),
                   "sum_d": int(st["sum_d"]), "seed": r.seed}
            if worst is None or (res["violated"], res["margin"]) > (worst["violated"], worst["margin"]):
                worst = res
        return worst, None


def _parameters(alg: algorithms.Algorithm) -> dict[str, Any]:
    """Every resolved rule parameter of ``alg`` (eta, rho, R, tau_C, rule), for the replay command."""
    return {name: getattr(alg, name) for name in type(alg).params if hasattr(alg, name)}


def _score(res: dict[str, Any]) -> float:
    """What Hypothesis maximises: metric/bound (steps: median first hit / T*, and 10 when most runs
    never hit by T*, a large value, not a measurement)."""
    m = res["margin"]
    return float(min(10.0 if m is None else m, 1e6))


class _Exhausted:
    """Returned once the budget or the time limit is spent."""


class _Violation(Exception):
    pass


class _Stop(Exception):
    """The budget or the time limit is spent before any counterexample."""


def family_examples() -> list[Any]:
    """The named program families at two scales each, checked first (Hypothesis ``@example``) by
    every search whatever its seed: a constant delay (10, 100, 1000 for 10^4 steps), bursts of 41
    and 401 gradients at one iterate, a ramp of height 60, a two-point pattern (every 100th step
    delayed by 1000), one straggler, and Pareto(1.5) delays. A counterexample among them is
    reported as it is (Hypothesis does not shrink explicit examples)."""
    from verify.models import programs as P

    S = P.Segment
    segs = [S("constant", 10_000, {"tau": 10}), S("constant", 10_000, {"tau": 100}), S("constant", 10_000, {"tau": 1000}),
            S("bursty", 40_000, {"m": 40}), S("bursty", 40_000, {"m": 400}), S("ramp", 20_000, {"D": 60}),
            S("two-point", 100_000, {"p": 0.01, "D": 1000}), S("straggler", 10_000, {"D": 10_000}),
            S("pareto", 100_000, {"alpha": 1.5, "scale": 3.0, "seed": 0})]
    return [P.Program((s,)) for s in segs]


def hunt(conj: Conjecture, *, budget: int = 200, seed: int = 0, max_seconds: float | None = None,
         progress: Callable[[str], None] | None = None, progress_every: float = 5.0,
         examples: bool = True) -> Outcome:
    """Search delay sequences (Hypothesis, derandomized from ``seed``) for a counterexample,
    evaluating at most ``budget`` distinct sequences (shrinking included) and, if ``max_seconds``
    is given, stopping the evaluations after that much wall time. The :func:`family_examples`
    come first (``examples=False`` leaves them out, to measure the generated search alone).
    ``progress(line)`` is called at most every ``progress_every`` seconds with the state of the
    search, and once at the end."""
    from hypothesis import HealthCheck, Phase, assume, example, given, settings, target
    from hypothesis import seed as hseed

    from verify.search import strategies

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer (number of sequences evaluated); got {budget!r}")
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and not isinstance(max_seconds, bool)
                                        and max_seconds > 0 and math.isfinite(max_seconds)):
        raise ValueError(f"max_seconds must be a finite number > 0; got {max_seconds!r}")
    evaluate = _Evaluator(conj)
    instances = conj.instances
    start = time.monotonic()
    cache: dict[Any, Any] = {}
    state: dict[str, Any] = {"evaluated": 0, "skipped": Counter(), "stopped": None, "best": None,
                             "printed": start, "found": False, "explicit": False}
    last: dict[str, Any] = {}

    def report(final: bool = False) -> None:
        now = time.monotonic()
        if progress is None or (not final and now - state["printed"] < progress_every):
            return
        state["printed"] = now
        best = state["best"]
        if state["found"]:
            what = "counterexample found" + ("" if state["explicit"] else ", shrinking it")
        elif best is None:
            what = "nothing checked yet"
        else:
            what = f"largest {conj.metric}/bound so far {_fmt_margin(best[1]['margin'])} (on {best[0].spec})"
        progress(f"picky hunt: {state['evaluated']}/{budget} sequences evaluated in {now - start:.0f} s; {what}")

    explicit = family_examples() if examples else []

    def check(prog: Any) -> Any:
        if prog in cache:
            return cache[prog]
        if state["evaluated"] >= budget:
            state["stopped"] = state["stopped"] or "budget"
            return _Exhausted
        if max_seconds is not None and time.monotonic() - start > max_seconds:
            state["stopped"] = state["stopped"] or "time"
            return _Exhausted
        state["evaluated"] += 1
        d = prog.expand().delays
        d = np.concatenate([d, np.zeros(LENGTH - d.size, np.int64)]) if d.size < LENGTH else d[:LENGTH]
        results, reasons = {}, []
        for inst in instances:  # every sequence on every instance
            res, why = evaluate(inst, d)
            if res is None:
                reasons.append(why)
            else:
                results[inst] = res
        if results:
            out = max(results.items(), key=lambda kv: (kv[1]["violated"], _score(kv[1])))
            if state["best"] is None or _score(out[1]) > _score(state["best"][1]):
                state["best"] = out
        else:
            out = None
            state["skipped"][reasons[0]] += 1
        cache[prog] = out
        report()
        return out

    def search(prog):
        out = check(prog)
        if out is _Exhausted:
            if state["found"]:
                return  # shrinking: the candidate counts as not failing
            raise _Stop()  # end the search (Hypothesis' shrinking of _Stop costs no evaluation)
        assume(out is not None)
        inst, res = out
        target(_score(res), label="metric / bound")
        if res["violated"]:
            state["found"] = True
            state["explicit"] = prog in explicit
            last.update(program=prog, instance=inst, detail=res)
            raise _Violation()

    search = given(strategies.programs(max_segments=3, max_T=LENGTH // 2))(search)
    for prog in reversed(explicit):
        search = example(prog)(search)
    search = settings(max_examples=budget, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
                      suppress_health_check=list(HealthCheck), report_multiple_bugs=False)(search)
    search = hseed(seed)(search)

    try:
        with strategies.reproducible_search():
            search()
    except (_Violation, _Stop):
        pass
    except Exception as exc:
        if type(exc).__name__ not in ("Unsatisfiable", "FailedHealthCheck", "Flaky", "FlakyFailure"):
            raise
    report(final=True)
    skipped = dict(state["skipped"])
    common = dict(skipped=skipped, stopped=state["stopped"], seconds=time.monotonic() - start,
                  shrunk=not state["explicit"])
    if last:
        return Outcome(conj, True, state["evaluated"], sum(skipped.values()), last["program"], last["instance"],
                       last["detail"], **common)
    return Outcome(conj, False, state["evaluated"], sum(skipped.values()), **common)


def _fmt_margin(m: float | None) -> str:
    return "never hit" if m is None else f"{m:.4g}"


def save_counterexample(outcome: Outcome, directory: str | Path) -> Path:
    """Write the shrunk counterexample's delay trace (JSON, replayable with ``--delays replay:path=``;
    the steps the replay runs: to T* for steps, to the first hit for rejections) and its program;
    returns the trace path (absolute)."""
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    prog = outcome.program
    n = outcome.detail["steps"]
    arr = prog.expand().delays
    arr = np.concatenate([arr, np.zeros(max(0, n - arr.size), np.int64)])[:n]
    path = d / "counterexample-delays.json"
    delays.save_trace(delays.from_trace(arr, model="hunter", program=prog.describe()), path)
    atomic_write_text(d / "counterexample-program.json", json.dumps(prog.to_json(), indent=2) + "\n")
    return path

"""The conjecture hunter: Hypothesis searches delay sequences for a counterexample to a claimed bound.

A conjecture is "for every delay sequence, metric <= bound", for one algorithm on a problem with
exact constants:

* ``metric = "steps"``: the bound is a sufficient horizon, as in Theorem D -- for every sequence
  d_1..d_T with T >= bound(d_1..d_T), the algorithm is eps-stationary by step T. The hunter takes, for
  each searched sequence, the first prefix length T* that satisfies T* >= bound(d_1..d_{T*}) (a
  sequence with none is discarded) and runs to T*. sigma = 0: a run that has not hit eps by T* is a
  counterexample. sigma > 0 (the theorems' "with probability >= 1/2"): ``seeds`` runs, and a
  counterexample is one where the one-sided exact binomial test rejects P(hit by T*) >= 1/2 at
  ``alpha``.
* ``metric = "rejections"``: the gradients rejected before the first eps-stationary iterate (over
  the whole sequence), against bound(d_1..d_T) with T the sequence's length.

Expressions (``bound``, ``eta``) are SymPy over theory's symbols: beta, F, eps, sigma, tau_avg,
tau_max, T, sum_d (= sum_{t<=T} d_t), plus numbers and functions (sqrt, log, Max, Min, ...). ``eta``
is evaluated once per checked horizon, with the statistics of d_1..d_T of that horizon (an algorithm
that knows the delay statistics of its run in advance, as delayed SGD's theorem assumes).

The searched sequences are programs (:mod:`verify.models.programs`), followed by zeros; Hypothesis
shrinks a counterexample to the smallest program it can, and the hunter reports it with a replay
command.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sympy as sp
from scipy import stats

from theory import symbols as S

from verify import algorithms, engine
from verify.models import delays, problems
from verify.io.output import atomic_write_text

__all__ = ["Conjecture", "Outcome", "hunt", "parse", "SYMBOLS", "INSTANCES"]

_SUM_D = sp.Symbol("sum_d", nonnegative=True)
#: the names an expression may use
SYMBOLS: dict[str, sp.Symbol] = {"beta": S.beta, "F": S.F, "eps": S.eps, "sigma": S.sigma, "tau_avg": S.tau_avg,
                                 "tau_max": S.tau_max, "T": S.T, "sum_d": _SUM_D}
_FUNCS = {"sqrt": sp.sqrt, "log": sp.log, "exp": sp.exp, "Max": sp.Max, "Min": sp.Min, "max": sp.Max, "min": sp.Min,
          "ceiling": sp.ceiling, "floor": sp.floor, "pi": sp.pi, "E": sp.E}

#: problems the hunter searches over: (problem spec, dim, eps)
INSTANCES: dict[str, tuple[str, int, float]] = {
    "quad": ("quadratic:spectrum=constant,L=1,scale=0.5", 4, 0.5),  # beta = 1, F = 1/2
    "logsum": ("logsum:width=1.4142135623730951,scale=0.5", 2, 0.5),  # beta = 1, F = 2 log(17/8)
    "slow": ("quadratic:spectrum=linear,mu=0.01,L=1", 10, 0.05),  # beta = 1, condition number 100: ~1e3 steps
}
#: every searched program is continued by zeros to this length (programs have at most half of it)
LENGTH = 1_000_000


def parse(text: str, what: str) -> sp.Expr:
    """A SymPy expression over :data:`SYMBOLS`; ValueError naming ``what``, the unknown names and the allowed ones."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} must be a non-empty expression over {', '.join(SYMBOLS)}; got {text!r}")
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))
    unknown = sorted(names - set(SYMBOLS) - set(_FUNCS))
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {unknown} in {text!r}; allowed: {', '.join(SYMBOLS)} "
                         f"and {', '.join(_FUNCS)}")
    try:
        expr = sp.sympify(text, locals={**SYMBOLS, **_FUNCS})
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{what}: cannot parse {text!r} ({type(exc).__name__}); write e.g. '512*beta*F/eps**2'") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"{what} must be a numeric expression; got {text!r}")
    unknown = sorted(str(s) for s in expr.free_symbols if s not in SYMBOLS.values())
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {unknown} in {text!r}; allowed: {', '.join(SYMBOLS)}")
    return expr


@dataclass(frozen=True)
class Conjecture:
    algorithm: str
    bound: str
    eta: str | None = None
    metric: str = "steps"
    sigma: float = 0.0
    seeds: int = 32
    alpha: float = 0.01

    def __post_init__(self) -> None:
        if self.algorithm not in algorithms.ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(algorithms.ALGORITHMS)}; got {self.algorithm!r}")
        if self.metric not in ("steps", "rejections"):
            raise ValueError(f"metric must be 'steps' or 'rejections'; got {self.metric!r}")
        if not (isinstance(self.sigma, (int, float)) and math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be a finite number >= 0; got {self.sigma!r}")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be a positive integer; got {self.seeds!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {self.alpha!r}")
        parse(self.bound, "bound")
        if self.eta is not None:
            parse(self.eta, "eta")


def _numeric(expr: sp.Expr) -> Callable[..., Any]:
    """``f(**values)`` with keyword names those of :data:`SYMBOLS` (numpy, broadcasting)."""
    names = list(SYMBOLS)
    fn = sp.lambdify([SYMBOLS[n] for n in names], expr, modules="numpy")
    return lambda **kw: fn(*(kw[n] for n in names))


@dataclass
class Outcome:
    """A counterexample (``found``) or none in ``examples`` sequences."""

    conjecture: Conjecture
    found: bool
    examples: int
    discarded: int
    program: Any = None
    instance: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def replay_command(self, path: str) -> str:
        spec, dim, eps = INSTANCES[self.instance]
        d = self.detail
        cmd = (f"picky simulate --algorithm {self.conjecture.algorithm} --problem {spec} --dim {dim} "
               f"--delays replay:path={path} --eps {eps} --steps {d['T']} --sigma {self.conjecture.sigma:g} "
               f"--seeds {self.conjecture.seeds if self.conjecture.sigma else 1}")
        if self.conjecture.eta is not None:
            cmd += f" --eta {d['eta']!r}"
        return cmd


class _Evaluator:
    def __init__(self, conj: Conjecture):
        self.conj = conj
        self.bound = _numeric(parse(conj.bound, "bound"))
        self.eta = _numeric(parse(conj.eta, "eta")) if conj.eta else None

    def __call__(self, inst: str, d: np.ndarray) -> dict[str, Any] | None:
        """The check on one sequence: None when discarded, else a dict with 'violated'."""
        conj = self.conj
        spec, dim, eps = INSTANCES[inst]
        prob = problems.make(spec, dim)
        T_all = d.size
        Ts = np.arange(1, T_all + 1, dtype=float)
        cs = np.cumsum(d, dtype=float)
        cm = np.maximum.accumulate(d).astype(float)
        ctx = dict(beta=prob.beta, F=prob.F, eps=eps, sigma=conj.sigma)
        seeds = list(range(conj.seeds)) if conj.sigma else [0]

        def algorithm(n: int):
            """The algorithm on d_1..d_n, its eta (if given) from the statistics of those n steps."""
            seq = delays.from_trace(d[:n])
            kw = {}
            if self.eta is not None:
                stats_n = dict(ctx, tau_avg=cs[n - 1] / n, tau_max=cm[n - 1], T=float(n), sum_d=cs[n - 1])
                eta = float(self.eta(**stats_n))
                if not (math.isfinite(eta) and eta > 0):
                    return seq, None
                kw["eta"] = eta
            return seq, algorithms.resolve(conj.algorithm, beta=prob.beta, F=prob.F, eps=eps, sigma=conj.sigma,
                                           delays=seq, **kw)

        if conj.metric == "steps":
            with np.errstate(all="ignore"):
                b = np.broadcast_to(np.asarray(self.bound(**ctx, tau_avg=cs / Ts, tau_max=cm, T=Ts, sum_d=cs), dtype=float), Ts.shape)
            ok = Ts >= b
            if not ok.any():
                return None
            T = int(np.argmax(ok)) + 1
            seq, alg = algorithm(T)
            if alg is None:
                return None
            runs = engine.run_batch(prob, seq, alg, seeds, T=T, stop_at_hit=True, record_rejections=False, threads=1)
            hits = [r.first_hit for r in runs]
            k = sum(h is not None for h in hits)
            if conj.sigma:
                p = float(stats.binomtest(k, len(runs), 0.5, alternative="less").pvalue)
                violated = p < conj.alpha
            else:
                p, violated = None, k == 0
            med = float(np.median([h if h is not None else np.inf for h in hits]))
            return {"violated": violated, "T": T, "bound_at_T": float(b[T - 1]), "hits": k, "runs": len(runs),
                    "p_value": p, "median_first_hit": med, "eta": alg.eta, "margin": (med / T) if math.isfinite(med) else 10.0,
                    "tau_avg": float(cs[T - 1] / T), "tau_max": int(cm[T - 1])}
        seq, alg = algorithm(T_all)
        if alg is None:
            return None
        runs = engine.run_batch(prob, seq, alg, seeds, T=T_all, stop_at_hit=True, record_rejections=True, threads=1)
        full = dict(ctx, tau_avg=cs[-1] / T_all, tau_max=cm[-1], T=float(T_all), sum_d=cs[-1])
        bound = float(self.bound(**full))
        rej = [r.rejected for r in runs]
        worst = max(rej)
        return {"violated": worst > bound, "T": T_all, "bound": bound, "rejections": worst, "eta": alg.eta,
                "margin": worst / bound if bound > 0 else math.inf, "tau_avg": full["tau_avg"], "tau_max": int(full["tau_max"])}


def hunt(conj: Conjecture, *, budget: int = 200, seed: int = 0, progress: Callable[[str], None] | None = None) -> Outcome:
    """Search ``budget`` sequences (Hypothesis, derandomized from ``seed``) for a counterexample."""
    from hypothesis import HealthCheck, Phase, assume, given, settings, target
    from hypothesis import seed as hseed
    from verify.search import strategies

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer (number of searched sequences); got {budget!r}")
    evaluate = _Evaluator(conj)
    seen = {"examples": 0, "discarded": 0}
    last: dict[str, Any] = {}

    @hseed(seed)
    @settings(max_examples=budget, database=None, deadline=None,
              phases=[Phase.generate, Phase.target, Phase.shrink], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(strategies.programs(max_segments=3, max_T=LENGTH // 2))
    def search(prog):
        d = prog.expand().delays
        d = np.concatenate([d, np.zeros(LENGTH - d.size, np.int64)]) if d.size < LENGTH else d[:LENGTH]
        results = {inst: evaluate(inst, d) for inst in INSTANCES}  # every sequence on every instance
        results = {k: v for k, v in results.items() if v is not None}
        if not results:
            seen["discarded"] += 1
        assume(bool(results))
        seen["examples"] += 1
        inst, res = max(results.items(), key=lambda kv: (kv[1]["violated"], kv[1]["margin"]))
        target(float(min(res["margin"], 1e6)), label="metric / bound")
        if res["violated"]:
            last.update(program=prog, instance=inst, detail=res)
            raise _Violation()

    class _Violation(Exception):
        pass

    try:
        with strategies.reproducible_search():
            search()
    except _Violation:
        pass
    except Exception as exc:
        if type(exc).__name__ not in ("Unsatisfiable", "FailedHealthCheck"):
            raise
    if last:
        return Outcome(conj, True, seen["examples"], seen["discarded"], last["program"], last["instance"], last["detail"])
    return Outcome(conj, False, seen["examples"], seen["discarded"])


def save_counterexample(outcome: Outcome, directory: str | Path) -> Path:
    """Write the shrunk counterexample's delay trace (JSON, replayable with ``--delays replay:path=``)
    and its program; returns the trace path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    prog = outcome.program
    arr = prog.expand().delays
    arr = np.concatenate([arr, np.zeros(max(0, outcome.detail["T"] - arr.size), np.int64)])[: outcome.detail["T"]]
    path = d / "counterexample-delays.json"
    delays.save_trace(delays.from_trace(arr, model="hunter", program=prog.describe()), path)
    atomic_write_text(d / "counterexample-program.json", json.dumps(prog.to_json(), indent=2) + "\n")
    return path

"""The algorithms, their parameters, and one short literal reference implementation each.

Model (paper.md §2; every algorithm here): steps t = 1..T. The server holds x_t and receives
g_t = grad f(x_{t-d_t}) + sigma z_t, a stochastic gradient computed at the iterate of step t - d_t
(0 <= d_t <= t-1), with z_t a fresh unit-variance noise vector (E z = 0, E||z||^2 = 1). Then

    x_{t+1} = x_t - eta_t g_t   if the algorithm accepts the gradient,   x_{t+1} = x_t otherwise.

Noise convention: z_t is drawn at every step, used or not, from the lane's own
``numpy.random.Generator`` (``default_rng(seed)``) as row t of ``noise.sample(rng, T, d)``; so two
algorithms run with the same seed see the same noise (common random numbers), and the engine, which
draws noise in blocks, reproduces the reference exactly.

Algorithms (accept rule, step eta_t):

- ``picky`` (Algorithm 1): accept iff ||x_t - x_{t-d_t}|| <= rho; eta_t = eta. Defaults from
  Theorem D (``theory`` ``picky-explicit``): eta = min{1/(9 beta), eps^2/(4 beta sigma^2),
  eps/(16 beta sigma)}, rho = eps/(2 beta).
- ``delayed-sgd``: always accept; eta_t = eta, default ``theory`` ``delayed-sgd`` step, scaled to
  the sequence's tau_max (known in advance: delayed SGD's theorem needs it).
- ``delay-adaptive``: always accept; eta_t = eta if d_t <= tau_C, else ``rule = "ksj"``:
  min{eta, 1/(4 beta d_t)} (KSJ 2022 Thm 8) or ``rule = "mishchenko"``: eta tau_C/d_t (the
  public code of Mishchenko et al. 2022: lr * n / max(n, delay)). Default eta from ``theory``
  ``delay-adaptive``; default tau_C = max(1, ceil(tau_avg)) of the sequence (a choice made here).
- ``stale-drop``: accept iff d_t < R (Ringmaster ASGD's idea: ignore gradients with delay >= R);
  eta = ``delayed-sgd``'s step for tau_max = R - 1. Default R = ceil(2 tau_avg) + 1 (choice made here:
  by Markov's inequality fewer than half of the gradients are dropped).
- ``sgd``: no delays at all (d_t = 0 whatever the sequence says); eta from ``theory`` ``sgd``
  (Ghadimi-Lan's gamma for N = its bound).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

import theory
from theory.validation import check, validate_delays

from .delays import DelaySequence, from_trace
from .records import RunResult

__all__ = ["ALGORITHMS", "OVERRIDES", "RULES", "Config", "resolve", "reference_run", "DivergenceGuard"]

ALGORITHMS = ("picky", "delayed-sgd", "delay-adaptive", "stale-drop", "sgd")
RULES = ("ksj", "mishchenko")
#: the parameters a user may set for each algorithm (everything else comes from theory)
OVERRIDES: dict[str, tuple[str, ...]] = {
    "picky": ("eta", "rho"),
    "delayed-sgd": ("eta",),
    "delay-adaptive": ("eta", "tau_C", "rule"),
    "stale-drop": ("eta", "R"),
    "sgd": ("eta",),
}


@dataclass(frozen=True)
class Config:
    """Resolved parameters of one algorithm on one problem (floats; ``source`` says where each
    default came from)."""

    algorithm: str
    eps: float
    sigma: float
    eta: float
    beta: float
    rho: float = math.inf  # picky
    R: int = 0  # stale-drop: accept iff d_t < R (0 = unused)
    tau_C: float = 0.0  # delay-adaptive
    rule: str = "ksj"  # delay-adaptive
    source: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "eps": self.eps,
            "sigma": self.sigma,
            "eta": self.eta,
            "beta": self.beta,
            "rho": None if math.isinf(self.rho) else self.rho,
            "R": self.R or None,
            "tau_C": self.tau_C or None,
            "rule": self.rule if self.algorithm == "delay-adaptive" else None,
            "source": dict(self.source),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        return cls(
            algorithm=d["algorithm"], eps=d["eps"], sigma=d["sigma"], eta=d["eta"], beta=d["beta"],
            rho=math.inf if d.get("rho") is None else d["rho"], R=d.get("R") or 0, tau_C=d.get("tau_C") or 0.0,
            rule=d.get("rule") or "ksj", source=dict(d.get("source") or {}),
        )


def resolve(
    algorithm: str,
    *,
    beta: float,
    F: float,
    eps: float,
    sigma: float,
    delays: DelaySequence | np.ndarray | None = None,
    eta: float | None = None,
    rho: float | None = None,
    R: int | None = None,
    tau_C: float | None = None,
    rule: str | None = None,
) -> Config:
    """Parameters of ``algorithm`` with defaults from :mod:`theory` (never retyped here).

    ``delays`` is needed for the defaults that depend on the sequence (delayed SGD's tau_max,
    stale-drop's R, delay-adaptive's tau_C). Overrides are validated.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}; got {algorithm!r}")
    beta, F, eps, sigma = check("beta", beta), check("F", F), check("eps", eps), check("sigma", sigma)
    src: dict[str, str] = {}
    d = None
    if delays is not None:
        d = delays.delays if isinstance(delays, DelaySequence) else validate_delays(delays)
    given = [n for n, v in (("eta", eta), ("rho", rho), ("R", R), ("tau_C", tau_C), ("rule", rule)) if v is not None]
    bad = [n for n in given if n not in OVERRIDES[algorithm]]
    if bad:
        raise ValueError(f"parameter(s) {bad} do not apply to algorithm {algorithm!r} (it takes {list(OVERRIDES[algorithm])})")

    def need_delays(what: str) -> np.ndarray:
        if d is None:
            raise ValueError(f"{algorithm}: the default {what} depends on the delay sequence; pass delays= or set it")
        return d

    cfg: dict[str, Any] = {}
    if algorithm == "picky":
        cfg["eta"] = theory.step_size("picky-explicit", beta=beta, sigma=sigma, eps=eps)
        src["eta"] = "theory picky-explicit step_size (Theorem D)"
        cfg["rho"] = theory.threshold("picky-explicit", beta=beta, eps=eps) if rho is None else check("eta", rho)
        src["rho"] = "theory picky-explicit threshold eps/(2 beta)" if rho is None else "user"
    elif algorithm == "delayed-sgd":
        tm = float(need_delays("eta").max(initial=0)) if eta is None else 0.0
        cfg["eta"] = theory.step_size("delayed-sgd", beta=beta, sigma=sigma, eps=eps, tau_max=tm)
        src["eta"] = f"theory delayed-sgd step_size at tau_max = {tm:g}"
    elif algorithm == "delay-adaptive":
        cfg["eta"] = theory.step_size("delay-adaptive", beta=beta, sigma=sigma, eps=eps)
        src["eta"] = "theory delay-adaptive step_size"
        if tau_C is None:
            dd = need_delays("tau_C")
            tau_C = float(max(1, math.ceil(dd.mean()))) if dd.size else 1.0
            src["tau_C"] = "max(1, ceil(tau_avg)) of the sequence (choice made here)"
        else:
            src["tau_C"] = "user"
        cfg["tau_C"] = check("tau_C", tau_C)
        rule = rule or "ksj"
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
        cfg["rule"] = rule
    elif algorithm == "stale-drop":
        if R is None:
            dd = need_delays("R")
            R = int(math.ceil(2 * dd.mean())) + 1 if dd.size else 1
            src["R"] = "ceil(2 tau_avg) + 1 (choice made here: Markov keeps > half the gradients)"
        else:
            src["R"] = "user"
        if isinstance(R, bool) or not isinstance(R, (int, np.integer)) or R < 1:
            raise ValueError(f"R must be an integer >= 1 (gradients with delay >= R are dropped); got {R!r}")
        cfg["R"] = int(R)
        cfg["eta"] = theory.step_size("delayed-sgd", beta=beta, sigma=sigma, eps=eps, tau_max=float(R - 1))
        src["eta"] = f"theory delayed-sgd step_size at tau_max = R - 1 = {R - 1}"
    elif algorithm == "sgd":
        cfg["eta"] = theory.step_size("sgd", beta=beta, F=F, sigma=sigma, eps=eps)
        src["eta"] = "theory sgd step_size (Ghadimi-Lan)"
    if eta is not None:
        cfg["eta"] = check("eta", eta)
        src["eta"] = "user"
    return Config(algorithm=algorithm, eps=eps, sigma=sigma, beta=beta, source=src, **cfg)


# ------------------------------------------------------------------------------------------
# divergence
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DivergenceGuard:
    """A run is stopped and flagged when its iterate is non-finite or ||x_t - x_1|| exceeds
    ``radius`` (default 1e12 (1 + ||x_1||)). Checked every step."""

    radius: float | None = None

    def radius_for(self, x1: np.ndarray) -> float:
        return self.radius if self.radius is not None else 1e12 * (1.0 + float(np.sqrt(np.sum(x1 * x1))))


# ------------------------------------------------------------------------------------------
# reference implementation: one run, a plain loop, next to the pseudo-code
# ------------------------------------------------------------------------------------------
def _norm(v: np.ndarray) -> float:
    return float(np.sqrt(np.add.reduce(v * v, axis=-1)))


def _decide(cfg: Config, t: int, d_t: int, x_t: np.ndarray, y_t: np.ndarray) -> tuple[bool, float]:
    """(accept, eta_t) for step t (1-indexed) with delay d_t, current x_t and stale y_t = x_{t-d_t}."""
    a = cfg.algorithm
    if a == "picky":  # Algorithm 1: apply the stale gradient only if x_t is still close to y_t
        return _norm(x_t - y_t) <= cfg.rho, cfg.eta
    if a == "stale-drop":  # drop gradients with delay >= R
        return d_t < cfg.R, cfg.eta
    if a == "delay-adaptive":
        if d_t <= cfg.tau_C:
            return True, cfg.eta
        if cfg.rule == "ksj":
            return True, min(cfg.eta, 1.0 / (4.0 * cfg.beta * d_t))
        return True, cfg.eta * cfg.tau_C / d_t
    return True, cfg.eta  # delayed-sgd, sgd


AdaptiveDelay = Callable[[int, list, Any], int]


def reference_run(
    problem: Any,
    delays: DelaySequence | np.ndarray | AdaptiveDelay,
    cfg: Config,
    *,
    seed: int,
    T: int | None = None,
    noise: Any = None,
    trace_every: int | None = None,
    stop_at_hit: bool = False,
    guard: DivergenceGuard = DivergenceGuard(),
) -> RunResult:
    """One run of ``cfg.algorithm``, written as the pseudo-code reads (O(T d) memory: it keeps
    every iterate). ``delays`` is a sequence, or a callable ``delay(t, iterates, problem) -> d_t``
    for an adaptive adversary (then the result is flagged ``adaptive``)."""
    from .problems import make_noise  # local: problems is an independent module

    noise = make_noise("gaussian") if noise is None else noise
    adaptive = callable(delays)
    if adaptive:
        if T is None:
            raise ValueError("T is required with an adaptive delay function")
        dseq = None
    else:
        dseq = delays if isinstance(delays, DelaySequence) else from_trace(delays)
        T = len(dseq) if T is None else T
        if T > len(dseq):
            raise ValueError(f"T = {T} exceeds the delay sequence length {len(dseq)}")
    rng = np.random.default_rng(seed)
    radius = guard.radius_for(problem.x1)
    x1 = np.array(problem.x1, dtype=float)
    zero = np.zeros_like(x1)
    xs = [x1]  # xs[k] is x_{k+1}
    used: list[int] = []
    first_hit = None
    gmin, gmin_step, fmin = math.inf, 0, math.inf
    accepted = rejected = 0
    rejected_steps: list[int] = []
    max_dist = max_gap = 0.0
    tr_steps, tr_g, tr_f = [], [], []
    diverged, div_step, div_reason = False, None, None
    steps_run = 0
    for t in range(1, T + 1):
        x_t = xs[t - 1]
        gx = problem.grad(x_t)
        G = _norm(gx)
        fx = float(problem.f(x_t))
        if not (math.isfinite(G) and math.isfinite(fx) and np.all(np.isfinite(x_t))):
            diverged, div_step, div_reason = True, t, "non-finite iterate"
            break
        if _norm(x_t - x1) > radius:
            diverged, div_step, div_reason = True, t, f"||x_t - x_1|| > {radius:g}"
            break
        if G <= cfg.eps and first_hit is None:
            first_hit = t
        if G < gmin:
            gmin, gmin_step = G, t
        fmin = min(fmin, fx)
        if trace_every and (t - 1) % trace_every == 0:
            tr_steps.append(t), tr_g.append(G), tr_f.append(fx)
        if stop_at_hit and first_hit is not None:
            break
        steps_run = t
        # fresh noise at every step, used or not (none drawn when sigma = 0: sigma z = 0 anyway)
        z = noise.sample(rng, 1, x_t.shape[0])[0] if cfg.sigma != 0.0 else zero
        d_t = int(delays(t, xs, problem)) if adaptive else int(dseq.delays[t - 1])
        if cfg.algorithm == "sgd":
            d_t = 0
        if adaptive and not 0 <= d_t <= t - 1:
            raise ValueError(f"adaptive delay at step t={t} is {d_t}; it must satisfy 0 <= d_t <= t-1")
        used.append(d_t)
        y_t = xs[t - 1 - d_t]
        accept, eta_t = _decide(cfg, t, d_t, x_t, y_t)
        if accept:
            gy = problem.grad(y_t)
            max_dist = max(max_dist, _norm(x_t - y_t))
            max_gap = max(max_gap, _norm(gx - gy))
            xs.append(x_t - eta_t * (gy + cfg.sigma * z))
            accepted += 1
        else:
            xs.append(x_t)
            rejected += 1
            rejected_steps.append(t)
    last = xs[-1]  # x_{steps_run + 1}; non-finite after a divergence (flagged)
    if adaptive:
        dseq = from_trace(np.array(used, dtype=np.int64), model="adaptive")
        dseq = DelaySequence(delays=dseq.delays, model="adaptive", params={}, seed=None, adaptive=True)
    return RunResult(
        algorithm=cfg.algorithm,
        config=cfg.as_dict(),
        problem=problem.describe(),
        noise=noise.describe(),
        seed=int(seed),
        T=int(T),
        steps_run=steps_run,
        first_hit=first_hit,
        min_grad_norm=gmin,
        min_grad_norm_step=gmin_step,
        min_f=fmin,
        final_grad_norm=_finite_or_nan(lambda: _norm(problem.grad(last))),
        final_f=_finite_or_nan(lambda: float(problem.f(last))),
        accepted=accepted,
        rejected=rejected,
        rejected_steps=np.array(rejected_steps, dtype=np.int64),
        max_accepted_distance=max_dist,
        max_accepted_grad_gap=max_gap,
        diverged=diverged,
        diverged_step=div_step,
        divergence_reason=div_reason,
        trace_every=trace_every,
        trace_steps=np.array(tr_steps, dtype=np.int64) if trace_every else None,
        trace_grad_norm=np.array(tr_g) if trace_every else None,
        trace_f=np.array(tr_f) if trace_every else None,
        delays=dseq,
        delay_stats=_stats(np.asarray(used, dtype=np.int64)),
        adaptive=adaptive,
        engine="reference",
        version=theory.__version__,
    )


def _finite_or_nan(fn: Callable[[], float]) -> float:
    with np.errstate(all="ignore"):
        v = fn()
    return v if math.isfinite(v) else math.nan


def _stats(d: np.ndarray) -> dict[str, Any]:
    from .delays import DelayStats

    if d.size == 0:
        return {"T": 0, "tau_avg": 0.0, "tau_max": 0, "sum": 0, "n_nonzero": 0, "quantiles": {}}
    return DelayStats.of(d).as_dict()

"""What the claims share: the budget of a profile, the context that collects every run, the
instances on which the theorems' horizons are within reach, and the statistics (scipy.stats).

Instances. Theorem D' needs T >= 512 beta F/eps^2 + 128 beta F sigma^2/eps^4 and
sum_{t<=T} d_t <= eps^2 T^2/(8960 beta F). With beta = 1, F = 1/2, eps = 1/2 the first is 1024 steps
and an average delay of 5 needs T ~ 9e4 -- within reach of the compiled engine; the checks stop
each lane at its first eps-stationary iterate, so a horizon costs only the steps actually needed.
"""
from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats

import theory

from verify import algorithms, engine
from verify.models import delays, problems
from verify.models.noise import make_noise
from verify.io.records import RunResult
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, Test, crashed

__all__ = ["Budget", "PROFILES", "Context", "Claim", "Instance", "INSTANCES", "clopper_pearson", "binom_less",
           "slope_ci_bootstrap", "slope_ci_ols", "holm", "interval_verdict", "exceedance_verdict", "no_horizon_reason"]

THEOREM_SHARP = "picky-explicit-sharp"
THEOREM_D = "picky-explicit"


@dataclass(frozen=True)
class Budget:
    """How much a profile spends. ``scale`` multiplies sequence lengths and largest delays."""

    profile: str
    seeds: int  # seeds per sequence for the stochastic claims (>= 200 in quick and full)
    draws: int  # random delay draws per setting (slopes)
    search_examples: int  # Hypothesis examples of the targeted search
    headline_D: tuple[int, ...]  # largest delays of the two-point family
    eps_points: int  # eps grid size for the scaling claim
    alpha: float = 0.01  # false-alarm rate of each statistical test


PROFILES: dict[str, Budget] = {
    "test": Budget("test", seeds=40, draws=4, search_examples=8, headline_D=(10, 100, 1000), eps_points=4),
    "quick": Budget("quick", seeds=200, draws=12, search_examples=120, headline_D=(10, 100, 1000, 3000), eps_points=5),
    "full": Budget("full", seeds=1000, draws=32, search_examples=400, headline_D=(10, 30, 100, 300, 1000, 3000, 10000),
                   eps_points=8),
}


@dataclass
class Collected:
    claim: str
    run: RunResult
    label: str  # delays label
    theorem_params: bool  # picky with Theorem D's eta and rho (the theorems apply)


@dataclass
class Context:
    """One ``picky verify`` run: the budget, the evidence so far and every run made (so that the
    counting lemma, the invariants and the tightness claims see the runs of every claim)."""

    budget: Budget
    evidence: dict[str, Evidence] = field(default_factory=dict)
    runs: list[Collected] = field(default_factory=list)
    progress: Callable[[str], None] = lambda msg: None
    out_dir: Any = None  # where a claim may save artefacts (the worst sequence found, ...)

    def collect(self, claim: str, runs: Sequence[RunResult], label: str) -> None:
        for r in runs:
            src = r.config.get("source", {})
            th = r.algorithm == "picky" and src.get("eta") != "user" and src.get("rho") != "user"
            self.runs.append(Collected(claim, r, label, th))


@dataclass(frozen=True)
class Claim:
    """A registered claim: what it checks (a theory result and its label), what is measured, on
    which instances, and ``run(ctx) -> Evidence``."""

    id: str
    number: int
    title: str
    result: str | None
    measures: str
    instances: str
    check: Callable[[Context], Evidence]

    @property
    def status(self) -> str | None:
        return result_status(self.result)

    def run(self, ctx: Context) -> Evidence:
        """Run the check; a check that raises (anything but an interrupt) is this claim's ``fail``,
        its error in the evidence -- never the end of ``picky verify`` (nor a "user error" exit)."""
        t0 = time.perf_counter()
        try:
            ev = self.check(ctx)
        except Exception as exc:  # noqa: BLE001 - reported as the claim's failure, with the error
            ev = crashed(self, exc, traceback.format_exc())
        ev.seconds = time.perf_counter() - t0
        ev.profile = ctx.budget.profile
        ev.rerun = f"picky verify --profile {ctx.budget.profile} --only {self.id}"
        ctx.evidence[self.id] = ev
        return ev


def result_status(result_id: str | None) -> str | None:
    """The status of a theory result: an iteration statement (theory.get) or a time statement
    (theory.get_time); None for no result."""
    if not result_id:
        return None
    if result_id in theory.TIME_RESULTS:
        return theory.get_time(result_id).status.value
    return theory.get(result_id).status.value


# ------------------------------------------------------------------------------------------
# instances
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instance:
    """A problem with exact constants and a target: the theorems' horizons are computed from it."""

    name: str
    spec: str
    dim: int
    eps: float
    x1: tuple[float, ...] | None = None

    def problem(self) -> problems.Problem:
        kw = {} if self.x1 is None else {"x1": np.array(self.x1)}
        return problems.make(self.spec, self.dim, **kw)

    def picky(self, sigma: float = 0.0) -> algorithms.Algorithm:
        p = self.problem()
        return algorithms.resolve("picky", beta=p.beta, F=p.F, eps=self.eps, sigma=sigma)

    def horizon(self, seq: delays.DelaySequence | np.ndarray, sigma: float = 0.0, result: str = THEOREM_SHARP) -> int | None:
        p = self.problem()
        d = seq.delays if isinstance(seq, delays.DelaySequence) else seq
        return theory.first_horizon(d, result=result, beta=p.beta, F=p.F, sigma=sigma, eps=self.eps)

    def describe(self) -> dict[str, Any]:
        p = self.problem()
        return {"name": self.name, "problem": p.spec, "dim": self.dim, "beta": p.beta, "beta_exact": p.beta_exact,
                "F": p.F, "F_exact": p.F_exact, "eps": self.eps}


INSTANCES = {
    # f = ||x||^2/2 on R^4 from x_1 = (1/2, ..., 1/2): beta = 1, F = 1/2 exactly; eps = 1/2
    "quad": Instance("quad", "quadratic:spectrum=constant,L=1,scale=0.5", 4, 0.5),
    # sum log(1 + x_i^2/2) on R^2 from x_1 = (3/2, 3/2) (non-convex beyond sqrt 2): beta = 1, F = 2 log(17/8)
    "logsum": Instance("logsum", "logsum:width=1.4142135623730951,scale=0.5", 2, 0.5),
    # Carmon et al.'s chain (3 coordinates, beta <= 1 as an upper bound, lam = 10): eps below the
    # floor L lam/152 = 0.066 that holds until the last coordinate is reached
    "chain": Instance("chain", "chain:L=1,lam=10", 3, 0.05),
}


def run_lanes(problem: Any, seqs: Sequence[delays.DelaySequence] | delays.DelaySequence,
              algs: Sequence[algorithms.Algorithm] | algorithms.Algorithm, seeds: Sequence[int], *, T: int,
              noise: str = "gaussian", **kw: Any) -> list[RunResult]:
    return engine.run_batch(problem, seqs, algs, list(seeds), T=T, noise=make_noise(noise), **kw)


def label(seq: delays.DelaySequence) -> str:
    if seq.model == "program":
        return "program:" + str(seq.params.get("describe", ""))[:80]
    params = ",".join(f"{k}={v}" for k, v in seq.params.items() if k != "program")
    return f"{seq.model}:{params}" if params else seq.model


def rows_of(runs: Sequence[RunResult], lbl: str, metrics: Sequence[str] = ("first_hit", "rejected")) -> list[Row]:
    out = []
    for r in runs:
        for m in metrics:
            out.append(Row(r.algorithm, r.problem.get("spec", ""), lbl, r.seed, m, getattr(r, m)))
    return out


# ------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------
def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial proportion (scipy.stats.binomtest)."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def binom_less(k: int, n: int, p0: float) -> float:
    """p-value of the one-sided exact binomial test of H0: p >= p0 against p < p0."""
    return float(stats.binomtest(k, n, p0, alternative="less").pvalue)


def binom_greater(k: int, n: int, p0: float) -> float:
    """p-value of the one-sided exact binomial test of H0: p <= p0 against p > p0."""
    return float(stats.binomtest(k, n, p0, alternative="greater").pvalue)


def slope_ci_bootstrap(x: Sequence[float], groups: Sequence[Sequence[float]], *, seed: int = 0,
                       confidence: float = 0.95, n_resamples: int = 2000) -> tuple[float, tuple[float, float]]:
    """Log-log slope of median(group) against x, with a percentile bootstrap CI that resamples
    every group independently (scipy.stats.bootstrap, one sample per group)."""
    lx = np.log(np.asarray(x, dtype=float))

    def slope(*gs, axis=-1):
        med = np.stack([np.median(g, axis=axis) for g in gs], axis=-1)
        ly = np.log(med)
        lxc = lx - lx.mean()
        return (ly * lxc).sum(axis=-1) / (lxc * lxc).sum()

    data = tuple(np.asarray(g, dtype=float) for g in groups)
    point = float(slope(*data))
    if all(np.all(g == g[0]) for g in data):  # no spread: the bootstrap distribution is a point
        return point, (point, point)
    res = stats.bootstrap(data, slope, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                          vectorized=True, random_state=np.random.default_rng(seed))
    return point, (float(res.confidence_interval.low), float(res.confidence_interval.high))


def slope_ci_ols(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> tuple[float, tuple[float, float]]:
    """Least-squares slope of log y on log x with its t-interval (scipy.stats.linregress)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    r = stats.linregress(lx, ly)
    tq = stats.t.ppf(0.5 + confidence / 2, len(lx) - 2) if len(lx) > 2 else math.inf
    return float(r.slope), (float(r.slope - tq * r.stderr), float(r.slope + tq * r.stderr))


def holm(pvalues: Sequence[float], alpha: float) -> tuple[list[bool], list[float]]:
    """Holm's step-down procedure (Holm 1979): the family-wise false-alarm rate over the m tests is
    <= alpha, under any dependence between them.

    Sort the p-values p_(1) <= ... <= p_(m); reject H_(1), ..., H_(k) where k is the largest index
    with p_(j) <= alpha/(m - j + 1) for every j <= k. Returns (rejected, adjusted p-values) in the
    input order; the adjusted p-value of H_(j) is max_{i <= j} min(1, (m - i + 1) p_(i)), and H is
    rejected iff its adjusted p-value is <= alpha."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if m == 0:
        return [], []
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj_sorted = np.maximum.accumulate(scaled)
    adj = np.empty(m)
    adj[order] = adj_sorted
    return [bool(a <= alpha) for a in adj], [float(a) for a in adj]


def exceedance_verdict(rejected: bool, estimate: float, bound: float) -> str:
    """The verdict of a claim "probability >= bound" (or "<= bound" via the sign) tested exactly:
    ``fail`` when the (multiplicity-corrected) exact test rejects the claim; ``inconclusive`` when it
    does not, but the point estimate is on the wrong side of the bound (the data do not support the
    claim either); ``pass`` otherwise. ``estimate >= bound`` is the claim's side."""
    if rejected:
        return FAIL
    return PASS if estimate >= bound else INCONCLUSIVE


def interval_verdict(ci: Sequence[float], lower: float | None = None, upper: float | None = None) -> str:
    """The verdict of a claim "lower <= theta <= upper" from a confidence interval [lo, hi] for theta:
    ``pass`` if the interval lies inside [lower, upper]; ``fail`` if it lies entirely outside (the
    test at the interval's level rejects the claim); ``inconclusive`` if it straddles an end (the
    point estimate may be on either side: the data cannot decide)."""
    lo, hi = float(ci[0]), float(ci[1])
    if not lo <= hi:
        raise ValueError(f"ci must be an interval [lo, hi] with lo <= hi; got {list(ci)!r}")
    lower = -math.inf if lower is None else lower
    upper = math.inf if upper is None else upper
    if hi < lower or lo > upper:
        return FAIL
    if lower <= lo and hi <= upper:
        return PASS
    return INCONCLUSIVE


def bonferroni_confidence(alpha: float, k: int) -> float:
    """The confidence level of each of k intervals so that all k cover together with prob. >= 1 - alpha."""
    return 1.0 - alpha / k


#: the two reasons why Theorem D' has no horizon on a sequence (the keys of ``Evidence.not_met``)
SHORTER_THAN_T0 = "the sequence is shorter than Theorem D''s minimum horizon T0 on this instance"
DELAYS_TOO_LARGE = ("no prefix meets Theorem D''s delay condition sum_(t<=T) d_t <= eps^2 T^2/(8960 beta F): "
                    "the average delay is too large for the sequence's length")


def no_horizon_reason(n_steps: int, tau_avg: float, *, beta: float, F: float, eps: float, sigma: float = 0.0) -> dict:
    """Why ``theory.first_horizon`` found no Theorem D' horizon on a sequence of ``n_steps`` delays with
    average ``tau_avg``: {"reason": one of the two kinds, "reason_detail": the numbers}. T0 and the steps
    needed come from theory (``iterations`` of Theorem D' at tau_avg = 0 and at the sequence's tau_avg)."""
    kw = dict(beta=beta, F=F, eps=eps, sigma=sigma)
    T0 = float(theory.iterations(THEOREM_SHARP, tau_avg=0.0, **kw))
    if T0 > n_steps:
        return {"reason": SHORTER_THAN_T0, "reason_detail": f"{n_steps} steps < T0 = {T0:.4g}"}
    need = float(theory.iterations(THEOREM_SHARP, tau_avg=float(tau_avg), **kw))
    return {"reason": DELAYS_TOO_LARGE,
            "reason_detail": f"at its tau_avg {tau_avg:.4g} Theorem D' needs about {need:.4g} steps; it has {n_steps}"}


def noop_test() -> Test:
    return Test("exact check on every instance", "none (deterministic: any violation is a failure)", 0.0)

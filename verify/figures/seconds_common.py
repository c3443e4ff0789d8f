"""What the seconds figures (issue 24: seconds-vs-workers, seconds-vs-heterogeneity, steps-and-seconds)
share: the instance, the one list of methods, a method's seconds to eps per seed, their summary, theory's
time statements, and each method's colour and name.

The methods are :data:`verify.claims.picky_seconds.METHODS` (claim 18's list: one place; a method added
there -- Rennala, minibatch -- appears in every seconds figure). Instance ``quad`` of the claims (beta = 1,
F = 1/2, eps = 1/2, dim 4), sigma = 1, task-keyed Gaussian noise; each method runs on the schedule its
policy induces under a fixed computation model, the schedule drawn once (seed 0; a fixed model has no
randomness), the noise seeded per run, stopped at the first eps-stationary iterate x_t. Seconds to eps =
the arrival time of step t - 1 (:func:`verify.runtime.simulation.seconds_to_hit`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import theory
from verify.claims import picky_seconds as ps
from verify.claims.common import INSTANCES
from verify.models import compute
from . import style

__all__ = ["METHODS", "plot_two_panels", "instance", "method_runs", "summary", "theory_times", "color", "name", "fleet_spec",
           "COMMAND"]

#: the methods of every seconds figure (claim 18's list)
METHODS = ps.METHODS
#: the command line that regenerates a figure (``--profile`` filled in)
COMMAND = "picky figures --out figures --only {name} --profile {profile}"
_EXTRA_COLORS = ("#444444", "#F0E442", "#117733", "#AA4499")


def instance() -> tuple[Any, Any, float]:
    """(claims' instance, problem, eps) of claim 18."""
    inst = INSTANCES[ps.INSTANCE]
    return inst, inst.problem(), float(inst.eps)


def fleet_spec(times: Sequence[float]) -> str:
    """The fixed model with the given worker times (``fixed:times=...``, each time written exactly)."""
    return "fixed:times=" + ";".join(repr(float(t)) for t in times)


def method_runs(method: Any, prob: Any, cm: compute.ComputeModel, eps: float, seeds: Sequence[int],
                T: int) -> list[dict[str, Any]]:
    """One row per seed: ``seed``, ``seconds`` (None if eps was not reached within T steps) and ``steps``
    (the first eps-stationary step t, None likewise), from :func:`verify.claims.picky_seconds.run_method`."""
    res = ps.run_method(method, prob, cm, eps, ps.SIGMA, T, list(seeds))
    return [{"seed": int(s), "seconds": None if sec is None else float(sec), "steps": None if hit is None else int(hit)}
            for s, (sec, hit) in zip(seeds, res)]


def summary(values: Sequence[float | None]) -> dict[str, Any]:
    """Median and 10%/90% quantiles over the seeds, a run that never reached eps counted as +inf (order
    statistics, numpy's ``inverted_cdf``: no interpolation with inf); a statistic that is inf is None.
    ``reached``: how many values are not None."""
    v = np.array([np.inf if x is None else float(x) for x in values], dtype=float)
    out: dict[str, Any] = {"reached": int(np.isfinite(v).sum()), "runs": int(v.size)}
    for key, q in (("median", 0.5), ("q10", 0.1), ("q90", 0.9)):
        x = float(np.quantile(v, q, method="inverted_cdf")) if v.size else np.inf
        out[key] = x if np.isfinite(x) else None
    return out


def theory_times(times: Sequence[float], prob: Any, eps: float) -> dict[str, float]:
    """theory.timing's T_homog (``time-homog``, min over m) and asynchronous SGD's time (``time-asgd``, all n
    workers) for the fleet, their unknown constants at the placeholder C = 1."""
    kw = dict(worker_times=list(times), beta=prob.beta, F=prob.F, sigma=ps.SIGMA, eps=eps)
    return {"T_homog": float(theory.time("time-homog", **kw)), "T_asgd": float(theory.time("time-asgd", **kw)),
            "m_star": int(theory.optimal_workers("time-homog", **kw))}


def _key(method: str) -> str | None:
    k = "delay-adaptive-ksj" if method == "delay-adaptive" else method
    return k if k in style.COLORS else None


def color(method: str, index: int = 0) -> str:
    """The method's colour of :mod:`.style` (a grey-ish spare for a method it does not know yet)."""
    k = _key(method)
    return style.COLORS[k] if k else _EXTRA_COLORS[index % len(_EXTRA_COLORS)]


def name(method: str) -> str:
    k = _key(method)
    return style.NAMES[k] if k else method


def describe(method: str) -> str:
    """The method's one-line description in claim 18 (the policy and parameters it runs with)."""
    return next((m.describe for m in METHODS if m.name == method), method)


def plot_two_panels(fig: Any, table: Any, x: str) -> tuple[Any, Any, list[dict[str, Any]], float]:
    """Figures 9 and 10's two panels against the column ``x`` of the table's rows: each method's median
    seconds to eps with its 10%-90% band (left) and the same over T_homog (right), a method that never
    reached eps marked at the top; both y axes logarithmic; T_homog and asynchronous SGD's time dashed (C = 1 placeholders).
    Returns (left axis, right axis, theory rows sorted by x, the top of the left axis)."""
    from .table import column

    ax, axr = fig.subplots(1, 2)
    th = sorted(table.select(kind="theory"), key=lambda r: r[x])
    x_th, homog = column(th, x), column(th, "T_homog")
    summ = table.select(kind="summary")
    methods = list(dict.fromkeys(r["method"] for r in summ))
    finite = [v for r in summ for v in (r.get("q90"), r.get("median")) if v is not None] + list(column(th, "T_asgd"))
    top = max(finite) * 2.0
    for i, m in enumerate(methods):
        rs = sorted(table.select(kind="summary", method=m), key=lambda r: r[x])
        xs = column(rs, x)
        med, lo, hi = column(rs, "median"), column(rs, "q10"), column(rs, "q90")
        hom = np.array([homog[list(x_th).index(v)] for v in xs])
        col = color(m, i)
        for a, scale in ((ax, 1.0), (axr, hom)):
            a.plot(xs, med / scale, color=col, marker="o", ms=3.5, label=name(m))
            a.fill_between(xs, lo / scale, np.where(np.isnan(hi), top / scale, hi / scale), color=col, alpha=0.15,
                           lw=0)
        never = [v for v, m_ in zip(xs, med) if np.isnan(m_)]
        if never:
            ax.plot(never, [top] * len(never), ls="none", marker="^", mfc="white", mec=col, ms=6, clip_on=False)
    ax.plot(x_th, homog, color="black", ls="--", lw=1.5, label="T_homog (time-homog, C = 1 placeholder)")
    ax.plot(x_th, column(th, "T_asgd"), color="#777777", ls="--", lw=1.5,
            label="asynchronous SGD's time (time-asgd, C = 1 placeholder)")
    axr.axhline(1.0, color="black", ls="--", lw=1.5)
    axr.plot(x_th, column(th, "T_asgd") / homog, color="#777777", ls="--", lw=1.5)
    for a in (ax, axr):
        a.set_yscale("log")  # before the limit: a limit set on the linear scale would be kept
    ax.set_ylim(top=top * 1.05)
    ax.set_ylabel("seconds to eps (median, 10%-90% band)")
    axr.set_ylabel("seconds to eps / T_homog (C = 1)")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.275), ncol=4, fontsize=8)
    return ax, axr, th, top

"""Figure 5 -- the delay distributions used: histograms on log axes, with tau_avg, the median and
tau_max marked, for the random models, the worker-pool simulation, the adversarial constructions and the
real asynchronous traces recorded on Dask workers (:mod:`verify.models.traces`).

Every sequence is made by :mod:`verify.models.delays` (``make(spec, T, seed)``), :mod:`verify.models.programs`
(the ramp) or, for the adaptive adversary, the realised delays of a reference run of Picky SGD against
``verify.models.adversaries.PickyRejector`` (the hunter's slow quadratic, R^10, condition number 100, eps = 0.05,
sigma = 0) until Picky's first eps-stationary iterate. Bins are
logarithmic in d_t for d_t >= 1; the share of zero delays is printed in each panel.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify.models import adversaries as adversary, delays, problems
from verify import algorithms
from verify.models.traces import async_traces
from . import style
from .context import Context
from .table import Table

NAME = "delay-distributions"
TITLE = "The delay distributions used: histograms with tau_avg, median and tau_max"
#: (group, label, spec)
PANELS: tuple[tuple[str, str, str], ...] = (
    ("random", "geometric, mean 5", "geometric:mean=5"),
    ("random", "Poisson(5)", "poisson:lam=5"),
    ("random", "two-point, p=0.1, D=100", "bimodal:p=0.1,D=100"),
    ("random", "Pareto(1.5), scale 3", "pareto:alpha=1.5,scale=3"),
    ("random", "log-normal(1, 1)", "lognormal:mu=1,s=1"),
    ("workers", "8 workers, exponential", "workers:n=8,dist=exponential"),
    ("workers", "8 workers, exponential, speeds 1..10", "workers:n=8,dist=exponential,spread=10"),
    ("workers", "8 workers, Pareto(1.2)", "workers:n=8,dist=pareto,alpha=1.2"),
    ("adversarial", "bursty / ramp, m = 20", "bursty:m=20"),
    ("adversarial", "KSJ straggler (n = 2)", "ksj-straggler"),
    ("adversarial", "constant 5", "constant:tau=5"),
    ("adversarial", "adaptive Picky-rejector (τ = 3)", "adversary:picky-rejector"),
)
GROUP_COLORS = {"random": "#4C72B0", "workers": "#55A868", "adversarial": "#8C564B", "real": "#C44E52"}


def _adversary_delays(T: int) -> np.ndarray:
    """The delays PickyRejector chose against Picky SGD until its first eps-stationary iterate."""
    prob = problems.make("quadratic:spectrum=linear,mu=0.01,L=1", 10)
    alg = algorithms.resolve("picky", beta=prob.beta, F=prob.F, eps=0.05, sigma=0.0)
    adv = adversary.PickyRejector(tau_budget=3.0, window=50, rule=alg)
    r = algorithms.reference_run(prob, adv, alg, seed=0, T=T, stop_at_hit=True)
    return np.asarray(r.delays.delays)


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "bin" (panel, lo, hi, count) and kind "stats" (panel, T, zeros, tau_avg, median, tau_max)."""
    T = 5_000 if profile == "test" else 100_000
    rows: list[dict[str, Any]] = []
    real = async_traces()
    panels = list(PANELS) + [("real", f"real: {seq.params.get('workers')} Dask workers, {seq.params.get('speeds')}",
                              f"trace:{name}") for name, seq in real.items()]
    for k, (group, label, spec) in enumerate(panels):
        if spec.startswith("adversary:"):
            d = _adversary_delays(500 if profile == "test" else 20_000)
        elif spec.startswith("trace:"):
            d = real[spec.split(":", 1)[1]].delays
        else:
            d = delays.make(spec, T, seed=seed).delays
        pos = d[d >= 1]
        top = max(int(d.max()), 1)
        edges = np.unique(np.floor(np.geomspace(1, top + 1, 40)).astype(np.int64))
        if edges[-1] <= top:
            edges = np.append(edges, top + 1)
        cnt, _ = np.histogram(pos, bins=edges)
        for lo, hi, c in zip(edges[:-1], edges[1:], cnt):
            rows.append({"kind": "bin", "panel": k, "lo": int(lo), "hi": int(hi), "count": int(c)})
        rows.append({"kind": "stats", "panel": k, "group": group, "label": label, "spec": spec, "T": int(d.size),
                     "zeros": int((d == 0).sum()), "tau_avg": float(d.mean()), "median": float(np.median(d)),
                     "tau_max": int(d.max()), "seed": seed if spec.split(":")[0] in ("geometric", "poisson", "bimodal",
                                                                                      "pareto", "lognormal", "workers") else None})
        if ctx is not None:
            ctx.progress(f"{NAME}: {label}")
    meta = {"title": TITLE, "seeds": [seed],
            "sentence": ("Histograms of every delay model used (random models, the worker pool, adversarial constructions "
                         "and an adaptive adversary's realised delays) on log axes, with tau_avg, the median and "
                         "tau_max marked: heavy tails and stragglers put tau_max orders of magnitude above tau_avg."),
            "caption": (f"T = {T} steps per sequence (the adaptive adversary: a reference run of Picky SGD, sigma = 0, "
                        "on the hunter's slow quadratic R^10, eps = 0.05, budget tau = 3, window 50, until Picky's first "
                        "eps-stationary iterate). Bins logarithmic for d >= 1, heights = frequency per step divided by the "
                        "bin's number of delay values; the share of d = 0 is printed. Random models drawn with default_rng(seed), seed "
                        f"{seed}. The CSV holds the raw counts."),
            "source": "verify.models.delays.make, verify.models.adversaries.PickyRejector + verify.algorithms.reference_run"}
    return Table(rows, meta)


def plot(table: Table):
    stats = sorted(table.select(kind="stats"), key=lambda r: r["panel"])
    n = len(stats)
    cols = 4
    nrows = -(-n // cols)
    fig = style.new_figure(15, 3.0 * nrows + 1.5)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for st, ax in zip(stats, axes.ravel()):
        bins = sorted(table.select(kind="bin", panel=st["panel"]), key=lambda r: r["lo"])
        lo = np.array([b["lo"] for b in bins], float)
        hi = np.array([b["hi"] for b in bins], float)
        c = np.array([b["count"] for b in bins], float) / st["T"] / (hi - lo)  # per delay value
        col = GROUP_COLORS[st["group"]]
        ax.bar(lo, np.where(c > 0, c, np.nan), width=hi - lo, align="edge", color=col, alpha=0.75, edgecolor="white",
               linewidth=0.3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        pos_c = c[c > 0]
        if pos_c.size:
            ax.set_ylim(pos_c.min() / 3, pos_c.max() * 4)
        ax.set_xlim(0.8, max(st["tau_max"] * 1.6, 10))
        marks = (("τ_avg", st["tau_avg"], "#D55E00", "-"), ("median", st["median"], "#000000", "--"),
                 ("τ_max", st["tau_max"], "#7B1FA2", ":"))
        for lab, v, mc, ls in marks:
            if v >= 1:
                ax.axvline(v, color=mc, ls=ls, lw=1.4, label=f"{lab} = {v:.3g}")
            else:
                ax.plot([], [], color=mc, ls=ls, label=f"{lab} = {v:.3g} (< 1, off axis)")
        ax.set_title(f"{st['label']}  [{st['group']}]", fontsize=9)
        ax.text(0.03, 0.04, f"P(d = 0) = {st['zeros'] / st['T']:.2f}", transform=ax.transAxes, fontsize=7.5,
                bbox=dict(boxstyle="round", fc="white", ec="#dddddd", alpha=0.9))
        ax.legend(loc="upper right", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("P(d_t = d), per delay value")
    for ax in axes[-1, :]:
        ax.set_xlabel("delay d_t (steps, log bins)")
    fig.suptitle(f"Figure 5. {TITLE}", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.05, right=0.99, top=0.93, bottom=0.1, hspace=0.45, wspace=0.22)
    style.caption(fig, table.meta["caption"], width=220)
    return fig

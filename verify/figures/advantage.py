"""Figure 2 -- theory: how much smaller Picky SGD's bound is than delayed SGD's, against the skew
tau_max/tau_avg, for several eps and sigma, with the crossover marked.

advantage(r) = delayed SGD's bound at tau_max = r tau_avg / Picky SGD's bound at tau_avg (> 1: Picky's
bound is the smaller). Left: both rate forms with the same placeholder constant C = 1 -- the crossover
is r = 1 by construction. Right: Picky's Theorem D (explicit constants, derived in this package)
against delayed SGD's rate with C = 1 -- the crossover is where ``theory.crossover_ratio`` puts it,
about 1e4 at sigma = 0 (it moves right with noise). The grey ticks are the skews of delay models
used elsewhere (measured on one draw each). All values from :mod:`theory`; nothing simulated.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import theory

from verify.models import delays
from . import style
from .context import Context
from .table import Table, column

NAME = "theory-advantage"
TITLE = "Theory: Picky SGD's bound against delayed SGD's, as the delays get skewed"
TAU_AVG = 2.0
EPSS = (0.3, 0.1, 0.03)
SIGMAS = (0.0, 1.0)
PANELS = (("rate", "picky", "Picky's rate vs delayed SGD's rate (both C = 1)"),
          ("theorem-D", "picky-explicit", "Picky's Theorem D (derived constants) vs delayed SGD's rate (C = 1)"))
#: skews of delay models used in other figures (label, spec, T)
MARKS = (("Pareto(1.5), T=2e5", "pareto:alpha=1.5,scale=3", 200_000),
         ("8 workers, Pareto(1.2)", "workers:n=8,dist=pareto,alpha=1.2", 100_000),
         ("8 workers, exponential", "workers:n=8,dist=exponential", 100_000),
         ("single straggler, T=1e5", "straggler", 100_000))


def _bound(rid: str, **kw: Any) -> np.ndarray:
    st = theory.get(rid)
    return np.asarray(theory.iterations(rid, C=1.0, **kw) if st.constant is not None else theory.iterations(rid, **kw), float)


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "curve" (panel, eps, sigma, ratio r, advantage), "crossover" (panel, eps, sigma,
    theory.crossover_ratio), "mark" (a delay model's measured tau_max/tau_avg; ``seed`` its draw)."""
    n = 25 if profile == "test" else 120
    r = np.logspace(0, 7, n)
    rows: list[dict[str, Any]] = []
    for panel, rid, _ in PANELS:
        for sigma in SIGMAS:
            for eps in EPSS:
                base = dict(beta=1.0, F=1.0, sigma=sigma, eps=eps)
                bd = _bound("delayed-sgd", tau_max=r * TAU_AVG, **base)
                bp = _bound(rid, tau_avg=TAU_AVG, **base)
                for ri, a in zip(r, bd / bp):
                    rows.append({"kind": "curve", "panel": panel, "eps": eps, "sigma": sigma, "ratio": float(ri),
                                 "advantage": float(a)})
                cr = theory.crossover_ratio(picky=rid, baseline="delayed-sgd", tau_avg=TAU_AVG, **base)
                rows.append({"kind": "crossover", "panel": panel, "eps": eps, "sigma": sigma, "ratio": float(cr),
                             "advantage": 1.0})
    for lab, spec, T in MARKS:
        T = min(T, 20_000) if profile == "test" else T
        s = delays.make(spec, T, seed=seed)
        st = s.stats()
        rows.append({"kind": "mark", "label": lab, "spec": spec, "T": T, "tau_avg": float(st.tau_avg),
                     "tau_max": float(st.tau_max), "ratio": float(st.tau_max / st.tau_avg)})
    cr0 = [x["ratio"] for x in rows if x["kind"] == "crossover" and x["panel"] == "theorem-D"]
    if ctx is not None:
        ctx.progress(f"{NAME}: crossovers {', '.join(f'{c:.3g}' for c in cr0)}")
    meta = {
        "title": TITLE, "seeds": [seed], "tau_avg": TAU_AVG, "eps": list(EPSS), "sigmas": list(SIGMAS),
        "sentence": (f"Delayed SGD's bound over Picky SGD's against tau_max/tau_avg (tau_avg = {TAU_AVG:g}): with equal "
                     "placeholder constants Picky's bound wins as soon as tau_max > tau_avg, but with Theorem D's "
                     f"explicit constants (derived here) only beyond a skew of {min(cr0):.3g} (sigma = 0) to "
                     f"{max(cr0):.3g} (sigma = 1, eps = {EPSS[-1]:g})."),
        "caption": ("advantage = delayed SGD's bound (tau_max = ratio x tau_avg) / Picky SGD's bound (tau_avg), "
                    f"beta = F = 1, tau_avg = {TAU_AVG:g}; both from theory/. Crossovers (circles) are "
                    "theory.crossover_ratio. Rate forms' C = 1 is a placeholder (the paper's constants are unknown); "
                    "Theorem D's constants are derived in this package. Grey ticks: tau_max/tau_avg of delay models "
                    f"used in the other figures (one draw each, seed {seed})."),
        "source": "theory.iterations, theory.crossover_ratio; marks from verify.models.delays.make",
    }
    return Table(rows, meta)


def plot(table: Table):
    m = table.meta
    fig = style.new_figure(12.5, 5.9)
    axes = fig.subplots(1, 2, sharey=True)
    cmap = {e: c for e, c in zip(m["eps"], ("#1b9e77", "#7570b3", "#444444"))}
    ls = {0.0: "-", 1.0: "--"}
    marks = table.select(kind="mark")
    for ax, (panel, _, title) in zip(axes, PANELS):
        for sigma in m["sigmas"]:
            for eps in m["eps"]:
                rs = table.select(kind="curve", panel=panel, eps=eps, sigma=sigma)
                ax.plot(column(rs, "ratio"), column(rs, "advantage"), color=cmap[eps], linestyle=ls.get(sigma, "-."),
                        label=f"ε = {eps:g}, σ = {sigma:g}")
                for c in table.select(kind="crossover", panel=panel, eps=eps, sigma=sigma):
                    ax.plot([c["ratio"]], [1.0], "o", color=cmap[eps], mfc="white", ms=6, zorder=4)
        ax.axhline(1.0, color="black", lw=0.9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("skew of the delays τ_max / τ_avg")
        ax.set_title(title, fontsize=9.5)
        for k, mk in enumerate(sorted(marks, key=lambda x: x["ratio"])):
            ax.axvline(mk["ratio"], color="#999999", lw=0.8, ls=":", zorder=1)
            ax.text(mk["ratio"] * 0.9, 0.03, mk["label"], transform=ax.get_xaxis_transform(),
                    fontsize=6.8, color="#555555", rotation=90, ha="right", va="bottom")
        crs = [c["ratio"] for c in table.select(kind="crossover", panel=panel)]
        txt = (f"crossover at τ_max/τ_avg = {min(crs):.3g}" if max(crs) / min(crs) < 1.01 else
               f"crossover at τ_max/τ_avg = {min(crs):.3g} .. {max(crs):.3g}")
        note = "\nσ = 0: the three ε coincide" if panel == "rate" else ""
        ax.text(0.03, 0.96, txt + "\nabove 1: Picky's bound is smaller" + note, transform=ax.transAxes, va="top", fontsize=8.5,
                bbox=dict(boxstyle="round", fc="white", ec="#cccccc"))
    axes[0].set_ylabel("delayed SGD's bound / Picky SGD's bound")
    h, lab = axes[1].get_legend_handles_labels()
    fig.legend(h, lab, loc="lower center", bbox_to_anchor=(0.5, 0.1), ncol=6, fontsize=8, frameon=False)
    fig.suptitle(f"Figure 2. {TITLE} (τ_avg = {m['tau_avg']:g}, β = F = 1)", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.88, bottom=0.27, wspace=0.06)
    style.caption(fig, m["caption"], width=175)
    return fig

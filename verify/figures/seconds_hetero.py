"""Figure 10 -- seconds to eps against the fleet's heterogeneity at a fixed number of workers n: the fixed
model tau_i = i^a (i = 1..n), a from 0 (a homogeneous fleet) to 2 (tau_n/tau_1 = n^2), every method of
claim 18's list (:data:`.seconds_common.METHODS`), with theory's T_homog and asynchronous SGD's time
(C = 1) dashed. The runs, medians and bands as in figure 9 (:mod:`.seconds_workers`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify.claims import picky_seconds as ps
from verify.models import compute as cmodels
from . import seconds_common as sc, style
from .context import Context
from .table import Table, column

NAME = "seconds-vs-heterogeneity"
TITLE = "Seconds to eps against the fleet's heterogeneity (tau_i = i^a) at a fixed number of workers"
N = {"test": 8, "quick": 64, "full": 256}
EXPONENTS = {"test": (0.0, 0.5, 1.0), "quick": (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
             "full": (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)}
#: odd, so that the median is one run (an order statistic, see seconds_common.summary)
SEEDS = {"test": 5, "quick": 15, "full": 31}


def fleet(n: int, a: float) -> np.ndarray:
    """tau_i = i^a seconds, i = 1..n."""
    return np.arange(1, n + 1, dtype=float) ** a


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "run" (a, method, seed, seconds, steps), "summary" (a, method, median, q10, q90, reached,
    runs), "theory" (a, tau_ratio = tau_n/tau_1, T_homog, T_asgd, m_star). ``seed``: the first noise seed."""
    inst, prob, eps = sc.instance()
    n = N.get(profile, N["quick"])
    seeds = list(range(seed, seed + SEEDS.get(profile, SEEDS["quick"])))
    exps = EXPONENTS.get(profile, EXPONENTS["quick"])
    rows: list[dict[str, Any]] = []
    for a in exps:
        times = fleet(n, a)
        cm = cmodels.make(sc.fleet_spec(times))
        rows.append({"kind": "theory", "a": a, "tau_ratio": float(times[-1] / times[0]),
                     **sc.theory_times(times, prob, eps)})
        for m in sc.METHODS:
            runs = sc.method_runs(m, prob, cm, eps, seeds, ps.horizon(n))
            rows += [{"kind": "run", "a": a, "method": m.name, **r} for r in runs]
            rows.append({"kind": "summary", "a": a, "method": m.name, **sc.summary([r["seconds"] for r in runs])})
        if ctx is not None:
            ctx.progress(f"{NAME}: a = {a}")
    th = {r["a"]: r for r in rows if r["kind"] == "theory"}

    def ratio(method: str, a: float) -> str:
        (r,) = [r for r in rows if r["kind"] == "summary" and r["method"] == method and r["a"] == a]
        return "not reached" if r["median"] is None else f"{r['median'] / th[a]['T_homog']:.2g}x"

    lo, hi = exps[0], exps[-1]
    meta = {
        "title": TITLE, "seeds": seeds, "seed": seed, "n": n, "command": sc.COMMAND.format(name=NAME, profile=profile),
        "methods": [m.name for m in sc.METHODS],
        "sentence": (f"Seconds to eps at n = {n} workers with tau_i = i^a: median seconds / T_homog (C = 1) from a = {lo:g} "
                     f"(homogeneous) to a = {hi:g} (tau_n/tau_1 = {th[hi]['tau_ratio']:.3g}): "
                     + ", ".join(f"{sc.name(m.name)} {ratio(m.name, lo)} -> {ratio(m.name, hi)}" for m in sc.METHODS)
                     + "."),
        "caption": (f"Instance quad (beta = 1, F = 1/2, eps = 1/2, R^4), sigma = 1. Fixed model with n = {n} workers, "
                    f"tau_i = i^a seconds (a = 0: all equal; a = {hi:g}: tau_n/tau_1 = n^{hi:g}); one schedule per method, "
                    f"noise seeds {seeds[0]}..{seeds[-1]}; median and 10%-90% band of the seconds to eps, a run not reaching "
                    f"eps within 20000 + 20 n steps counted as infinite (open marker at the top: median not reached). "
                    "Methods: claim 18's list (see figure 9); stale-drop is run on the asynchronous schedule where a "
                    "rejected arrival is a step (not Ringmaster ASGD). Dashed: T_homog (time-homog) and asynchronous SGD's "
                    "time (time-asgd) of theory.timing with C = 1, a placeholder."),
        "source": "verify.claims.picky_seconds.run_method (METHODS) on verify.engine.events schedules; theory.time",
    }
    return Table(rows, meta)


def plot(table: Table):
    fig = style.new_figure(13, 7.0)
    ax, axr, th, _ = sc.plot_two_panels(fig, table, "a")
    a_th = column(th, "a")
    n = table.meta.get("n")
    for ax_ in (ax, axr):
        ax_.set_xlabel(f"heterogeneity a (tau_i = i^a seconds, n = {n}; tau_n/tau_1 = n^a)")
        sec = ax_.secondary_xaxis("top", functions=(lambda x: x, lambda x: x))
        sec.set_xticks(list(a_th))
        sec.set_xticklabels([style.fmt(r["tau_ratio"]) for r in th], fontsize=7)
        sec.set_xlabel("tau_n / tau_1", fontsize=8)
    fig.suptitle(f"Figure 10. {TITLE}", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.36, wspace=0.2)
    style.caption(fig, table.meta["caption"], width=190)
    return fig

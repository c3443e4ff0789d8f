"""Figure 12 -- the delays each computation model induces: the complementary CDF P(d_t >= x) of the delays
(in steps) of the asynchronous policy (every arrival is a step, the worker restarts at the newest
iterate) under the fixed model tau_i = sqrt(i), the random models with heavy-tailed extra times (Pareto,
log-Cauchy) and the universal models (an outage of the fastest worker; periodic slowdowns) of claim 19
(:data:`verify.claims.time_models.MODELS`), with tau_avg, tau_max and the maximal concurrency (KSJ's
tau_C: gradients in flight, :meth:`verify.models.delays.DelaySequence.concurrency`) in the legend.

Each schedule: :func:`verify.engine.events.simulate` for T steps, compute times from default_rng(seed).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify.claims import time_models
from verify.engine import events
from verify.models import compute as cmodels
from . import style
from .context import Context
from .table import Table

NAME = "compute-delays"
TITLE = "The delays each computation model induces (asynchronous policy): CCDF with tau_avg, tau_max, concurrency"
N = {"test": 8, "quick": 32, "full": 64}
STEPS = {"test": 2000, "quick": 20000, "full": 100000}
#: (label, model key of claim 19's MODELS or "fixed")
MODELS: tuple[tuple[str, str], ...] = (
    ("fixed, tau_i = sqrt(i)", "fixed"),
    ("random, + Pareto(1.5) extra time", "pareto"),
    ("random, + log-Cauchy extra time", "logcauchy"),
    ("universal, outage of the fastest worker", "outage"),
    ("universal, periodic slowdowns", "periodic"),
)
COLORS = ("#000000", "#D55E00", "#CC79A7", "#0072B2", "#009E73")
#: line styles (the fixed and universal models' curves nearly coincide: tell them apart)
STYLES = (("-", 3.2), ("-", 1.6), ("-", 1.6), ("--", 1.8), (":", 2.2))


def spec(model: str, n: int) -> str:
    """The compute model's spec: the fixed fleet tau_i = sqrt(i), or claim 19's model on it."""
    return f"fixed:n={n},law=sqrt" if model == "fixed" else time_models.model_spec(model, n)


def _zero(rows: list[dict[str, Any]], model: str) -> float:
    """The fraction of the steps with delay 0 under ``model``."""
    c = {r["d"]: r["count"] for r in rows if r["kind"] == "count" and r["model"] == model}
    return c.get(0, 0) / sum(c.values())


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "count" (model, d, count: how many of the T steps have delay d) and kind "stats" (model,
    label, spec, n, T, tau_avg, median, tau_max, concurrency_max, concurrency_mean, seconds: the last
    arrival's time)."""
    n = N.get(profile, N["quick"])
    T = STEPS.get(profile, STEPS["quick"])
    rows: list[dict[str, Any]] = []
    for label, model in MODELS:
        sp_ = spec(model, n)
        cm = cmodels.make(sp_)
        sched = events.simulate(cm, T, seed=seed)
        seq = events.delay_sequence(sched, cm.name, dict(cm.params), seed)
        d = np.asarray(seq.delays, dtype=np.int64)
        cmax, cmean = seq.concurrency()
        vals, cnt = np.unique(d, return_counts=True)
        rows += [{"kind": "count", "model": model, "d": int(v), "count": int(c)} for v, c in zip(vals, cnt)]
        rows.append({"kind": "stats", "model": model, "label": label, "spec": sp_, "n": n, "T": T,
                     "tau_avg": float(d.mean()), "median": float(np.median(d)), "tau_max": int(d.max()),
                     "concurrency_max": int(cmax), "concurrency_mean": float(cmean),
                     "seconds": float(sched.time[-1])})
        if ctx is not None:
            ctx.progress(f"{NAME}: {label}")
    st = {r["model"]: r for r in rows if r["kind"] == "stats"}
    meta = {
        "title": TITLE, "seeds": [seed], "seed": seed, "command": f"picky figures --out figures --only {NAME} --profile {profile}",
        "sentence": (f"Delays of the asynchronous policy on n = {n} workers (tau_i = sqrt(i)), tau_avg / tau_max / max "
                     "concurrency: " + "; ".join(f"{m} {st[m]['tau_avg']:.3g} / {st[m]['tau_max']} / {st[m]['concurrency_max']}"
                                                  for _, m in MODELS)
                     + ": heavy-tailed compute times multiply tau_max (share of zero delays: "
                     + ", ".join(f"{m} {_zero(rows, m):.2f}" for _, m in MODELS) + f"; under log-Cauchy the {T}-th arrival "
                     f"comes at {st['logcauchy']['seconds']:.2g} s: most steps are made while the other workers are stuck in "
                     "enormous computations)."),
        "caption": (f"Asynchronous policy, n = {n} workers, T = {T} steps, compute times drawn from default_rng({seed}). "
                    "Models: fixed tau_i = sqrt(i) s; random = tau_i + eta_j with eta Pareto (Lomax alpha = 1.5, mean 1: "
                    "infinite variance) or log-Cauchy (exp(Cauchy), no mean); universal: worker 0 (the fastest) has no "
                    "power on [2, 20) s, or every worker runs 10x slower in the first half of every 4 s (claim 19's "
                    "models). Curves: P(d_t >= x) for x >= 1 over the T steps (the CSV holds the count of every delay "
                    "value). Legend: tau_avg, tau_max and the maximal concurrency (KSJ's tau_C: gradients in flight; "
                    "it undercounts near T)."),
        "source": "verify.engine.events.simulate (policy async) + verify.models.delays.DelaySequence.concurrency",
    }
    return Table(rows, meta)


def plot(table: Table):
    fig = style.new_figure(10, 6.4)
    ax = fig.subplots(1, 1)
    stats = table.select(kind="stats")
    for i, st in enumerate(stats):
        cnt = sorted(table.select(kind="count", model=st["model"]), key=lambda r: r["d"])
        d = np.array([r["d"] for r in cnt], float)
        c = np.array([r["count"] for r in cnt], float)
        ccdf = c[::-1].cumsum()[::-1] / c.sum()  # P(d_t >= d) at each observed d
        keep = d >= 1
        col = COLORS[i % len(COLORS)]
        ls, lw = STYLES[i % len(STYLES)]
        ax.step(d[keep], ccdf[keep], where="post", color=col, lw=lw, ls=ls,
                label=(f"{st['label']}: τ_avg = {st['tau_avg']:.3g}, τ_max = {st['tau_max']}, "
                       f"max concurrency = {st['concurrency_max']}"))
        ax.plot([st["tau_avg"]], [c[d >= st["tau_avg"]].sum() / c.sum()], marker="o", color=col, ms=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("delay x (steps)")
    ax.set_ylabel("P(d_t >= x)  (dot: τ_avg)")
    ax.legend(loc="upper right", fontsize=7.5)
    fig.suptitle(f"Figure 12. {TITLE}", x=0.01, ha="left", fontsize=11)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.25)
    style.caption(fig, table.meta["caption"], width=150)
    return fig

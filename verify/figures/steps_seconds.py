"""Figure 11 -- one run per method shown in steps (left) and in seconds (right): ||grad f(x_t)|| against
the step t and against the time x_t exists (the arrival time of step t - 1; 0 for x_1), until the first
eps-stationary iterate.

Methods on the same schedule (the asynchronous ones) keep their order from steps to seconds: a step
arrives at the same time for each. Ringmaster ASGD (computations of delay R cancelled) and the batch
methods (Rennala, minibatch SGD: a step is a round of gradients, traced with
:func:`verify.runtime.simulation.run_on_compute` as claim 18 runs them) have their own schedules, so
their steps can be fewer while each costs more: on a wide, nearly homogeneous fleet (n = 256, tau_i
log-spaced in [1, 2] s) Ringmaster reaches eps in far fewer steps than Picky SGD and yet later in seconds.
The figure finds each such reversal in the medians over the profile's seeds (meta ``reversals``) and
says so (or that none happened); the traces are the runs of seed ``seed``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from verify import engine
from verify.claims import picky_seconds as ps
from verify.models import compute as cmodels
from verify.models.noise import make_noise
from verify.runtime.simulation import run_on_compute
from . import seconds_common as sc, style
from .context import Context
from .table import Table, column

NAME = "steps-and-seconds"
TITLE = "One run in steps and in seconds: a method can win in steps and lose in seconds"
#: the fleet: many nearly equal workers (Ringmaster's R = 4 of n = 256 gradients per round are used)
FLEET = {"test": "fixed:n=32,law=log,spread=2", "quick": "fixed:n=256,law=log,spread=2",
         "full": "fixed:n=256,law=log,spread=2"}
#: odd, so that the median is one run (an order statistic, see seconds_common.summary)
SEEDS = {"test": 5, "quick": 15, "full": 31}
#: trace points kept per run (log-spaced steps, the hit always kept)
POINTS = 250


def reversals(summary: dict[str, tuple[float | None, float | None]]) -> list[tuple[str, str]]:
    """(A, B) pairs where A's median steps to eps are fewer than B's but A's median seconds more: A wins in
    steps and loses in seconds. ``summary``: method -> (median steps, median seconds), None = not reached."""
    out = []
    for a, (sa, ta) in summary.items():
        for b, (sb, tb) in summary.items():
            if None not in (sa, ta, sb, tb) and sa < sb and ta > tb:
                out.append((a, b))
    return out


def _keep(steps: int) -> np.ndarray:
    """Log-spaced 1-indexed steps in [1, steps], the last included."""
    return np.unique(np.concatenate([np.geomspace(1, steps, POINTS).round().astype(np.int64), [steps]]))


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "trace" (method, t, seconds, grad_norm: the traced run of seed ``seed``) and kind "summary"
    (method, steps_median, seconds_median, reached, runs over the seeds; steps_seed, seconds_seed: seed
    ``seed``'s run among them; hit: the traced run's first eps-stationary step)."""
    inst, prob, eps = sc.instance()
    cm = cmodels.make(FLEET.get(profile, FLEET["quick"]))
    n = cm.n
    seeds = list(range(seed, seed + SEEDS.get(profile, SEEDS["quick"])))
    rows: list[dict[str, Any]] = []
    summ: dict[str, tuple[float | None, float | None]] = {}
    hits: dict[str, int | None] = {}
    for m in sc.METHODS:
        runs = sc.method_runs(m, prob, cm, eps, seeds, ps.horizon(n))
        st, se = sc.summary([r["steps"] for r in runs]), sc.summary([r["seconds"] for r in runs])
        summ[m.name] = (st["median"], se["median"])
        mine = next(r for r in runs if r["seed"] == seed)
        hits[m.name] = mine["steps"]
        rows.append({"kind": "summary", "method": m.name, "steps_median": st["median"], "seconds_median": se["median"],
                     "reached": se["reached"], "runs": se["runs"], "steps_seed": mine["steps"],
                     "seconds_seed": mine["seconds"]})
    # the traced runs (seed ``seed``): until the hit, or as long as the slowest hit of the others
    longest = max([h for h in hits.values() if h is not None] or [1000])
    for m in sc.METHODS:
        T = hits[m.name] or longest
        if m.runner is not None:  # a batch method (its own runner in claim 18): the same run, traced
            r = run_on_compute(prob, cm, m.name, T=T, eps=eps, sigma=ps.SIGMA, seed=seed, compute_seed=0,
                               trace_every=1, stop_at_hit=True)
            seq = r.delays
        else:
            # a method whose parameters depend on the schedule (tau_max) is built on claim 18's horizon, as there
            seq = ps.method_sequence(m, prob, cm, eps, ps.SIGMA, T if m.horizon_free else max(T, ps.horizon(n)), 0)
            alg = m.build(prob, eps, ps.SIGMA, seq)
            (r,) = engine.run_batch(prob, seq, alg, [seed], T=T, noise=make_noise("gaussian"), trace_every=1,
                                    stop_at_hit=True, record_rejections=False)
        t_all = np.asarray(r.trace_steps, dtype=np.int64)
        g_all = np.asarray(r.trace_grad_norm, dtype=float)
        keep = np.isin(t_all, _keep(int(t_all.max())))
        clock = np.asarray(seq.wall_clock, dtype=float)
        for t, g in zip(t_all[keep], g_all[keep]):
            rows.append({"kind": "trace", "method": m.name, "t": int(t),
                         "seconds": 0.0 if t <= 1 else float(clock[t - 2]), "grad_norm": float(g)})
        srow = next(x for x in rows if x["kind"] == "summary" and x["method"] == m.name)
        srow["hit"] = r.first_hit
        if ctx is not None:
            ctx.progress(f"{NAME}: {m.name}")
    rev = reversals(summ)
    if rev:
        said = "; ".join(f"{sc.name(a)} reaches eps in fewer steps than {sc.name(b)} (median {summ[a][0]:.3g} vs "
                         f"{summ[b][0]:.3g}) but later in seconds ({summ[a][1]:.3g} s vs {summ[b][1]:.3g} s)"
                         for a, b in rev)
        sentence = f"On {n} nearly equal workers (tau_i in [1, 2] s): {said}."
    else:
        sentence = (f"On {n} nearly equal workers (tau_i in [1, 2] s) no method that wins in steps loses in seconds "
                    "(medians over the seeds): here the order in steps is the order in seconds.")
    meta = {
        "title": TITLE, "seeds": seeds, "seed": seed, "fleet": FLEET.get(profile, FLEET["quick"]),
        "command": sc.COMMAND.format(name=NAME, profile=profile), "reversals": [list(p) for p in rev],
        "sentence": sentence,
        "caption": (f"Instance quad (beta = 1, F = 1/2, eps = 1/2, R^4), sigma = 1. Fleet {FLEET.get(profile, FLEET['quick'])} "
                    f"(n = {n}, tau_i log-spaced in [1, 2] s). Traces: seed {seed}, every method on its own policy's "
                    "schedule (Ringmaster ASGD: computations of delay R = 4 cancelled; Rennala and minibatch SGD: a step is a "
                    "round, its time the round's end; the others: every arrival a step), "
                    "||grad f(x_t)|| at log-spaced steps until the first t with ||grad f(x_t)|| <= eps (marker); "
                    "right: the same points at the second x_t exists (arrival of step t - 1). The asynchronous methods "
                    "share one schedule, so their order cannot change from steps to seconds; the others' can. "
                    f"Winning/losing judged on the medians over seeds {seeds[0]}..{seeds[-1]} (meta 'reversals'). "
                    "A method that does not reach eps within 20000 + 20 n steps is traced as long as the slowest other "
                    "method's run."),
        "source": ("verify.claims.picky_seconds.method_sequence + verify.engine.run_batch (trace_every = 1); batch "
                   "methods: verify.runtime.simulation.run_on_compute"),
    }
    return Table(rows, meta)


def plot(table: Table):
    fig = style.new_figure(13, 7.0)
    axs, axt = fig.subplots(1, 2, sharey=True)
    summ = table.select(kind="summary")
    for i, s in enumerate(summ):
        m = s["method"]
        tr = sorted(table.select(kind="trace", method=m), key=lambda r: r["t"])
        t, sec, g = column(tr, "t"), column(tr, "seconds"), column(tr, "grad_norm")
        col = sc.color(m, i)
        med = (f"median {style.fmt(s['steps_median'], 3)} steps, {style.fmt(s['seconds_median'], 3)} s"
               if s.get("seconds_median") is not None else "median: not reached")
        axs.plot(t, g, color=col, lw=1.3, label=f"{sc.name(m)} ({med})")
        axt.plot(sec, g, color=col, lw=1.3, drawstyle="steps-post")
        if s.get("hit") is not None:
            axs.plot(t[-1], g[-1], marker="o", color=col, ms=6)
            axt.plot(sec[-1], g[-1], marker="o", color=col, ms=6)
    eps = 0.5
    for a in (axs, axt):
        a.axhline(eps, color="black", lw=1, ls=":", label="eps = 1/2" if a is axs else None)
        a.set_yscale("log")
    axs.set_xscale("log")
    axt.set_xlim(left=0)
    axs.set_xlabel("step t (log scale)")
    axt.set_xlabel("seconds: the time x_t exists (linear scale)")
    axs.set_ylabel("||grad f(x_t)||")
    axs.set_title("in steps")
    axt.set_title("in seconds")
    handles, labels = axs.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.285), ncol=3, fontsize=8)
    rev = table.meta.get("reversals") or []
    if rev:
        axt.text(0.98, 0.97, "\n".join(f"{sc.name(a)}: fewer steps than {sc.name(b)}, more seconds" for a, b in rev),
                 transform=axt.transAxes, ha="right", va="top", fontsize=8,
                 bbox=dict(boxstyle="round", fc="white", ec="#bbbbbb"))
    fig.suptitle(f"Figure 11. {TITLE}", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.37, wspace=0.06)
    style.caption(fig, table.meta["sentence"] + "\n" + table.meta["caption"], width=190)
    return fig

"""Figure 6 -- threshold sensitivity: Picky SGD's steps to eps and rejected fraction against its
threshold rho, with the theorem's rho = eps/(2 beta) marked, on a gentle and on a hard instance.

Both on logsum R^10 (beta = 2, F = 10 log 10), eps = 0.1, sigma = 0, Picky's step Theorem D's
1/(9 beta) at every rho (only rho varies). Computed here with :func:`verify.engine.run_batch`.

* gentle: i.i.d. Pareto delays ``pareto:alpha=1.5,scale=3`` (the sanity run's; tau_avg ~ 5.4), over
  independent draws (median and 10%-90% band);
* hard: the ramp (sawtooth) d_t = (t-1) mod 51 (``bursty:m=50``, tau_avg ~ 25, tau_max = 50): each
  tooth reads one iterate 51 times, so once the iterate has moved rho away Picky rejects the rest of the
  tooth. With the theorem's rho it rejects about 98% of the gradients and needs tens of times the steps
  of delayed SGD with the same step -- the regime where Picky loses, shown as plainly as the one
  where it wins.

References (horizontal lines): delayed SGD with the same step 1/(9 beta) (what rho -> infinity gives:
every gradient accepted), and delayed SGD with its own theory step (scaled to tau_max).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from verify import algorithms, engine
from verify.models import delays, problems
from . import style
from .context import Context
from .table import Table, where

NAME = "threshold"
TITLE = "Threshold sensitivity: Picky SGD's steps and rejections against rho"
EPS = 0.1
INSTANCES = (("gentle", "pareto:alpha=1.5,scale=3", "i.i.d. Pareto(1.5) delays (sanity run's), draws"),
             ("hard", "bursty:m=50", "ramp d_t = (t-1) mod 51 (deterministic)"))
BUDGETS = {"test": (5, 2, 20_000), "quick": (17, 8, 400_000), "full": (25, 20, 400_000)}


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "picky" (instance, rho multiple c, rho, seed, steps to eps or None, rejected, steps run,
    rejected fraction) and "ref" (delayed SGD with Picky's step / with its own step, per seed);
    ``seed`` is the first Pareto draw's seed."""
    n_rho, draws, T = BUDGETS[profile]
    prob = problems.make("logsum", 10)
    mult = np.unique(np.concatenate([np.logspace(-1, 3, n_rho), [1.0]]))  # the theorem's rho always included
    rows: list[dict[str, Any]] = []
    base = algorithms.resolve("picky", beta=prob.beta, F=prob.F, eps=EPS, sigma=0.0)
    rho0 = base.rho
    for inst, spec, _ in INSTANCES:
        seeds = [seed + k for k in range(draws)] if inst == "gentle" else [0]
        seqs = [delays.make(spec, T, seed=s) for s in seeds]
        for s, seq in zip(seeds, seqs):
            st = seq.stats()
            algs = [base.with_(rho=float(c * rho0), source={**base.source, "rho": "user"}) for c in mult]
            same = algorithms.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=EPS, sigma=0.0, eta=base.eta)
            own = algorithms.resolve("delayed-sgd", beta=prob.beta, F=prob.F, eps=EPS, sigma=0.0, delays=seq)
            runs = engine.run_batch(prob, seq, algs + [same, own], [0] * (len(algs) + 2), T=T, stop_at_hit=True,
                                    record_rejections=False)
            for c, a, r in zip(mult, algs, runs[:len(algs)]):
                rows.append({"kind": "picky", "instance": inst, "seed": s, "c": float(c), "rho": a.rho, "eta": a.eta,
                             "steps": r.first_hit, "steps_run": r.steps_run, "rejected": r.rejected,
                             "rejected_fraction": r.rejected / max(r.steps_run, 1), "diverged": bool(r.diverged),
                             "tau_avg": float(st.tau_avg), "tau_max": int(st.tau_max)})
            for which, a, r in (("same-eta", same, runs[-2]), ("own-eta", own, runs[-1])):
                rows.append({"kind": "ref", "instance": inst, "seed": s, "ref": which, "eta": a.eta, "steps": r.first_hit,
                             "diverged": bool(r.diverged), "tau_avg": float(st.tau_avg), "tau_max": int(st.tau_max)})
        if ctx is not None:
            ctx.progress(f"{NAME}: {inst} done")
    summ = _summary(rows, rho0)
    h, g = summ["hard"], summ["gentle"]
    meta = {
        "title": TITLE, "seeds": {"gentle (Pareto draws)": [seed + k for k in range(draws)], "hard": "deterministic"},
        "rho_theorem": rho0, "eta": base.eta, "eps": EPS, "T": T, "summary": summ,
        "instances": {i: {"spec": sp, "what": w} for i, sp, w in INSTANCES},
        "sentence": (f"Picky SGD's steps to eps and rejected fraction against rho on logsum R^10: with the theorem's "
                     f"rho = eps/(2 beta) it rejects {100 * g['rejected_fraction_at_theorem']:.0f}% of the gradients under "
                     f"Pareto delays ({g['ratio_to_same_eta']:.1f}x the steps of delayed SGD with the same step, while "
                     f"delayed SGD with its own tau_max-scaled step "
                     + (f"needs {g['own_eta_median']:.0f} steps" if g["own_eta_median"] is not None and math.isfinite(g["own_eta_median"])
                        else f"does not reach eps in {T} steps")
                     + f") and {100 * h['rejected_fraction_at_theorem']:.0f}% on a ramp (sawtooth, tau_max = 50), where it "
                     f"needs {h['ratio_to_same_eta']:.0f}x the steps of delayed SGD with the same step; a larger rho "
                     "removes the gap in both."),
        "caption": (f"logsum R^10, eps = {EPS}, sigma = 0; Picky's step 1/(9 beta) = {base.eta:.4g} at every rho; "
                    f"vertical line: the theorem's rho = eps/(2 beta) = {rho0:g}. Gentle: {INSTANCES[0][1]}, "
                    f"median and 10%-90% over {draws} draws; hard: {INSTANCES[1][1]} (the ramp), one deterministic run. "
                    "Rejected fraction = rejected / steps run (until the first eps-stationary iterate, or T = "
                    f"{T}). Horizontal lines: delayed SGD with Picky's step (= rho -> infinity) and with its own "
                    "theory step 1/(9 beta (1 + tau_max)). Open markers: not reached by T, or diverged."),
        "source": "computed here with verify.engine.run_batch",
    }
    return Table(rows, meta)


def _summary(rows: list[dict[str, Any]], rho0: float) -> dict[str, Any]:
    out = {}
    for inst, _, _ in INSTANCES:
        pk = [r for r in where(rows, kind="picky", instance=inst) if abs(r["c"] - 1.0) < 1e-9]
        steps = [math.inf if r.get("steps") is None else r["steps"] for r in pk]
        same = [math.inf if r.get("steps") is None else r["steps"] for r in where(rows, kind="ref", instance=inst, ref="same-eta")]
        own = [math.inf if r.get("steps") is None else r["steps"] for r in where(rows, kind="ref", instance=inst, ref="own-eta")]
        out[inst] = {"steps_at_theorem_median": float(np.median(steps)) if steps else None,
                     "rejected_fraction_at_theorem": float(np.median([r["rejected_fraction"] for r in pk])) if pk else None,
                     "same_eta_median": float(np.median(same)) if same else None,
                     "own_eta_median": float(np.median(own)) if own else None,
                     "ratio_to_same_eta": float(np.median(steps) / np.median(same)) if steps and same else None}
    return out


def plot(table: Table):
    m = table.meta
    fig = style.new_figure(12.5, 7.6)
    axes = fig.subplots(2, 2, sharex=True)
    pc = style.color("picky")
    dc = style.color("delayed-sgd")
    for j, (inst, _, what) in enumerate(INSTANCES):
        rs = table.select(kind="picky", instance=inst)
        cs = sorted({r["c"] for r in rs})
        rho = np.array([cs_ * m["rho_theorem"] for cs_ in cs])
        S = [[math.inf if r.get("steps") is None else r["steps"] for r in rs if r["c"] == c] for c in cs]
        Rf = [[r["rejected_fraction"] for r in rs if r["c"] == c] for c in cs]
        with np.errstate(invalid="ignore"):
            med = np.array([np.median(s) for s in S])
            lo = np.array([np.quantile(s, 0.1, method="lower") for s in S])
            hi = np.array([np.quantile(s, 0.9, method="higher") for s in S])
        fin = np.isfinite(med)
        ax = axes[0, j]
        ax.plot(rho[fin], med[fin], "o-", color=pc, ms=4,
                label=style.label("picky", m["eta"], rho="c·ε/(2β)"))
        if len(set(r["seed"] for r in rs)) > 1:
            ax.fill_between(rho, np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(hi), hi, np.nan),
                            color=pc, alpha=0.18, linewidth=0)
        refs = table.select(kind="ref", instance=inst)
        for which, ls, lab in (("same-eta", "--", "delayed SGD, same step"), ("own-eta", ":", "delayed SGD, its own step")):
            v = [math.inf if r.get("steps") is None else r["steps"] for r in refs if r["ref"] == which]
            eta = refs[[r["ref"] for r in refs].index(which)]["eta"] if v else None
            if v and np.isfinite(np.median(v)):
                ax.axhline(np.median(v), color=dc, ls=ls, lw=1.4, label=style.label("delayed-sgd", eta).replace(
                    "delayed SGD", lab) + f": {np.median(v):.0f} steps")
            elif v:
                div = any(r.get("diverged") for r in refs if r["ref"] == which)
                ax.plot([], [], color=dc, ls=ls, label=f"{lab} (η = {style.fmt(eta)}): "
                        + ("diverged" if div else f"not within T = {m['T']} steps"))
        ax.set_yscale("log")
        lo_, top = ax.get_ylim()
        ax.set_ylim(lo_ / 1.6, top)
        if (~fin).any():
            ax.plot(rho[~fin], [top] * int((~fin).sum()), "^", mfc="white", color=pc, ms=6, clip_on=False)
            ax.set_ylim(top=top)
        ax.set_title(f"{inst}: {what}", fontsize=9.5)
        ax.set_ylabel("steps to ε")
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 0.1), fontsize=7.3)
        ax2 = axes[1, j]
        with np.errstate(invalid="ignore"):
            rmed = np.array([np.median(x) for x in Rf])
            rlo = np.array([np.quantile(x, 0.1, method="lower") for x in Rf])
            rhi = np.array([np.quantile(x, 0.9, method="higher") for x in Rf])
        ax2.plot(rho, rmed, "o-", color=pc, ms=4)
        ax2.fill_between(rho, rlo, rhi, color=pc, alpha=0.18, linewidth=0)
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("rejected fraction of gradients")
        ax2.set_xlabel("threshold ρ (distance in parameter space)")
        s = m["summary"][inst]
        for a in (ax, ax2):
            a.axvline(m["rho_theorem"], color="#444444", lw=1.0, ls="-.")
            a.set_xscale("log")
        txt = (f"theorem's ρ = ε/(2β) = {m['rho_theorem']:g}:\n{100 * s['rejected_fraction_at_theorem']:.0f}% rejected, "
               f"{s['steps_at_theorem_median']:.0f} steps\n= {s['ratio_to_same_eta']:.2g}x delayed SGD with the same step")
        ax2.text(0.97, 0.5, txt, transform=ax2.transAxes, ha="right", va="center", fontsize=8,
                 bbox=dict(boxstyle="round", fc="white", ec="#cccccc"))
    fig.suptitle(f"Figure 6. {TITLE} (logsum R^10, ε = {m['eps']}, σ = 0)", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.91, bottom=0.16, hspace=0.12, wspace=0.2)
    style.caption(fig, m["caption"], width=175)
    return fig

"""Figure 3 -- the headline, measured: steps to eps against tau_max at fixed tau_avg (top row), and
against tau_avg at fixed tau_max (bottom row), for Picky SGD, delayed SGD, delay-adaptive SGD (KSJ)
and stale-drop SGD, each with its theory-default step (and Picky's threshold rho = eps/(2 beta)).

Instance: logsum on R^10 (beta = 2, F = 10 log 10, exact), eps = 0.1, sigma = 0 -- claim 5's.
Median over independent delay draws, band = 10%-90% quantiles over the draws; slopes are the
log-log slope of the medians with claim 5's percentile bootstrap 95% interval
(``verify.claims.common.slope_ci_bootstrap``); dashed: theory's rate forms (C = 1, a placeholder)
for Picky SGD (in tau_avg) and delayed SGD (in tau_max).

Where the numbers come from:

* two-point delays (``bimodal:p,D``, p D = 2), Picky SGD and delayed SGD: **claim 5's evidence**
  (``verify.claims.run(["headline"], profile)``, its per-draw rows), not recomputed;
* everything else is computed here with :func:`verify.engine.run_batch` (claim 5 does not measure it):
  delay-adaptive and stale-drop on claim 5's two-point sequences (same seeds), the straggler family
  (constant delay 2 plus one gradient of delay D), Pareto delays of mean about 2 with a shrinking tail
  index, the 3-worker pool with compute-time distributions from constant to Pareto(1.2) (tau_avg about
  2), and the whole bottom row (claim 5's part b keeps only Picky's medians).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import theory

from verify import algorithms, engine
from verify.models import delays, problems
from ..claims.common import slope_ci_bootstrap
from . import style
from .context import Context
from .table import Table, where

NAME = "headline"
TITLE = "The headline, measured: steps to eps against the maximal and the average delay"
CLAIMS = ("headline",)
EPS = 0.1
TAU_AVG = 2.0
TAU_MAX = 1000
ALGS = ("picky", "delayed-sgd", "delay-adaptive", "stale-drop")
STEP_RULES = {
    "picky": "Thm D: 1/(9β), ρ = ε/(2β)",
    "delayed-sgd": "1/(9β(1+τ_max))",
    "delay-adaptive": "1/(4β τ_C), capped 1/(4β d_t) for d_t > τ_C",
    "stale-drop": "R = ⌈2τ_avg⌉+1, η at τ_max = R-1",
}
FAMILIES_A = ("two-point", "straggler", "pareto", "workers")
FAMILIES_B = ("two-point", "straggler")
T_CAP = 2_000_000
#: per profile: draws per point, Pareto tail indices, worker compute-time distributions, straggler D's, tau_avg's (b)
BUDGETS: dict[str, dict[str, Any]] = {
    "test": {"draws": 3, "alphas": (3.0, 1.5), "workers": ("constant", "exponential", "pareto,alpha=1.5"),
             "D": (10, 100, 1000), "taus": (1.0, 8.0, 64.0)},
    "quick": {"draws": 8, "alphas": (4.0, 2.5, 1.8, 1.5, 1.3),
              "workers": ("constant", "exponential", "lognormal,s=1.5", "pareto,alpha=1.5", "pareto,alpha=1.2"),
              "D": (10, 100, 1000, 3000), "taus": (1.0, 4.0, 16.0, 64.0)},
    "full": {"draws": 20, "alphas": (4.0, 3.0, 2.5, 2.0, 1.8, 1.5, 1.3, 1.2),
             "workers": ("constant", "exponential", "lognormal,s=1", "lognormal,s=1.5", "pareto,alpha=2",
                         "pareto,alpha=1.5", "pareto,alpha=1.2"),
             "D": (10, 30, 100, 300, 1000, 3000, 10000), "taus": (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)},
}


def _problem() -> problems.Problem:
    return problems.make("logsum", 10)


def _straggler(T: int, D: int, background: int) -> delays.DelaySequence:
    """d_t = min(t-1, background), except d_{D+1} = D (one gradient computed at x_1, arriving at step D+1)."""
    d = np.minimum(np.arange(T), background)
    d[D] = D
    return delays.from_trace(d, model="straggler+constant", D=D, background=background)


def _need(tau_max: float) -> int:
    return int(120 * (tau_max + 1) + 20_000)  # claim 5's horizon: delayed SGD needs ~ 88 (1 + tau_max) here


def _random_seq(spec: str, seed: int) -> delays.DelaySequence:
    """A draw long enough for delayed SGD's step at its own tau_max (two passes, capped at T_CAP)."""
    T = 200_000
    for _ in range(3):
        s = delays.make(spec, T, seed=seed)
        need = min(_need(s.stats().tau_max), T_CAP)
        if need <= T:
            return s
        T = need
    return s


def _runs(prob, seqs: list[delays.DelaySequence], alg: str, seeds: list[int]) -> list[Any]:
    out = []
    for s, sd in zip(seqs, seeds):
        a = algorithms.resolve(alg, beta=prob.beta, F=prob.F, eps=EPS, sigma=0.0, delays=s)
        (r,) = engine.run_batch(prob, s, a, [sd], T=len(s), stop_at_hit=True, record_rejections=False)
        out.append(r)
    return out


def _rows(family: str, part: str, point: Any, seqs, runs, source: str) -> list[dict[str, Any]]:
    rows = []
    for s, r in zip(seqs, runs):
        st = s.stats()
        rows.append({"part": part, "family": family, "point": str(point), "algorithm": r.algorithm,
                     "seed": int(r.seed), "tau_avg": float(st.tau_avg), "tau_max": int(st.tau_max), "T": len(s),
                     "steps": r.first_hit, "rejected": int(r.rejected), "eta": float(r.config["eta"]), "source": source})
    return rows


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: one per run (part a/b, family, point, algorithm, seed, tau_avg, tau_max, T, steps to eps or
    None when not reached by T, rejected, eta, source = "claim 5 evidence" or "computed here");
    ``seed`` offsets the delay seeds of the families computed here."""
    ctx = ctx or Context(profile=profile)
    b = BUDGETS[profile]
    prob = _problem()
    rows: list[dict[str, Any]] = []
    # --- (a) two-point: claim 5's evidence, plus the two algorithms it does not run ----------------
    ev = ctx.evidence(CLAIMS)["headline"]
    Ds = list(ev.parameters["D"])
    for D in Ds:
        p = TAU_AVG / D
        T = 120 * (D + 1) + 20_000
        spec = f"bimodal:p={p!r},D={D}"
        ev_rows = [r for r in ev.rows if r.delays == spec and r.metric == "first_hit"]
        draw_seeds = [1000 * D + k for k in range(ev.parameters["draws_per_D"])]
        seqs = [delays.make(spec, T, seed=s) for s in draw_seeds]
        for alg in ("picky", "delayed-sgd"):
            mine = [r for r in ev_rows if r.algorithm == alg]
            for s, r in zip(seqs, sorted(mine, key=lambda r: r.seed)):
                st = s.stats()
                rows.append({"part": "a", "family": "two-point", "point": str(D), "algorithm": alg, "seed": int(r.seed),
                             "tau_avg": float(st.tau_avg), "tau_max": int(st.tau_max), "T": T,
                             "steps": None if r.value is None else int(r.value), "rejected": None,
                             "eta": None, "source": "claim 5 evidence"})
        for alg in ("delay-adaptive", "stale-drop"):
            rows += _rows("two-point", "a", D, seqs, _runs(prob, seqs, alg, list(range(len(seqs)))), "computed here")
        ctx.progress(f"{NAME}: two-point D = {D} done")
    # --- (a) straggler: constant 2 plus one gradient of delay D ------------------------------------
    for D in b["D"]:
        s = _straggler(_need(D), D, int(TAU_AVG))
        for alg in ALGS:
            rows += _rows("straggler", "a", D, [s], _runs(prob, [s], alg, [0]), "computed here")
    ctx.progress(f"{NAME}: straggler done")
    # --- (a) Pareto with mean ~ 2, heavier and heavier tail; worker pool, 3 workers (tau_avg ~ 2) ------
    families = [("pareto", alpha, f"pareto:alpha={alpha!r},scale={2.5 * (alpha - 1)!r}", k)
                for k, alpha in enumerate(b["alphas"])]
    families += [("workers", dist, f"workers:n=3,dist={dist}", k) for k, dist in enumerate(b["workers"])]
    for family, x, spec, k in families:
        seqs = [_random_seq(spec, seed + 100 * k + j) for j in range(b["draws"])]
        for alg in ALGS:
            rows += _rows(family, "a", x, seqs, _runs(prob, seqs, alg, list(range(len(seqs)))), "computed here")
        del seqs
        ctx.progress(f"{NAME}: {family} {x if isinstance(x, str) else f'alpha = {x:g}'} done")
    # --- (b) fixed tau_max = 1000, growing tau_avg --------------------------------------------------
    for tau in b["taus"]:
        spec = f"bimodal:p={tau / TAU_MAX!r},D={TAU_MAX}"
        seqs = [delays.make(spec, 200_000, seed=77 + k) for k in range(ev.parameters["draws_per_D"])]
        for alg in ALGS:
            rows += _rows("two-point", "b", tau, seqs, _runs(prob, seqs, alg, list(range(len(seqs)))), "computed here")
        s = _straggler(_need(TAU_MAX), TAU_MAX, int(tau))
        for alg in ALGS:
            rows += _rows("straggler", "b", tau, [s], _runs(prob, [s], alg, [0]), "computed here")
        ctx.progress(f"{NAME}: tau_avg = {tau:g} at tau_max = {TAU_MAX} done")
    slopes = _slopes(rows)
    a2 = slopes.get("a/two-point/picky", {})
    d2 = slopes.get("a/two-point/delayed-sgd", {})
    meta = {
        "title": TITLE,
        "seeds": {"two-point (claim 5)": "1000 D + k, k < draws", "pareto/workers": f"{seed} + 100 i + j",
                  "part b two-point": "77 + k", "engine lanes": "0..draws-1"},
        "problem": prob.describe(), "eps": EPS, "sigma": 0.0, "slopes": slopes, "step_rules": STEP_RULES,
        "sentence": (f"Measured steps to eps = {EPS} on logsum R^10: at fixed tau_avg ~ 2, Picky SGD's steps do not grow "
                     f"with tau_max (two-point slope {a2.get('slope', float('nan')):.3f}) while delayed SGD's grow "
                     f"about linearly (slope {d2.get('slope', float('nan')):.2f}) under two-point, straggler, Pareto and "
                     "worker-pool delays; at fixed tau_max = 1000 Picky's steps grow slowly with tau_avg."),
        "caption": ("logsum R^10 (beta = 2, F = 10 log 10), eps = 0.1, sigma = 0, every algorithm with its theory-default "
                    "step. Lines: median over delay draws; bands: 10%-90% over draws (single deterministic sequence for the "
                    "straggler family); open markers at the top: some draws never reached eps by the horizon T. "
                    "Slopes: log-log slope of the medians, percentile bootstrap 95% interval (claim 5's method). "
                    "Two-point Picky/delayed SGD: claim 5's evidence; everything else computed here with "
                    "verify.engine.run_batch. Dashed: theory's rate forms with C = 1 (a placeholder), Picky in tau_avg, "
                    "delayed SGD in tau_max."),
        "source": "claim 5 evidence (verify.claims.run(['headline'])) + verify.engine.run_batch",
    }
    return Table(rows, meta)


def _x_of(part: str) -> str:
    return "tau_max" if part == "a" else "tau_avg"


def _groups(rows: list[dict[str, Any]], part: str, family: str, alg: str):
    """(x per point = median over draws, steps per draw (inf = not reached)) for one curve."""
    rs = where(rows, part=part, family=family, algorithm=alg)
    pts = list(dict.fromkeys(r["point"] for r in rs))
    xs, groups = [], []
    for p in pts:
        g = [r for r in rs if r["point"] == p]
        xs.append(float(np.median([r[_x_of(part)] for r in g])))
        groups.append([math.inf if r.get("steps") is None else float(r["steps"]) for r in g])
    order = np.argsort(xs)
    return [xs[i] for i in order], [groups[i] for i in order]


def _slopes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for part, fams in (("a", FAMILIES_A), ("b", FAMILIES_B)):
        for fam in fams:
            for alg in ALGS:
                xs, gs = _groups(rows, part, fam, alg)
                if len(xs) < 2 or len(set(xs)) < 2:
                    continue
                if any(not np.all(np.isfinite(g)) for g in gs):
                    out[f"{part}/{fam}/{alg}"] = {"slope": None, "ci95": None, "note": "some draws did not reach eps by T"}
                    continue
                sl, ci = slope_ci_bootstrap(xs, gs, seed=5)
                out[f"{part}/{fam}/{alg}"] = {"slope": sl, "ci95": list(ci)}
    return out


def plot(table: Table):
    m = table.meta
    prob_beta, prob_F = float(m["problem"]["beta"]), float(m["problem"]["F"])
    fig = style.new_figure(16, 9.6)
    gs = fig.add_gridspec(2, 4)
    axes_a = [fig.add_subplot(gs[0, i]) for i in range(4)]
    axes_b = [fig.add_subplot(gs[1, i]) for i in range(2)]
    titles = {"two-point": "two-point: D w.p. 2/D, else 0", "straggler": "constant 2 + one straggler of delay D",
              "pareto": "Pareto, mean ≈ 2, tail index 4 → 1.2", "workers": "3 workers, compute times const → Pareto"}
    rows = table.rows
    for part, fams, axes in (("a", FAMILIES_A, axes_a), ("b", FAMILIES_B, axes_b)):
        for fam, ax in zip(fams, axes):
            handles = []
            censored: list[tuple[str, list[float]]] = []
            for alg in ALGS:
                key = style.key_of(alg)
                xs, gsr = _groups(rows, part, fam, alg)
                if not xs:
                    continue
                arr = [np.asarray(g) for g in gsr]
                med = np.array([np.median(g) for g in arr])
                with np.errstate(invalid="ignore"):
                    lo = np.array([np.quantile(g, 0.1, method="lower") for g in arr])
                    hi = np.array([np.quantile(g, 0.9, method="higher") for g in arr])
                sl = m["slopes"].get(f"{part}/{fam}/{alg}", {})
                if sl.get("slope") is not None:
                    lab = f"{sl['slope']:.2f} [{sl['ci95'][0]:.2f}, {sl['ci95'][1]:.2f}]"
                else:
                    lab = "slope n/a (not all reached eps)"
                fin = np.isfinite(med)
                (h,) = ax.plot(np.array(xs)[fin], med[fin], "o-", color=style.color(key), ms=4, label=lab)
                handles.append(h)
                if len(xs) and np.any(np.isfinite(hi) & (hi > lo)):
                    hi_c = np.where(np.isfinite(hi), hi, np.nan)
                    ax.fill_between(xs, np.where(np.isfinite(lo), lo, np.nan), hi_c, color=style.color(key), alpha=0.15,
                                    linewidth=0)
                cens = [x for x, g in zip(xs, arr) if not np.all(np.isfinite(g))]
                if cens:
                    censored.append((key, cens))
            xr = np.array(sorted({float(r[_x_of(part)]) for r in where(rows, part=part, family=fam)}))
            if xr.size:
                xx = np.geomspace(max(xr.min(), 1.0), xr.max(), 30)
                if part == "a":
                    tp = theory.iterations("picky", C=1.0, beta=prob_beta, F=prob_F, sigma=0.0, eps=EPS, tau_avg=TAU_AVG) * np.ones_like(xx)
                    td = theory.iterations("delayed-sgd", C=1.0, beta=prob_beta, F=prob_F, sigma=0.0, eps=EPS, tau_max=xx)
                else:
                    tp = theory.iterations("picky", C=1.0, beta=prob_beta, F=prob_F, sigma=0.0, eps=EPS, tau_avg=xx)
                    td = theory.iterations("delayed-sgd", C=1.0, beta=prob_beta, F=prob_F, sigma=0.0, eps=EPS,
                                           tau_max=float(TAU_MAX)) * np.ones_like(xx)
                ax.plot(xx, tp, "--", color=style.color("picky"), lw=1.1, alpha=0.8)
                ax.plot(xx, td, "--", color=style.color("delayed-sgd"), lw=1.1, alpha=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            top = ax.get_ylim()[1]
            for key, cens in censored:
                ax.plot(cens, [top] * len(cens), "^", mfc="white", color=style.color(key), ms=6, clip_on=False)
            ax.set_ylim(top=top)
            ax.set_xlabel("maximal delay τ_max (steps)" if part == "a" else "average delay τ_avg (steps)")
            ax.set_title(titles[fam] if part == "a" else titles[fam].replace(" of delay D", f" (D = {TAU_MAX})")
                         .replace("constant 2", "constant τ").replace("D w.p. 2/D", f"D = {TAU_MAX} w.p. τ/D"), fontsize=9)
            ax.legend(handles=handles, title="slope [95% CI]", loc="upper left", fontsize=7, title_fontsize=7.5)
        axes[0].set_ylabel(("steps to ε at τ_avg ≈ 2" if part == "a" else f"steps to ε at τ_max = {TAU_MAX}"))
    # the algorithms, their steps, theory's lines: one legend for the figure
    from matplotlib.lines import Line2D

    hs = [Line2D([], [], color=style.color(style.key_of(a)), marker="o", ms=4,
                 label=style.label(style.key_of(a), m["step_rules"][a])) for a in ALGS]
    hs += [Line2D([], [], color=style.color("picky"), ls="--", label="theory: Picky's rate, C = 1 (unknown constant)"),
           Line2D([], [], color=style.color("delayed-sgd"), ls="--", label="theory: delayed SGD's rate, C = 1")]
    fig.legend(handles=hs, loc="center left", bbox_to_anchor=(0.52, 0.3), fontsize=8.5, frameon=True,
               title="algorithm (step size; defaults from theory)", title_fontsize=9)
    fig.suptitle(f"Figure 3. {TITLE} (logsum R^10, ε = {EPS}, σ = 0)", x=0.01, ha="left", fontsize=12)
    fig.subplots_adjust(left=0.05, right=0.99, top=0.93, bottom=0.14, hspace=0.32, wspace=0.25)
    style.caption(fig, m["caption"], width=230)
    return fig

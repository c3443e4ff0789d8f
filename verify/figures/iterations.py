"""Figure 1 -- theory: steps to an eps-stationary point against eps, every bound, one skewed delay
distribution (tau_max >> tau_avg).

Every curve is a calculator of :mod:`theory` (``theory.iterations(result_id, ...)``); nothing is
simulated. The delay distribution is the paper digest's sanity-run draw
``pareto:alpha=1.5,scale=3`` (T = 2e5, seed 0; its tau_avg and tau_max are measured from the draw).
Rate-only results (the paper's Theorem 1 for Picky SGD, delayed SGD, delay-adaptive, quantile,
lower bound) carry an unknown absolute constant C: C = 1 is shown, a placeholder. Theorem D and D'
are derived in this package (their constants, e.g. 8960, are ours, not the paper's). Stale-drop has
no bound of its own in ``theory``: its curve is the quantile-delay rate (Attia-Gaash-Koren) at
q = P(d_t < R), tau_q = R - 1 with the package's default R = ceil(2 tau_avg) + 1 -- the rate of an
algorithm that uses only the gradients with delay < R.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import theory

from verify.models import delays
from . import style
from .context import Context
from .table import Table, column

NAME = "theory-iterations"
TITLE = "Theory: steps to an eps-stationary point against eps, for a skewed delay distribution"
SPEC = "pareto:alpha=1.5,scale=3"
T_DRAW = 200_000
BETA, F = 1.0, 1.0
SIGMAS = (0.0, 1.0)

#: (curve id, theory result, style key, form, label)
CURVES: tuple[tuple[str, str, str, str, str], ...] = (
    ("picky-rate", "picky", "picky", "rate", "Picky SGD, paper's rate (unknown constant, C=1 shown), τ_avg"),
    ("picky-D", "picky-explicit", "picky", "D", "Picky SGD, Theorem D (derived here), τ_avg"),
    ("picky-Dprime", "picky-explicit-sharp", "picky", "D'", "Picky SGD, Theorem D' (derived here), τ_avg"),
    ("delayed-sgd", "delayed-sgd", "delayed-sgd", "rate", "delayed SGD (Stich-Karimireddy; C=1), τ_max"),
    ("delay-adaptive", "delay-adaptive", "delay-adaptive-ksj", "alt", "delay-adaptive SGD (KSJ Cor. 9: τ_avg in τ_C's place; C=1) (= Picky's rate)"),
    ("stale-drop", "quantile", "stale-drop", "rate", "stale-drop SGD via the quantile rate (AGK; C=1), q = P(d<R)"),
    ("sgd", "sgd", "sgd", "rate", "SGD without delays (Ghadimi-Lan, derived)"),
    ("lower-bound", "lower-bound", "lower bound", "rate", "lower bound (Arjevani et al.; c=1)"),
)


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """One row per (sigma, curve, eps): the steps the bound asks for. ``seed`` is the Pareto draw's."""
    n = 20 if profile == "test" else 60
    T = 20_000 if profile == "test" else T_DRAW
    seq = delays.make(SPEC, T, seed=seed)
    d = seq.delays
    tau_avg, tau_max = float(d.mean()), float(d.max())
    R = int(math.ceil(2 * tau_avg)) + 1
    q = float(np.mean(d < R))
    eps_grid = np.logspace(-3, 0, n)
    rows: list[dict[str, Any]] = []
    for sigma in SIGMAS:
        base = dict(beta=BETA, F=F, sigma=sigma, eps=eps_grid)
        for cid, rid, key, form, lab in CURVES:
            kw: dict[str, Any] = dict(base)
            if rid in ("picky", "picky-explicit", "picky-explicit-sharp"):
                kw["tau_avg"] = tau_avg
            elif rid == "delayed-sgd":
                kw["tau_max"] = tau_max
            elif rid == "delay-adaptive":
                kw["tau_C"] = tau_avg
            elif rid == "quantile":
                kw.update(q=q, tau_q=float(R - 1))
            C = 1.0 if theory.get(rid).constant is not None else None
            vals = np.asarray(theory.iterations(rid, C=C, **kw) if C is not None else theory.iterations(rid, **kw), float)
            for e, v in zip(eps_grid, np.broadcast_to(vals, eps_grid.shape)):
                rows.append({"sigma": sigma, "curve": cid, "result": rid, "style": key, "form": form, "label": lab,
                             "status": theory.get(rid).status.value if hasattr(theory.get(rid).status, "value")
                             else str(theory.get(rid).status), "eps": float(e), "iterations": float(v)})
    if ctx is not None:
        ctx.progress(f"{NAME}: {len(rows)} points")
    meta = {
        "title": TITLE,
        "seeds": [seed],
        "delays": {"spec": SPEC, "T": T, "seed": seed, "tau_avg": tau_avg, "tau_max": tau_max, "R": R, "q": q},
        "beta": BETA, "F": F, "sigmas": list(SIGMAS),
        "sentence": (f"Steps each bound asks for against eps (beta = F = 1) under a Pareto(1.5) delay draw with "
                     f"tau_avg = {tau_avg:.2f} and tau_max = {tau_max:.0f}: Picky SGD's bounds grow with tau_avg, "
                     f"delayed SGD's with tau_max, so at sigma = 0 the rate forms (C = 1) differ by "
                     f"{tau_max / max(tau_avg, 1e-9):.0f}x, while Theorem D's explicit constants (derived here) "
                     f"stay above delayed SGD's C = 1 rate."),
        "caption": (f"All curves from theory/ (calculators; no simulation). Delays: {SPEC}, T = {T}, seed {seed} "
                    f"(tau_avg {tau_avg:.2f}, tau_max {tau_max:.0f}). Rate forms carry an unknown constant, C = 1 shown "
                    "(a placeholder: comparing them says nothing about constants). Theorem D/D' constants "
                    "(2048, 512, 128, 8960) are derived in this package, not the paper's. Stale-drop: the "
                    f"quantile-delay rate at q = P(d < R) = {q:.3f}, tau_q = R - 1 = {R - 1} (no stale-drop theorem in "
                    "theory/)."),
        "source": "theory.iterations (theory/results.py) on a verify.models.delays draw",
    }
    return Table(rows, meta)


def plot(table: Table):
    m = table.meta
    sigmas = m["sigmas"]
    fig = style.new_figure(12.5, 5.6)
    axes = fig.subplots(1, len(sigmas), sharey=True)
    for ax, sigma in zip(np.atleast_1d(axes), sigmas):
        for cid, _, key, form, lab in CURVES:
            rs = table.select(sigma=sigma, curve=cid)
            if not rs:
                continue
            ax.plot(column(rs, "eps"), column(rs, "iterations"), color=style.color(key),
                    linestyle="-." if form == "alt" else style.THEORY_STYLES.get(form, "-"), label=lab,
                    linewidth=2.4 if key == "picky" else 1.6, zorder=3 if cid == "picky-rate" else 2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("target accuracy ε (||∇f(x)|| ≤ ε)")
        ax.set_title(f"σ = {sigma:g}" + (" (deterministic gradients)" if sigma == 0 else " (noisy gradients)"))
        ax.invert_xaxis()
    axes[0].set_ylabel("steps T the bound asks for (β = F = 1)")
    d = m["delays"]
    axes[0].legend(loc="upper left", fontsize=7.2)
    fig.suptitle(f"Figure 1. {TITLE}: {d['spec']} (τ_avg = {d['tau_avg']:.2f}, τ_max = {d['tau_max']:.0f})",
                 x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.2, wspace=0.06)
    style.caption(fig, m["caption"], width=175)
    return fig

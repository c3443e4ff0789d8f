"""Figure 9 -- seconds to eps against the number of workers n, tau_i = sqrt(i) (the fixed model), every
method of claim 18's list (:data:`.seconds_common.METHODS`), with theory's T_homog and asynchronous SGD's
time (``time-homog``, ``time-asgd`` of :mod:`theory.timing`, unknown constants C = 1) dashed.

Per n and method: the runs of :func:`.seconds_common.method_runs` (one schedule, the profile's noise
seeds), their median and 10%-90% band (:func:`.seconds_common.summary`; a run that never reached eps
within claim 18's horizon 20000 + 20 n steps counts as +inf). Right panel: the same over T_homog.
"""
from __future__ import annotations

from typing import Any

from verify.claims import picky_seconds as ps
from verify.models import compute as cmodels
from . import seconds_common as sc, style
from .context import Context
from .table import Table

NAME = "seconds-vs-workers"
TITLE = "Seconds to eps against the number of workers (tau_i = sqrt(i)), every method, beside T_homog"
NS = {"test": (1, 4, 16), "quick": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
      "full": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10000)}
#: odd, so that the median is one run (an order statistic, see seconds_common.summary)
SEEDS = {"test": 5, "quick": 15, "full": 31}


def compute(profile: str = "quick", seed: int = 0, *, ctx: Context | None = None) -> Table:
    """Rows: kind "run" (n, method, seed, seconds, steps), kind "summary" (n, method, median, q10, q90,
    reached, runs) and kind "theory" (n, T_homog, T_asgd, m_star). ``seed``: the first noise seed."""
    inst, prob, eps = sc.instance()
    seeds = list(range(seed, seed + SEEDS.get(profile, SEEDS["quick"])))
    ns = NS.get(profile, NS["quick"])
    rows: list[dict[str, Any]] = []
    for n in ns:
        cm = cmodels.make(f"fixed:n={n},law=sqrt")
        rows.append({"kind": "theory", "n": n, **sc.theory_times(cm.base_times(), prob, eps)})
        for m in sc.METHODS:
            runs = sc.method_runs(m, prob, cm, eps, seeds, ps.horizon(n))
            rows += [{"kind": "run", "n": n, "method": m.name, **r} for r in runs]
            rows.append({"kind": "summary", "n": n, "method": m.name, **sc.summary([r["seconds"] for r in runs])})
        if ctx is not None:
            ctx.progress(f"{NAME}: n = {n}")
    last = ns[-1]
    th = {r["n"]: r for r in rows if r["kind"] == "theory"}
    med = {r["method"]: r["median"] for r in rows if r["kind"] == "summary" and r["n"] == last}
    ratio = {k: (None if v is None else v / th[last]["T_homog"]) for k, v in med.items()}
    parts = [f"{sc.name(k)} {v:.2g}x" if v is not None else f"{sc.name(k)} not reached" for k, v in ratio.items()]
    meta = {
        "title": TITLE, "seeds": seeds, "seed": seed, "command": sc.COMMAND.format(name=NAME, profile=profile),
        "methods": [m.name for m in sc.METHODS],
        "sentence": (f"Seconds to eps on quad (eps = 1/2, sigma = 1) under tau_i = sqrt(i) for n = {ns[0]}..{last}: "
                     f"median seconds / T_homog (C = 1) at n = {last}: " + ", ".join(parts) + "."),
        "caption": (f"Instance quad (beta = 1, F = 1/2, eps = 1/2, R^4), sigma = 1, Gaussian noise keyed by task. Fixed model "
                    f"tau_i = sqrt(i) s; one schedule per method (its policy), noise seeds {seeds[0]}..{seeds[-1]}. Lines: "
                    f"median seconds to eps over the seeds; bands: 10%-90%; a run not reaching eps within 20000 + 20 n steps "
                    "counts as infinite (open marker at the top: the median was not reached). Methods (claim 18's list): "
                    + "; ".join(f"{sc.name(m.name)}: {m.describe}" for m in sc.METHODS) + ". Dashed: theory.timing's "
                    "T_homog (time-homog, min over m) and asynchronous SGD's time (time-asgd, all n workers), both with "
                    "their unknown constant C = 1, a placeholder: a method below a dashed line says nothing about the "
                    "constant."),
        "source": "verify.claims.picky_seconds.run_method (METHODS) on verify.engine.events schedules; theory.time",
    }
    return Table(rows, meta)


def plot(table: Table):
    fig = style.new_figure(13, 7.0)
    ax, axr, _, _ = sc.plot_two_panels(fig, table, "n")
    for a in (ax, axr):
        a.set_xscale("log")
        a.set_xlabel("number of workers n (tau_i = sqrt(i) seconds)")
    ax.set_title("seconds to eps")
    axr.set_title("over T_homog")
    fig.suptitle(f"Figure 9. {TITLE}", x=0.01, ha="left", fontsize=11.5)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.9, bottom=0.36, wspace=0.2)
    style.caption(fig, table.meta["caption"], width=190)
    return fig

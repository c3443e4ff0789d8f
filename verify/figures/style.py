"""The one style of every figure: a colour per algorithm (the same in all figures), legend labels
that name the algorithm and its step size, units on the axes, and the save routine (PNG + SVG,
deterministic bytes given the data).

Colours are the Okabe-Ito palette (readable by colour-blind readers):

=============================  =========  ==================================================
key                            colour     used for
=============================  =========  ==================================================
``picky``                      blue       Picky SGD (and its theorems: rate form, D, D')
``delayed-sgd``                vermilion  delayed SGD (the max-delay baseline)
``delay-adaptive-ksj``         green      delay-adaptive SGD, KSJ 2022 step rule
``delay-adaptive-mishchenko``  sky blue   delay-adaptive SGD, Mishchenko et al. step rule
``stale-drop``                 purple     stale-drop SGD (drop d_t >= R)
``sgd``                        orange     plain SGD without delays
``ringmaster``                 brown      Ringmaster ASGD (with stops)
``rennala``                    olive      Rennala SGD (batch rounds)
``minibatch``                  wine       minibatch SGD (synchronous rounds)
``lower bound``                black      the lower bound (Arjevani et al.; Carmon et al.)
=============================  =========  ==================================================
"""
from __future__ import annotations

import os
import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["COLORS", "NAMES", "color", "name", "label", "key_of", "apply", "new_figure", "save", "caption",
           "fmt", "THEORY_STYLES"]

COLORS: dict[str, str] = {
    "picky": "#0072B2",
    "delayed-sgd": "#D55E00",
    "delay-adaptive-ksj": "#009E73",
    "delay-adaptive-mishchenko": "#56B4E9",
    "stale-drop": "#CC79A7",
    "sgd": "#E69F00",
    "ringmaster": "#8C564B",
    "rennala": "#999933",
    "minibatch": "#882255",
    "lower bound": "#000000",
}
NAMES: dict[str, str] = {
    "picky": "Picky SGD",
    "delayed-sgd": "delayed SGD",
    "delay-adaptive-ksj": "delay-adaptive SGD (KSJ)",
    "delay-adaptive-mishchenko": "delay-adaptive SGD (Mishchenko)",
    "stale-drop": "stale-drop SGD",
    "sgd": "SGD (no delays)",
    "ringmaster": "Ringmaster ASGD",
    "rennala": "Rennala SGD",
    "minibatch": "minibatch SGD",
    "lower bound": "lower bound",
}
#: line styles of the three forms of a bound (theory figures)
THEORY_STYLES: dict[str, str] = {"rate": "-", "D": "--", "D'": ":"}


def key_of(algorithm: str, rule: str | None = None) -> str:
    """The style key of an algorithm name (``delay-adaptive`` needs its step rule)."""
    if algorithm == "delay-adaptive":
        return f"delay-adaptive-{rule or 'ksj'}"
    if algorithm not in COLORS:
        raise ValueError(f"no style for algorithm {algorithm!r}; known: {list(COLORS)}")
    return algorithm


def color(key: str) -> str:
    return COLORS[key]


def name(key: str) -> str:
    return NAMES[key]


def fmt(x: float, digits: int = 2) -> str:
    """A short number for a label: 0.056, 1.2e-04, 3.0e+05."""
    if x == 0:
        return "0"
    a = abs(x)
    if 1e-2 <= a < 1e4:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 1, 0)}e}".replace("e-0", "e-").replace("e+0", "e")


def label(key: str, eta: float | str | None = None, **extra: Any) -> str:
    """``Picky SGD (η = 0.056, ρ = 0.025)``: the algorithm and its step size (a number, or a rule
    such as "1/(9β(1+τ_max))"), plus any other named parameters."""
    parts = []
    if eta is not None:
        parts.append(f"η = {eta if isinstance(eta, str) else fmt(eta)}")
    for k, v in extra.items():
        sym = {"rho": "ρ", "R": "R", "tau_C": "τ_C"}.get(k, k)
        parts.append(f"{sym} = {v if isinstance(v, str) else fmt(v)}")
    return NAMES[key] + (f" ({', '.join(parts)})" if parts else "")


def apply() -> None:
    """The shared rcParams (called before every figure)."""
    plt.rcdefaults()
    plt.rcParams.update({
        "font.size": 9.5,
        "axes.titlesize": 10.5,
        "axes.labelsize": 9.5,
        "legend.fontsize": 8,
        "legend.framealpha": 0.9,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 1.7,
        "savefig.dpi": 130,
        "svg.hashsalt": "picky-sgd",
        "svg.fonttype": "path",
        "path.simplify": True,
    })


def new_figure(width: float, height: float, **kw: Any) -> Figure:
    """A new figure (not registered with pyplot's global state, so nothing leaks between figures)."""
    apply()
    return Figure(figsize=(width, height), **kw)


def caption(fig: Figure, text: str, *, width: int = 150, y: float = 0.005, size: float = 8.0) -> None:
    """A wrapped caption at the bottom of the figure (leave room with ``fig.subplots_adjust(bottom=...)``)."""
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width) or [""]
    fig.text(0.01, y, "\n".join(lines), ha="left", va="bottom", fontsize=size, color="#333333")


def save(fig: Figure, directory: str | os.PathLike[str], stem: str) -> list[str]:
    """Write ``stem.png`` and ``stem.svg`` into ``directory``; returns the file names. The SVG carries
    no date and fixed ids (``svg.hashsalt``), so equal data give equal bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    names = [f"{stem}.png", f"{stem}.svg"]
    fig.savefig(os.path.join(directory, names[0]), format="png", metadata={"Software": None})
    fig.savefig(os.path.join(directory, names[1]), format="svg", metadata={"Date": None, "Creator": None})
    return names

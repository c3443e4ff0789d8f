"""A rate-comparison figure from theory's calculators: steps to reach ||grad f|| <= eps against eps, for
Picky SGD (Theorem 1: in the average delay) and delayed SGD (in the maximal delay).

    python examples/rate_comparison_figure.py [OUT.png]   # default: a file in a new temporary directory

Both curves are rate forms beta F (sigma^2/eps^4 + (1 + tau)/eps^2) with the same placeholder constant
C = 1 (the papers' constants are unknown): the figure compares shapes (tau_avg against tau_max), not
absolute step counts. Where the noise term sigma^2/eps^4 dominates (small eps), the delays stop mattering.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import theory  # noqa: E402

# One setting: beta F = 1, sigma = 1, delays with a small average and a huge maximum (one straggler).
P = dict(beta=1.0, F=1.0, sigma=1.0)
TAU_AVG, TAU_MAX = 2.0, 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", help="the PNG to write (default: rates.png in a new temporary directory)")
    args = ap.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="picky-rates-")) / "rates.png"

    eps = np.logspace(-2, 0, 60)  # the calculators broadcast over arrays
    curves = {
        "Picky SGD, Thm 1 (tau_avg)": theory.iterations("picky", eps=eps, tau_avg=TAU_AVG, **P),
        "delayed SGD (tau_max)": theory.iterations("delayed-sgd", eps=eps, tau_max=TAU_MAX, **P),
    }
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, steps in curves.items():
        ax.loglog(eps, steps, label=label)
    ax.set_xlabel("target accuracy eps (||grad f|| <= eps)")
    ax.set_ylabel("steps T (rate form, C = 1)")
    ax.set_title(f"tau_avg = {TAU_AVG:g}, tau_max = {TAU_MAX:g}, beta F = 1, sigma = 1")
    ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)

    # One number to read off: at eps = 0.1 the rates are beta F (sigma^2/eps^4 + (1 + tau)/eps^2) =
    # 10000 + 300 (Picky, tau_avg = 2) and 10000 + 100100 (delayed SGD, tau_max = 1000): ratio 110100/10300.
    a = theory.iterations("delayed-sgd", eps=0.1, tau_max=TAU_MAX, **P)
    b = theory.iterations("picky", eps=0.1, tau_avg=TAU_AVG, **P)
    print(f"at eps = 0.1: delayed SGD {a:.0f} steps, Picky SGD {b:.0f} steps, ratio {a / b:.4f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

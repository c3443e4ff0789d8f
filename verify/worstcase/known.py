"""Known exact worst cases, from the literature (label: secondary -- see paper_notes.md).

Gradient descent without delays on L-smooth (nonconvex) functions (Abbaszadehpeivasti, de Klerk &
Zamani, "The exact worst-case convergence rate of the gradient method with fixed step lengths for
L-smooth functions", Optim. Lett. 16 (2022) 1649-1661; cited by PEPit's example
``nonconvex_optimization/gradient_descent.py``, which states 4L/(3N) at h = 1): N steps
x_{k+1} = x_k - (h/L) grad f(x_k), 0 < h < sqrt(3), under f(x_1) - f(x_{N+1}) <= F,

    max min_{1<=k<=N+1} ||grad f(x_k)||^2 = 4 L F / (N min{4h - h^3, 4h - h^2}).

In :func:`verify.worstcase.worst_case` terms: ``initial="final"``, ``count_last=True``, step h/L.
"""
from __future__ import annotations

import math

__all__ = ["gd_exact_worst_case", "GD_SOURCE"]

GD_SOURCE = ("Abbaszadehpeivasti, de Klerk & Zamani, Optim. Lett. 16 (2022) 1649-1661 (arXiv:2104.05468); "
             "cited by PEPit examples/nonconvex_optimization/gradient_descent.py")


def gd_exact_worst_case(L: float, F: float, h: float, N: int) -> float:
    """4 L F / (N min{4h - h^3, 4h - h^2}): the exact worst case of min_{k<=N+1} ||grad f(x_k)||^2
    after N steps of gradient descent with step h/L (0 < h < sqrt 3) and f(x_1) - f(x_{N+1}) <= F."""
    for name, v in (("L", L), ("F", F)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a number > 0; got {v!r}")
    if not (isinstance(h, (int, float)) and 0 < h < math.sqrt(3)):
        raise ValueError(f"h (the step times L) must be in (0, sqrt(3)); got {h!r}")
    if isinstance(N, bool) or not isinstance(N, int) or N < 1:
        raise ValueError(f"N must be an integer >= 1; got {N!r}")
    return 4.0 * L * F / (N * min(4 * h - h ** 3, 4 * h - h * h))

"""The SymPy symbols shared by every statement in :mod:`theory`.

Names follow the paper digest (``../shared/reference/paper.md``): beta is the smoothness
constant (sources that write L mean the same), F = f(x_1) - inf f, sigma^2 the noise variance,
eps the target accuracy in the *norm* convention ||grad f(x)|| <= eps.

Units: beta [1/length^2 in f-units], F [f-units], sigma and eps [gradient units], delays and T
[steps], eta [length^2/f-units]: beta*eta is dimensionless.
"""
from __future__ import annotations

import sympy as sp

beta = sp.Symbol("beta", positive=True)
F = sp.Symbol("F", positive=True)
sigma = sp.Symbol("sigma", nonnegative=True)
eps = sp.Symbol("epsilon", positive=True)
tau_avg = sp.Symbol("tau_avg", nonnegative=True)
tau_max = sp.Symbol("tau_max", nonnegative=True)
tau_q = sp.Symbol("tau_q", nonnegative=True)
tau_C = sp.Symbol("tau_C", nonnegative=True)
#: the measured maximum concurrency of a delay sequence: max over steps t of the number of gradients
#: in flight at t (KSJ 2022 Definition 1's tau_C, the maximum number of active workers, measured on the
#: sequence by verify.models.delays.concurrency): a statistic of the sequence beside tau_avg and tau_max
concurrency = sp.Symbol("concurrency", positive=True)
q = sp.Symbol("q", positive=True)
T = sp.Symbol("T", positive=True)
delta = sp.Symbol("delta", positive=True)
eta = sp.Symbol("eta", positive=True)
tau = sp.Symbol("tau", nonnegative=True, integer=True)  # a constant delay
B = sp.Symbol("B", nonnegative=True)  # number of breakpoints |B|
S = sp.Symbol("S", nonnegative=True)  # sum of the delays sum_{t<=T} d_t
N = sp.Symbol("N", nonnegative=True)  # number of straddling steps

#: the numeric keyword name of every symbol (what calculators and the CLI call it)
NAMES: dict[sp.Symbol, str] = {
    beta: "beta",
    F: "F",
    sigma: "sigma",
    eps: "eps",
    tau_avg: "tau_avg",
    tau_max: "tau_max",
    tau_q: "tau_q",
    tau_C: "tau_C",
    concurrency: "concurrency",
    q: "q",
    T: "T",
    delta: "delta",
    eta: "eta",
    tau: "tau",
    B: "breakpoints",
    S: "sum_delays",
    N: "N",
}
BY_NAME: dict[str, sp.Symbol] = {v: k for k, v in NAMES.items()}


def constant(name: str) -> sp.Symbol:
    """An unknown absolute constant of a rate-only result (always a named, positive symbol)."""
    return sp.Symbol(name, positive=True)

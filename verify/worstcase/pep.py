"""The performance estimation problem of a :class:`~.program.Program`, written with PEPit and solved
through cvxpy; the result as a :class:`WorstCase` record. PEPit and cvxpy are imported here, lazily
(inside functions), so that ``import verify`` stays cheap.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .program import Program

__all__ = ["WorstCase", "solve_program", "SOLVERS", "BACKENDS", "require_pepit", "WorstCaseError"]

#: solver name (as the API and the CLI spell it) -> cvxpy's name
SOLVERS = {"clarabel": "CLARABEL", "scs": "SCS"}
#: solver statuses that carry a solution
SOLVED = ("optimal", "optimal_inaccurate")


class WorstCaseError(ValueError):
    """No worst case: the pattern is infeasible, the problem is unbounded, or the solver failed
    (a ValueError: the CLI's one-line error, exit 2). ``status`` names the solver status."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


def require_pepit() -> None:
    """:class:`verify.optional.MissingDependency` naming the extra when PEPit or cvxpy is missing (the
    CLI's one-line error, exit 2)."""
    from verify.optional import check

    for module in ("PEPit", "cvxpy"):
        check(module, "exact worst cases")


@dataclass
class WorstCase:
    """One solved PEP (see :func:`verify.worstcase.worst_case`).

    value: the SDP's primal optimum = the worst case of min_t ||grad f(x_t)||^2 over the measured
    steps; dual_value: the dual optimum (the certified upper bound, up to the residuals of
    :func:`verify.worstcase.certificate.check_dual`). instance: x (iterates x_1..x_{T+1}, rows),
    g_points / f_points (gradient and value at each distinct point), point_of (the point of x_t),
    grad_norm2 (||grad f(x_t)||^2, t = 1..T+1), argmin (the measured t attaining the minimum).
    duals: metrics (one weight per measured step, summing to 1), initial, distance (Picky's
    pattern constraints, with their steps), interpolation (n x n, entry [i, j] the multiplier of
    the smoothness inequality of the pair (i, j)).
    """

    program: Program
    solver: str
    status: str
    value: float
    dual_value: float
    solve_time: float
    build_time: float
    instance: dict[str, Any] = field(default_factory=dict)
    duals: dict[str, Any] = field(default_factory=dict)
    pepit_residual_min_eig: float = math.nan

    @property
    def T(self) -> int:
        return self.program.T

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (arrays as lists)."""
        p = self.program
        return {
            "schema": "picky-worst-case/1",
            "algorithm": p.extra.get("algorithm"),
            "T": p.T, "beta": p.beta, "F": p.F,
            "delays": p.delays.tolist(), "accept": p.accept.tolist(), "eta": p.eta.tolist(),
            "eta_source": p.extra.get("eta_source"), "rho": p.rho, "pattern": p.pattern,
            "initial": p.initial, "count_last": p.count_last, "measured_steps": p.measured_steps(),
            "solver": self.solver, "status": self.status, "value": self.value, "dual_value": self.dual_value,
            "solve_time": self.solve_time, "build_time": self.build_time,
            "pepit_residual_min_eig": self.pepit_residual_min_eig,
            "instance": {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in self.instance.items()},
            "duals": {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in self.duals.items()},
        }


def _infeasible(prog: Program, why: str, solver: str) -> WorstCaseError:
    return WorstCaseError(f"the accept pattern is infeasible: {why}", "infeasible")


#: how the SDP is written: PEPit (the reference) or the stacked matrices of :mod:`.direct` (faster)
BACKENDS = ("pepit", "direct")


def solve_program(prog: Program, solver: str = "clarabel", backend: str = "pepit", **solver_kwargs: Any) -> WorstCase:
    """Build the PEP of ``prog`` with PEPit (``SmoothFunction``, L = beta) and solve it with
    ``solver`` through cvxpy (``backend="direct"``: the same SDP from :mod:`.direct`). Raises
    :class:`WorstCaseError` when there is no finite worst case."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}; got {solver!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}; got {backend!r}")
    why = prog.structurally_infeasible()
    if why is not None:
        raise _infeasible(prog, why, solver)
    require_pepit()
    if backend == "direct":
        from .direct import solve_direct

        return solve_direct(prog, solver, SOLVERS[solver])
    from PEPit import PEP
    from PEPit.functions import SmoothFunction

    t0 = time.perf_counter()
    problem = PEP()
    func = problem.declare_function(SmoothFunction, L=prog.beta)
    x1 = problem.set_initial_point()
    xs: list[Any] = [None, x1]  # xs[t] = x_t
    grads: list[Any] = []  # by point
    vals: list[Any] = []
    g1, f1 = func.oracle(x1)
    grads.append(g1), vals.append(f1)
    for t in range(1, prog.T + 1):
        p = int(prog.point_of[t])
        if p == len(grads):  # a new point: its oracle
            g, fv = func.oracle(xs[t])
            grads.append(g), vals.append(fv)
        src = int(prog.point_of[prog.source(t)])
        if prog.accept[t - 1] and prog.eta[t - 1] > 0:
            xs.append(xs[t] - float(prog.eta[t - 1]) * grads[src])
        else:
            xs.append(xs[t])
    if int(prog.point_of[prog.T + 1]) == len(grads):
        g, fv = func.oracle(xs[prog.T + 1])
        grads.append(g), vals.append(fv)
    assert len(grads) == prog.n_points
    for t in prog.measured_steps():
        problem.set_performance_metric(grads[int(prog.point_of[t])] ** 2)
    init = []
    if prog.initial == "every":
        for q in range(prog.n_points):
            init.append(vals[0] - vals[q] + (1.0 / (2 * prog.beta)) * grads[q] ** 2 <= prog.F)
    else:  # "final": PEPit's gradient-descent example
        init.append(vals[0] - vals[int(prog.point_of[prog.T + 1])] <= prog.F)
    for c in init:
        problem.set_initial_condition(c)
    dist = []
    for t, kind in prog.distance_constraints():
        diff = xs[t] - xs[prog.source(t)]
        c = (diff ** 2 <= prog.rho ** 2) if kind == "le" else (diff ** 2 >= prog.rho ** 2)
        problem.add_constraint(c)
        dist.append((t, kind, c))
    build = time.perf_counter() - t0

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():  # cvxpy's "Solution may be inaccurate": the status says it
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(wrapper="cvxpy", solver=SOLVERS[solver], verbose=0, **solver_kwargs)
    except Exception as exc:  # a solver error (cvxpy.SolverError, ...): name it
        status = getattr(getattr(problem, "wrapper", None), "prob", None)
        status = getattr(status, "status", None) or type(exc).__name__
        raise WorstCaseError(f"solver {solver} failed (status {status}): {exc}", str(status)) from None
    elapsed = time.perf_counter() - t0
    prob = problem.wrapper.prob
    status = str(prob.status)
    if status not in SOLVED or prob.value is None or not np.isfinite(prob.value):
        what = {"infeasible": "the accept pattern is infeasible" if prog.pattern else "the problem is infeasible",
                "infeasible_inaccurate": "the accept pattern is (probably) infeasible" if prog.pattern else "infeasible",
                "unbounded": "the worst case is unbounded (+inf)", "unbounded_inaccurate": "the worst case is (probably) unbounded"}
        raise WorstCaseError(f"no finite worst case: {what.get(status, 'unsolved')} (solver {solver}, status {status})", status)
    value = float(prob.value)

    # the instance, from PEPit's factorisation of the Gram matrix (eigendecomposition, then QR)
    X = np.array([xs[t].eval() for t in range(1, prog.T + 2)])
    Gp = np.array([g.eval() for g in grads])
    Fp = np.array([float(v.eval()) for v in vals])
    gn2 = np.array([float(Gp[int(prog.point_of[t])] @ Gp[int(prog.point_of[t])]) for t in range(1, prog.T + 2)])
    meas = prog.measured_steps()
    argmin = int(meas[int(np.argmin(gn2[np.array(meas) - 1]))])
    instance = {"x": X, "g_points": Gp, "f_points": Fp, "point_of": prog.point_of[1:].tolist(), "grad_norm2": gn2,
                "argmin": argmin}

    # the multipliers
    prepared = problem._list_of_prepared_constraints
    n_meas = len(meas)
    metrics = np.array([float(c.eval_dual()) for c in prepared[:n_meas]])
    table = func.tables_of_constraints["smoothness"]
    n = prog.n_points
    lam = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            c = table.iat[i, j]
            if i != j:
                lam[i, j] = float(c.eval_dual())
    duals = {
        "metrics": metrics,
        "initial": np.array([float(c.eval_dual()) for c in init]),
        "distance": [{"t": t, "kind": k, "multiplier": float(c.eval_dual())} for t, k, c in dist],
        "interpolation": lam,
    }
    dual_value = prog.F * float(duals["initial"].sum()) + sum(
        (prog.rho ** 2) * (e["multiplier"] if e["kind"] == "le" else -e["multiplier"]) for e in duals["distance"])
    res = getattr(problem, "residual", None)
    rmin = float(np.min(np.linalg.eigvalsh((res + res.T) / 2))) if res is not None else math.nan
    return WorstCase(prog, solver, status, value, float(dual_value), elapsed, build, instance, duals, rmin)

"""A second, faster way to the same SDP: the constraints of :func:`.certificate.constraint_matrices`
stacked into one sparse linear map and handed to cvxpy directly (``backend="direct"``).

PEPit builds each scalar constraint as a cvxpy expression, and cvxpy canonicalises them one by one:
at T = 30 that is ~8 s of the ~10 s of a solve (``benchmarks/bench_worst_case.py``). Here the whole
problem is three constraints (a vector inequality, the measured diagonal, G PSD), so the time is the
solver's. PEPit stays the default and the reference: ``tests/test_worstcase.py`` checks both backends
give the same value, and the instance certificate (:func:`.certificate.check_instance`, which writes
the interpolation inequality in Taylor-Hendrickx-Glineur's form, not from these matrices) is
independent of both. The dual certificate of a direct solve re-reads the matrices it was built from,
so for that backend it checks the solver, not the formulation.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .certificate import constraint_matrices
from .program import Program

__all__ = ["solve_direct"]


def solve_direct(prog: Program, solver: str, cvx_name: str) -> Any:
    import cvxpy as cp
    import scipy.sparse as sps

    from .pep import SOLVED, WorstCase, WorstCaseError

    t0 = time.perf_counter()
    n = prog.n_points
    mats = constraint_matrices(prog)
    fam = [(name, key) for name in ("interpolation", "initial", "distance") for key, *_ in mats[name]]
    rows = [m for name in ("interpolation", "initial", "distance") for m in mats[name]]
    M = sps.csr_matrix(np.array([A.reshape(-1, order="F") for _, A, _, _ in rows])) if rows else None
    Af = np.array([a for _, _, a, _ in rows])
    b = np.array([bb for *_, bb in rows])
    G = cp.Variable((n, n), symmetric=True)
    f = cp.Variable(n)
    w = cp.Variable()
    meas = [int(prog.point_of[t]) for t in prog.measured_steps()]
    perf = w <= cp.hstack([G[q, q] for q in meas])
    lin = M @ cp.vec(G, order="F") + Af @ f + b <= 0
    psd = G >> 0
    problem = cp.Problem(cp.Maximize(w), [perf, lin, psd])
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cvx_name)
    except cp.error.SolverError as exc:
        raise WorstCaseError(f"solver {solver} failed (status {problem.status}): {exc}", str(problem.status)) from None
    elapsed = time.perf_counter() - t0
    status = str(problem.status)
    if status not in SOLVED or problem.value is None or not np.isfinite(problem.value):
        what = {"infeasible": "the accept pattern is infeasible" if prog.pattern else "the problem is infeasible",
                "unbounded": "the worst case is unbounded (+inf)"}
        raise WorstCaseError(f"no finite worst case: {what.get(status, 'unsolved')} (solver {solver}, status {status})", status)
    Gv = 0.5 * (G.value + G.value.T)
    lam_, V = np.linalg.eigh(Gv)
    vecs = V * np.sqrt(np.maximum(lam_, 0.0))  # row q = the gradient at point q (eigendecomposition)
    X = prog.X[1:] @ vecs
    fv = np.asarray(f.value, dtype=float)
    gn2 = np.array([float(vecs[int(prog.point_of[t])] @ vecs[int(prog.point_of[t])]) for t in range(1, prog.T + 2)])
    ms = prog.measured_steps()
    argmin = int(ms[int(np.argmin(gn2[np.array(ms) - 1]))])
    instance = {"x": X, "g_points": vecs, "f_points": fv, "point_of": prog.point_of[1:].tolist(), "grad_norm2": gn2,
                "argmin": argmin}
    y = np.asarray(lin.dual_value, dtype=float).reshape(-1)
    lam = np.zeros((n, n))
    init, dist = [], []
    for (name, key), yc in zip(fam, y, strict=True):
        if name == "interpolation":
            lam[key] = yc
        elif name == "initial":
            init.append(yc)
        else:
            kind = "le" if prog.accept[key - 1] else "ge"
            dist.append({"t": key, "kind": kind, "multiplier": float(yc)})
    duals = {"metrics": np.asarray(perf.dual_value, dtype=float).reshape(-1), "initial": np.array(init),
             "distance": dist, "interpolation": lam}
    dual_value = prog.F * float(np.sum(init)) + sum(
        (prog.rho ** 2) * (e["multiplier"] if e["kind"] == "le" else -e["multiplier"]) for e in dist)
    res_min = float(np.min(np.linalg.eigvalsh(np.asarray(psd.dual_value)))) if psd.dual_value is not None else float("nan")
    return WorstCase(prog, solver, status, float(problem.value), float(dual_value), elapsed, build, instance, duals, res_min)

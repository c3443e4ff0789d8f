"""Certificates of a :class:`~.pep.WorstCase`, checked with numpy alone (no PEPit, no cvxpy): the
constraints are rewritten here from the :class:`~.program.Program`, not read from PEPit.

(i) :func:`check_instance` -- the worst-case instance is what it claims: the points (x_i, g_i, f_i)
satisfy the interpolation conditions of the class of L-smooth functions (Taylor, Hendrickx &
Glineur 2017, "Exact worst-case performance of first-order methods for composite convex
optimization", SIAM J. Optim. 27(3), Theorem 3.10, class F_{mu,L} with mu = -L): for every pair i != j,

    f_i >= f_j + <g_j, x_i - x_j> + 1/(2(1 - mu/L)) (||g_i - g_j||^2/L + mu ||x_i - x_j||^2
                                                      - 2 (mu/L) <g_j - g_i, x_j - x_i>),

which holds for all pairs iff some L-smooth f has f(x_i) = f_i, grad f(x_i) = g_i; the iterates follow
the method's updates (x_{t+1} = x_t - eta_t g(x_{t-d_t}) on accepted steps, x_t otherwise); the
initial condition and Picky's pattern hold; and min over the measured steps of ||g(x_t)||^2 is the
reported value. Violations are compared with ``tol`` times the instance's scale
max(1, F, max|f_i|, max||g_i||^2, L max||x_i||^2).

(ii) :func:`check_dual` -- the multipliers prove the upper bound. Write every constraint as
c(G, f) = <A_c, G> + a_c . f + b_c <= 0 in the Gram matrix G of the gradients at the n distinct
points (x_1 = 0, x_t = sum_q X[t, q] g_q) and their values f. With weights alpha_t >= 0 on the
measured steps (sum 1), multipliers y_c >= 0, sum_c y_c a_c = 0 and the residual
Z = sum_c y_c A_c - sum_t alpha_t e_{p(t)} e_{p(t)}^T PSD, every feasible (G, f) has

    min_t ||g(x_t)||^2 <= sum_t alpha_t <E_t, G> = sum_c y_c (c_c - a_c.f - b_c) - <Z, G> <= -sum_c y_c b_c,

and -sum_c y_c b_c = F sum(initial multipliers) + rho^2 (sum of accepted-distance multipliers -
sum of rejected-distance ones): "objective - tau * initial condition" up to the PSD residual.
The check: multipliers >= -tol, |sum alpha - 1|, ||sum y a||, the smallest eigenvalue of Z (relative
to max(1, ||Z||)), and |dual bound - primal value| (relative to max(1, value)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .program import Program

__all__ = ["check_instance", "check_dual", "constraint_matrices", "Check", "interpolation_violation"]


@dataclass(frozen=True)
class Check:
    """Residuals by name, the tolerance, and whether all are within it."""

    ok: bool
    tol: float
    residuals: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "tol": self.tol, "residuals": dict(self.residuals)}


def interpolation_violation(x: np.ndarray, g: np.ndarray, f: np.ndarray, L: float) -> np.ndarray:
    """Matrix V[i, j] = (right side) - f_i of THG 2017 Thm 3.10 with mu = -L (> 0 means violated;
    the diagonal is 0)."""
    mu = -float(L)
    n = len(f)
    V = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dx, dg = x[i] - x[j], g[i] - g[j]
            rhs = f[j] + g[j] @ dx + (dg @ dg / L + mu * (dx @ dx) - 2 * (mu / L) * ((g[j] - g[i]) @ (x[j] - x[i]))) / (2 * (1 - mu / L))
            V[i, j] = rhs - f[i]
    return V


def check_instance(wc: Any, tol: float = 1e-6) -> Check:
    """Certificate (i) on ``wc.instance`` against ``wc.program`` (see the module docstring)."""
    prog: Program = wc.program
    inst = wc.instance
    x = np.asarray(inst["x"], dtype=float)  # rows x_1..x_{T+1}
    G = np.asarray(inst["g_points"], dtype=float)
    fv = np.asarray(inst["f_points"], dtype=float)
    pt = prog.point_of
    L, T = prog.beta, prog.T
    # points' positions: the first iterate at each point
    first = {}
    for t in range(1, T + 2):
        first.setdefault(int(pt[t]), t)
    xp = np.array([x[first[q] - 1] for q in range(prog.n_points)])
    scale = max(1.0, prog.F, float(np.max(np.abs(fv))), float(np.max(np.sum(G * G, axis=1))),
                L * float(np.max(np.sum(x * x, axis=1))))
    res: dict[str, float] = {}
    res["interpolation"] = float(max(0.0, np.max(interpolation_violation(xp, G, fv, L))))
    upd = 0.0
    for t in range(1, T + 1):
        gsrc = G[int(pt[prog.source(t)])]
        step = prog.eta[t - 1] * gsrc if prog.accept[t - 1] else 0.0 * gsrc
        upd = max(upd, float(np.max(np.abs(x[t] - (x[t - 1] - step)))))
        # x_t's gradient is the gradient of its point
    res["updates"] = upd
    gn2 = np.sum(G * G, axis=1)
    if prog.initial == "every":
        init = fv[0] - fv + gn2 / (2 * L) - prog.F
    else:
        init = np.array([fv[0] - fv[int(pt[T + 1])] - prog.F])
    res["initial"] = float(max(0.0, np.max(init)))
    dv = 0.0
    for t, kind in prog.distance_constraints():
        dd = x[t - 1] - x[prog.source(t) - 1]
        d2 = float(dd @ dd)
        dv = max(dv, d2 - prog.rho ** 2 if kind == "le" else prog.rho ** 2 - d2)
    res["distance"] = max(0.0, dv)
    meas = [int(pt[t]) for t in prog.measured_steps()]
    res["objective"] = abs(float(np.min(gn2[meas])) - wc.value)
    bad = {k: v for k, v in res.items() if not v <= tol * (max(1.0, abs(wc.value)) if k == "objective" else scale)}
    return Check(not bad, tol, res)


def _sym(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return 0.5 * (np.outer(u, v) + np.outer(v, u))


def constraint_matrices(prog: Program) -> dict[str, list[tuple[Any, np.ndarray, np.ndarray, float]]]:
    """Every constraint as (key, A, a, b) with c = <A, G> + a.f + b <= 0, by family:
    "interpolation" (key (i, j)), "initial" (key: point index, or "final"), "distance" (key t)."""
    n, L = prog.n_points, prog.beta
    E = np.eye(n)
    # position of each point in the gradient basis: the X row of its first iterate
    Xp = np.zeros((n, n))
    seen = set()
    for t in range(1, prog.T + 2):
        q = int(prog.point_of[t])
        if q not in seen:
            seen.add(q)
            Xp[q] = prog.X[t]
    out: dict[str, list] = {"interpolation": [], "initial": [], "distance": []}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            dx = Xp[i] - Xp[j]
            # f_j - f_i + 1/2 <g_i + g_j, x_i - x_j> - L/4 ||x_i - x_j||^2 + 1/(4L) ||g_i - g_j||^2 <= 0
            A = 0.5 * _sym(E[i] + E[j], dx) - (L / 4) * np.outer(dx, dx) + np.outer(E[i] - E[j], E[i] - E[j]) / (4 * L)
            out["interpolation"].append(((i, j), A, E[j] - E[i], 0.0))
    if prog.initial == "every":
        for q in range(n):
            out["initial"].append((q, np.outer(E[q], E[q]) / (2 * L), E[0] - E[q], -prog.F))
    else:
        q = int(prog.point_of[prog.T + 1])
        out["initial"].append(("final", np.zeros((n, n)), E[0] - E[q], -prog.F))
    for t, kind in prog.distance_constraints():
        dx = prog.X[t] - prog.X[prog.source(t)]
        A = np.outer(dx, dx)
        r2 = prog.rho ** 2
        out["distance"].append((t, A, np.zeros(n), -r2) if kind == "le" else (t, -A, np.zeros(n), r2))
    return out


def check_dual(wc: Any, tol: float = 1e-6) -> Check:
    """Certificate (ii): the multipliers in ``wc.duals`` prove value <= dual bound (module docstring)."""
    prog: Program = wc.program
    n = prog.n_points
    mats = constraint_matrices(prog)
    lam = np.asarray(wc.duals["interpolation"], dtype=float)
    ys, As, as_, bs = [], [], [], []
    for (i, j), A, a, b in mats["interpolation"]:
        ys.append(lam[i, j]), As.append(A), as_.append(a), bs.append(b)
    for y, (_, A, a, b) in zip(np.asarray(wc.duals["initial"], dtype=float), mats["initial"], strict=True):
        ys.append(y), As.append(A), as_.append(a), bs.append(b)
    dist = wc.duals["distance"]
    for e, (t, A, a, b) in zip(dist, mats["distance"], strict=True):
        if e["t"] != t:
            raise ValueError(f"distance multipliers out of order: {e['t']} vs {t}")
        ys.append(e["multiplier"]), As.append(A), as_.append(a), bs.append(b)
    y = np.array(ys)
    alpha = np.asarray(wc.duals["metrics"], dtype=float)
    meas = [int(prog.point_of[t]) for t in prog.measured_steps()]
    Z = np.tensordot(y, np.array(As), axes=1) if len(As) else np.zeros((n, n))
    for w, q in zip(alpha, meas, strict=True):
        Z[q, q] -= w
    stat = np.array(as_).T @ y if len(as_) else np.zeros(n)
    bound = float(-(y @ np.array(bs)))
    zscale = max(1.0, float(np.max(np.abs(Z))))
    res = {
        "min_multiplier": float(max(0.0, -min(float(y.min(initial=0.0)), float(alpha.min(initial=0.0))))),
        "weights_sum": abs(float(alpha.sum()) - 1.0),
        "f_stationarity": float(np.max(np.abs(stat))) / max(1.0, float(np.max(np.abs(y), initial=0.0))),
        "residual_min_eig": float(max(0.0, -np.linalg.eigvalsh(0.5 * (Z + Z.T)).min())) / zscale,
        "duality_gap": abs(bound - wc.value) / max(1.0, abs(wc.value)),
    }
    return Check(all(v <= tol for v in res.values()), tol, res | {"dual_bound": bound})

"""SDP time of the exact worst case (verify.worstcase) against the horizon T, Clarabel vs SCS.

Cases: delayed SGD with Theorem D's step 1/(9 beta) on the constant delay tau = 3, and Picky SGD (Theorem D's
eta and rho at eps = 0.5) on the same delays with the all-accept pattern (every distance constraint present).
beta = F = 1, initial condition 'every'. For each (case, T, solver): solver status, worst-case value, wall time
of the solve (PEPit's compilation to cvxpy and the solver; building the PEP is listed apart), the process
CPU time of build + solve (the fair number on a shared machine: cvxpy and Clarabel run on one thread), the relative
difference from the first (backend, solver)'s value (PEPit + Clarabel by default), and the largest residual of the numpy certificates (instance and dual).

Run: python benchmarks/bench_worst_case.py [--T 10 20 40 80] [--solvers clarabel scs] [--backends pepit direct]
"""
from __future__ import annotations

import argparse
import time

from verify import algorithms
from verify.models import delays
from verify.worstcase import WorstCaseError, build_program, solve_program
from verify.worstcase.certificate import check_dual, check_instance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, nargs="+", default=[10, 20, 40, 80])
    ap.add_argument("--solvers", nargs="+", default=["clarabel", "scs"])
    ap.add_argument("--backends", nargs="+", default=["pepit", "direct"])
    ap.add_argument("--cases", nargs="+", default=["delayed-sgd", "picky"])
    args = ap.parse_args()
    print(f"{'case':12s} {'T':>4s} {'backend':7s} {'solver':9s} {'status':19s} {'value':>12s} {'solve s':>9s} {'build s':>8s} "
          f"{'cpu s':>8s} {'rel diff':>9s} {'cert inst':>9s} {'cert dual':>9s}", flush=True)
    for case in args.cases:
        for T in args.T:
            d = delays.make("constant:tau=3", T)
            if case == "picky":
                alg = algorithms.resolve("picky", beta=1.0, F=1.0, eps=0.5, sigma=0.0)
                prog = build_program(alg, d, pattern="a" * T, F=1.0)
            else:
                alg = algorithms.resolve("delayed-sgd", beta=1.0, F=1.0, eps=0.5, sigma=0.0, eta=1 / 9)
                prog = build_program(alg, d, F=1.0)
            ref = None
            for backend, solver in [(b, s) for b in args.backends for s in args.solvers]:
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    wc = solve_program(prog, solver, backend)
                    cpu = time.process_time() - c0
                except WorstCaseError as exc:
                    print(f"{case:12s} {T:4d} {backend:7s} {solver:9s} {exc.status:19s} {'-':>12s} {time.perf_counter() - t0:9.2f}")
                    continue
                ci, cd = check_instance(wc), check_dual(wc)
                ref = wc.value if ref is None else ref
                cres = max(ci.residuals.values())
                dres = max(v for k, v in cd.residuals.items() if k != "dual_bound")
                print(f"{case:12s} {T:4d} {backend:7s} {solver:9s} {wc.status:19s} {wc.value:12.8f} {wc.solve_time:9.2f} {wc.build_time:8.3f} {cpu:8.2f} "
                      f"{abs(wc.value - ref) / ref:9.1e} {cres:9.1e} {dres:9.1e}", flush=True)


if __name__ == "__main__":
    main()

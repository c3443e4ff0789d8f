"""``picky worst-case``: the exact worst case of one algorithm on one fixed delay sequence over
beta-smooth functions (sigma = 0), by an SDP (:mod:`verify.worstcase`; needs the ``worstcase`` extra).

Prints the worst-case value of min_{t<=T} ||grad f(x_t)||^2 (with the SDP's dual bound and the numpy
certificates), the worst-case steps to eps with ``--eps``, and the theory's bounds beside it with the
ratio (:func:`verify.worstcase.compare.bounds_beside`).

JSON output (``--json``, schema ``picky-worst-case-cli/1``): ``parameters``, ``worst_case`` (the
:meth:`WorstCase.as_dict` record without the instance and the multipliers), ``certificates``
(``instance`` and ``dual``: ok, tol, residuals), ``steps_to_eps`` (``steps``, ``values``, ``search``)
or null, ``bounds`` (rows). ``--save DIR`` writes ``worst_case.json`` (the full record: instance,
multipliers), ``summary.json`` (the --json object) and ``MANIFEST.json``, atomically.

Picky SGD needs ``--pattern``: a string of 'a' (accepted) and 'r' (rejected), one per step, or
``all`` for every step accepted. An infeasible pattern, an unbounded or unsolved problem end with a
one-line error naming the solver status (exit 2).
"""
from __future__ import annotations

import argparse
from typing import Any

from verify.catalog import catalog
from .common import dump, fmt, nonneg_float, positive_float, print_table, seed_int, steps_int

SCHEMA = "picky-worst-case-cli/1"


def add_parser(sub: Any) -> None:
    s = sub.add_parser(
        "worst-case",
        help="exact worst case over beta-smooth functions on a fixed delay sequence (SDP, sigma = 0)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "The exact worst case of min_{t<=T} ||grad f(x_t)||^2 over beta-smooth functions for one algorithm\n"
            "on one fixed delay sequence, sigma = 0, as a semidefinite program (PEPit + cvxpy; install the\n"
            "extra: pip install 'picky-sgd[worstcase]'). Initial condition (default 'every'): for every point\n"
            "x_k of the run, f(x_1) - f(x_k) + ||grad f(x_k)||^2/(2 beta) <= F -- implied by F >= f(x_1) - inf f,\n"
            "so the value is an upper bound on the worst case under the theorems' assumption. 'final' is\n"
            "PEPit's f(x_1) - f(x_{T+1}) <= F (weaker: a larger value). Certificates are checked with numpy."
        ),
        epilog=(
            "examples:\n"
            "  picky worst-case --algorithm delayed-sgd --delays constant:tau=3 --steps 20 --beta 1 --F 1\n"
            "  picky worst-case --algorithm picky --delays constant:tau=2 --steps 10 --beta 1 --F 1 --eps 0.5 --pattern all\n"
            "  picky worst-case --algorithm sgd --steps 5 --beta 1 --F 1 --eta 1 --initial final --count-last   # 4/15"
        ),
    )
    s.add_argument("--algorithm", required=True, choices=list(catalog()["algorithms"]), help="the algorithm")
    s.add_argument("--delays", default="none", metavar="MODEL[:k=v,...]", help="delay model spec as in `picky simulate` (default none)")
    s.add_argument("--delay-seed", type=seed_int, default=0, metavar="S", help="seed of a random delay model (default 0)")
    s.add_argument("--steps", type=steps_int, required=True, metavar="T", help="horizon T (number of steps)")
    s.add_argument("--beta", type=positive_float, required=True, help="smoothness constant beta > 0")
    s.add_argument("--F", type=positive_float, required=True, help="initial gap F > 0 (see the initial condition)")
    s.add_argument("--eps", type=positive_float, default=None, help="target accuracy: worst-case steps to eps, the theorems' bounds")
    s.add_argument("--eta", type=positive_float, default=None, help="step size (default: the theory's, via verify.algorithms.resolve)")
    s.add_argument("--rho", type=positive_float, default=None, help="picky: threshold (default eps/(2 beta))")
    s.add_argument("--R", type=int, default=None, metavar="N", help="stale-drop: accept iff d_t < R")
    s.add_argument("--tau-C", type=nonneg_float, default=None, metavar="X", help="delay-adaptive: delays <= tau_C keep eta")
    s.add_argument("--rule", choices=catalog()["rules"], default=None, help="delay-adaptive: step rule for d_t > tau_C")
    s.add_argument("--pattern", default=None, metavar="P", help="picky (required): 'a'/'r' per step, or 'all' (every step accepted)")
    s.add_argument("--initial", choices=("every", "final"), default="every", help="initial condition (see above; default every)")
    s.add_argument("--count-last", action="store_true", help="also measure ||grad f(x_{T+1})|| (PEPit's convention)")
    s.add_argument("--solver", choices=("clarabel", "scs"), default="clarabel", help="SDP solver through cvxpy (default clarabel)")
    s.add_argument("--backend", choices=("pepit", "direct"), default="pepit",
                   help="pepit: the SDP written by PEPit (default, the reference); direct: the same SDP from stacked "
                        "matrices, several times faster from T ~ 20 (verify.worstcase.direct)")
    s.add_argument("--json", action="store_true", help=f"machine-readable output (schema {SCHEMA})")
    s.add_argument("--save", default=None, metavar="DIR", help="write the instance and multipliers to DIR, atomically")
    s.add_argument("--force", action="store_true", help="with --save: replace an existing DIR")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import theory

    from verify import algorithms
    from verify.models import delays as delay_models

    from ..worstcase import require_pepit

    require_pepit()  # a one-line error naming the extra, before any work
    from verify.io.output import OutputDir
    from ..worstcase import build_program, solve_program, steps_to_eps
    from ..worstcase.certificate import check_dual, check_instance
    from ..worstcase.compare import bounds_beside

    T = args.steps
    seq = delay_models.make(args.delays, T, seed=args.delay_seed)
    if args.algorithm == "picky" and args.eps is None and (args.rho is None):
        raise ValueError("--eps or --rho is required for picky (rho = eps/(2 beta) by default)")
    eps_for_rule = args.eps if args.eps is not None else 1.0  # sigma = 0: the other defaults do not depend on eps
    given = {"eta": args.eta, "rho": args.rho, "R": args.R, "tau_C": args.tau_C, "rule": args.rule}
    given = {k: v for k, v in given.items() if v is not None}
    bad = [k for k in given if k not in algorithms.OVERRIDES[args.algorithm]]
    if bad:
        flags = {"eta": "--eta", "rho": "--rho", "R": "--R", "tau_C": "--tau-C", "rule": "--rule"}
        raise ValueError(f"{', '.join(flags[b] for b in bad)} do(es) not apply to --algorithm {args.algorithm}")
    alg = algorithms.resolve(args.algorithm, beta=args.beta, F=args.F, eps=eps_for_rule, sigma=0.0, delays=seq, **given)
    pattern = args.pattern
    if pattern == "all":
        pattern = "a" * T
    prog = build_program(alg, seq, T=T, pattern=pattern, initial=args.initial, count_last=args.count_last, F=args.F)
    save = OutputDir(args.save, force=args.force, flag="--save", kind="worst-case") if args.save else None
    try:
        wc = solve_program(prog, args.solver, args.backend)
        tol = 1e-6 if args.solver == "clarabel" else 1e-3
        ci, cd = check_instance(wc, tol), check_dual(wc, tol)
        ste = steps_to_eps(prog, args.eps, args.solver, args.backend) if args.eps is not None else None
        rows = bounds_beside(wc, args.eps, ste["steps"] if ste else None)
        record = wc.as_dict()
        brief = {k: v for k, v in record.items() if k not in ("instance", "duals")}
        brief["argmin"] = wc.instance["argmin"]
        summary = {
            "schema": SCHEMA, "version": theory.__version__,
            "parameters": {"algorithm": args.algorithm, "delays": args.delays, "delay_seed": args.delay_seed, "steps": T,
                           "beta": args.beta, "F": args.F, "eps": args.eps, "pattern": args.pattern,
                           "initial": args.initial, "count_last": args.count_last, "solver": args.solver,
                           "backend": args.backend},
            "worst_case": brief,
            "certificates": {"instance": ci.as_dict(), "dual": cd.as_dict()},
            "steps_to_eps": None if ste is None else {"steps": ste["steps"], "search": ste["search"],
                                                       "values": {str(k): v for k, v in sorted(ste["values"].items())}},
            "bounds": rows,
        }
        if save is not None:
            save.write_json("worst_case.json", record)
            save.write_json("summary.json", summary)
            save.commit({"command": getattr(args, "argv", None)})
    finally:
        if save is not None and not save.committed:
            save.abort()
    if args.json:
        dump(summary)
        return 0
    st = seq.stats()
    print(f"picky worst-case  ({args.algorithm}; delays {args.delays}: tau_avg = {fmt(st.tau_avg)}, tau_max = {st.tau_max}; "
          f"T = {T}, beta = {fmt(args.beta)}, F = {fmt(args.F)}, sigma = 0)")
    par = {k: v for k, v in alg.as_dict().items() if k in algorithms.OVERRIDES[args.algorithm]}
    print(f"  parameters: {', '.join(f'{k} = {fmt(v)}' for k, v in par.items())}; initial condition '{args.initial}'"
          + ("; x_{T+1} measured" if args.count_last else ""))
    print(f"  {args.backend} + {args.solver}: status {wc.status}, {wc.solve_time:.3g} s (build {wc.build_time:.3g} s)")
    print(f"worst case of min_t ||grad f(x_t)||^2 = {wc.value:.10g}   (dual bound {wc.dual_value:.10g}; "
          f"minimum at t = {wc.instance['argmin']})")
    worst_i = max(ci.residuals.values())
    print(f"  certificates (numpy, tol {tol:g}): instance {'ok' if ci.ok else 'FAILED'} (max residual {worst_i:.2g}), "
          f"dual {'ok' if cd.ok else 'FAILED'} (PSD residual {cd.residuals['residual_min_eig']:.2g}, gap {cd.residuals['duality_gap']:.2g})")
    if ste is not None:
        s = ste["steps"]
        print(f"worst-case steps to eps = {fmt(args.eps)}: {s if s is not None else f'> {T} (not within T)'}  "
              f"({ste['search']}, {len(ste['values'])} solves)")
    if rows:
        print()
        head = ("bound", "applies", "steps bound", "steps ratio", "eps^2 at T", "worst/eps^2", "note")
        table = [(r["label"], "yes" if r["applies"] else "no", fmt(r.get("steps_bound")), fmt(r.get("steps_ratio")),
                  fmt(r.get("eps2_at_T")), fmt(r.get("ratio_at_T")), r.get("note", "")) for r in rows]
        print_table(head, table)
    return 0 if (ci.ok and cd.ok) else 1

"""``picky bounds``: the iteration bounds of every applicable result for one parameter set.

JSON output of ``picky bounds --json`` (schema ``picky-bounds/1``; keys are stable):

- ``schema``, ``version``: format and package version;
- ``parameters``: the inputs (beta, F, sigma, eps, tau_avg, tau_max, workers, q, tau_q, delta,
  convention, constants);
- ``results``: one object per result with keys ``id, title, status, kind, convention,
  source_convention, applicable, missing, iterations, restarts, iterations_with_restarts,
  step_size, threshold, success_probability, constant, delay_parameters, notes, out_of_range`` and, with
  ``--latex``, ``latex``. ``iterations`` is the real-valued bound on the number of steps and
  ``steps`` the integer horizon it asks for (ceil, at least 1; :func:`theory.horizon`); both
  ``null`` when the result is not applicable (see ``missing``). A bound that overflows is
  ``null`` with its JSON Pointer listed under the top-level ``nonfinite`` (``"inf"``; the package's
  JSON policy, :mod:`verify.io.jsonsafe`). ``out_of_range`` maps each quantity whose exact value lies
  beyond float64's range (``iterations`` overflowing to inf; ``step_size``, ``threshold`` underflowing
  to 0) to that exact value as a string, and ``notes`` says so. The table shows ``steps``, and the
  exact value marked ``*`` in place of inf or 0.
"""
from __future__ import annotations

import argparse
import math
from typing import Any

import theory

from .common import dump, flagged, fmt, positive_int, print_table


def _steps(x: float | None) -> str:
    """An integer horizon as the table shows it: exact below 1e12, else 6 significant digits."""
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf"
    return str(int(x)) if x < 1e12 else f"{x:.6g}"

SCHEMA = "picky-bounds/2"
#: the command-line flag that supplies each parameter
_FLAG = {"tau_C": "--workers", "q": "--quantile", "tau_q": "--tau-q", "tau_avg": "--tau-avg", "tau_max": "--tau-max"}


def _constant(text: str) -> tuple[str, float]:
    """RESULT_ID=VALUE; the id and the value are checked by theory.compare (the API's check)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"must look like RESULT_ID=VALUE (e.g. picky=2); got {text!r}")
    key, val = text.split("=", 1)
    try:
        return key.strip(), float(val)
    except ValueError:
        raise argparse.ArgumentTypeError(f"value of {key} must be a number; got {val!r}") from None


def _worker_times(text: str) -> list[float]:
    """--worker-times: comma-separated seconds per gradient, each a finite real > 0."""
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            raise argparse.ArgumentTypeError(
                f"must be a comma-separated list of finite times > 0 (seconds per gradient, e.g. 1,1,2,10); got {text!r}")
        out.append(v)
    return out


#: the time statements the seconds table shows, in this order
TIME_ROWS = ("time-homog", "time-rennala", "time-ringmaster", "time-asgd", "time-minibatch", "time-picky")


def time_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per time statement for the fleet ``args.worker_times`` (seconds, the optimal m, and
    Picky SGD's derived time over T_homog)."""
    p = dict(beta=args.beta, F=args.F, sigma=args.sigma, eps=args.eps)
    w = args.worker_times
    homog = theory.time("time-homog", worker_times=w, convention=args.convention, **p)
    rows = []
    for rid in TIME_ROWS:
        st = theory.get_time(rid)
        secs = theory.time(rid, worker_times=w, convention=args.convention, **p)
        m = theory.optimal_workers(rid, worker_times=w, convention=args.convention, **p)
        rows.append({"id": rid, "title": st.title, "status": st.status.value, "kind": st.kind.value, "seconds": secs,
                     "workers_used": m, "ratio_to_homog": secs / homog,
                     "constant": None if st.constant is None else {"symbol": str(st.constant.symbol),
                                                                   "value": st.constant.default,
                                                                   "status": st.constant.status.value}})
    return rows


def add_parser(sub: Any) -> None:
    b = sub.add_parser(
        "bounds",
        help="iteration bounds of every applicable result for one parameter set",
        description=(
            "Print, for one parameter set, the steps each result asks for (norm convention ||grad f|| <= eps "
            "unless --convention squared), with its provenance label, step size and threshold. "
            "Rate-only results carry an unknown absolute constant C (default 1, a placeholder: set it with --constant)."
        ),
    )
    b.add_argument("--beta", type=float, required=True, help="smoothness constant beta > 0")
    b.add_argument("--F", type=float, required=True, help="initial gap F = f(x_1) - inf f > 0")
    b.add_argument("--sigma", type=float, required=True, help="noise standard deviation sigma >= 0")
    b.add_argument("--eps", type=float, required=True, help="target accuracy eps > 0")
    b.add_argument("--tau-avg", type=float, default=None, help="average delay (1/T) sum d_t >= 0")
    b.add_argument("--tau-max", type=float, default=None, help="maximal delay max d_t >= tau_avg")
    b.add_argument("--workers", type=positive_int, default=None, help="number of workers n (concurrency tau_C = n)")
    b.add_argument("--quantile", type=float, default=None, dest="q", help="quantile level q in (0, 1] (with --tau-q)")
    b.add_argument("--tau-q", type=float, default=None, help="q-quantile of the delays (with --quantile)")
    b.add_argument("--worker-times", type=_worker_times, default=None, metavar="T1,T2,...",
                   help="seconds per gradient of each worker (fixed computation model): adds the seconds table")
    b.add_argument("--delta", type=float, default=None, help="failure probability in (0,1): adds ceil(log2(1/delta)) restarts")
    b.add_argument("--convention", choices=theory.CONVENTIONS, default="norm", help="norm: ||grad f|| <= eps; squared: ||grad f||^2 <= eps")
    b.add_argument("--constant", type=_constant, action="append", default=[], metavar="ID=C", help="set a result's unknown constant C (repeatable)")
    b.add_argument("--json", action="store_true", help="machine-readable output (schema picky-bounds/1)")
    b.add_argument("--latex", action="store_true", help="include the LaTeX of every bound")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    constants = dict(args.constant)
    flagged("--constant", theory.check_constants, constants)
    rows = theory.compare(
        beta=args.beta,
        F=args.F,
        eps=args.eps,
        sigma=args.sigma,
        tau_avg=args.tau_avg,
        tau_max=args.tau_max,
        workers=args.workers,
        q=args.q,
        tau_q=args.tau_q,
        delta=args.delta,
        convention=args.convention,
        constants=constants,
    )
    if args.latex:
        for r in rows:
            r["latex"] = theory.latex(r["id"])
    params = {
        "beta": args.beta,
        "F": args.F,
        "sigma": args.sigma,
        "eps": args.eps,
        "tau_avg": args.tau_avg,
        "tau_max": args.tau_max,
        "workers": args.workers,
        "q": args.q,
        "tau_q": args.tau_q,
        "delta": args.delta,
        "convention": args.convention,
        "constants": constants,
    }
    trows = time_rows(args) if args.worker_times is not None else None
    if args.json:
        doc = {"schema": SCHEMA, "version": theory.__version__, "parameters": params, "results": rows}
        if trows is not None:
            doc["parameters"]["worker_times"] = args.worker_times
            doc["time"] = trows
        dump(doc)
        return 0

    conv = "||grad f|| <= eps" if args.convention == "norm" else "||grad f||^2 <= eps"
    given = ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, {}) and k != "convention")
    print(f"picky bounds  ({conv};  {given})")
    head = ("result", "status", "kind", "steps T", "x restarts", "step size", "threshold", "note")
    table = []
    for r in rows:
        note = []
        if not r["applicable"]:
            note.append("needs " + ", ".join(_FLAG.get(m, "--" + m.replace("_", "-")) for m in r["missing"]))
        if r["constant"] is not None:
            c = r["constant"]
            note.append(f"C={fmt(c['value'])} ({c['status']})")
        for k, v in r["delay_parameters"].items():
            note.append(f"{k} := {v}")
        big = r.get("out_of_range", {})
        steps, eta, rho = _steps(r["steps"]), fmt(r["step_size"]), fmt(r["threshold"])
        if big:  # the exact value, marked, instead of inf or 0 (the footnote says so)
            steps = f"{big['iterations']}*" if "iterations" in big else steps
            eta = f"{big['step_size']}*" if "step_size" in big else eta
            rho = f"{big['threshold']}*" if "threshold" in big else rho
        rest = "-" if r["restarts"] is None else f"{_steps(r['restarts'] * r['steps'])} ({r['restarts']})"
        if r["restarts"] is not None and "iterations" in big:
            rest = f"{r['restarts']} x {steps}"
        table.append((r["id"], r["status"], r["kind"], steps, rest, eta, rho, "; ".join(note)))
    print_table(head, table)
    print()
    if any(r.get("out_of_range") for r in rows):
        print("* beyond float64's range (above 1.8e308 or below 2.2e-308): the exact value of the SymPy statement; "
              "the calculators return inf or 0 with a theory.RangeWarning; --json: the float and out_of_range.")
    print("status: paper-rate-only = the source's rate, constant C unknown (placeholder); derived = proved here, not the paper's constants.")
    print("kind: upper = T steps suffice; lower = T steps are necessary for some instance.")
    if trows is not None:
        print()
        print(f"seconds to eps, fixed computation model, worker times {','.join(fmt(t) for t in args.worker_times)} "
              "(sorted; m = workers used, the fastest m)")
        ttable = []
        for r in trows:
            c = r["constant"]
            note = f"C={fmt(c['value'])} ({c['status']})" if c else "explicit constants"
            ttable.append((r["id"], r["status"], r["kind"], fmt(r["seconds"]), str(r["workers_used"]),
                           fmt(r["ratio_to_homog"], 4), note))
        print_table(("result", "status", "kind", "seconds", "m*", "/ T_homog", "note"), ttable)
        print("secondary = SAME-AUTHOR RESTATEMENT of the source (its theorem not read), Theta/O constant C unknown "
              "(placeholder 1); time-picky is derived here from Theorem D' (tau_avg <= m - 1 with m busy workers).")
    if args.latex:
        print()
        for r in rows:
            print(f"{r['id']}: T = {r['latex']}")
    return 0



"""Claim 19 -- seconds to eps under random and universal computation models, and the outage sanity check.

(a) Measured (no bound is claimed): every method of :data:`verify.claims.picky_seconds.METHODS` (Picky
    SGD, delayed SGD, delay-adaptive SGD, stale-drop with Ringmaster's R, Ringmaster ASGD with stops, Rennala SGD, minibatch SGD) on
    the quad instance (eps 1/2, sigma 1), tau_i = sqrt(i), under ``random`` models with heavy-tailed
    extra time eta (MindFlayer's setting: Pareto with Lomax shape alpha = 1.5, infinite variance; and
    log-Cauchy, exp(Cauchy), no mean) and ``universal`` models (an outage of the fastest worker; periodic
    slowdowns of every worker). Seed s draws both the compute times (random models: a different
    schedule per seed) and the noise; the evidence gives per model and method the seeds that reached
    eps and the median, 10% and 90% quantiles of the seconds to eps.
(b) Deterministic, can fail: no arrival falls inside an outage. On the universal outage models, for
    every policy that records each arrival's worker (``async``, ``ringmaster`` with its ignored arrivals,
    ``ringmaster-stops``, ``rennala``), no arrival of the outage worker lies in the open interval
    (outage_start, outage_end) where its power is zero; and on the asynchronous schedule every
    computation of every worker does exactly one unit of work: (finish - start - the length of
    [start, finish] within the outage)/tau_i = 1 (start = the worker's previous arrival, 0 for its
    first), to relative 1e-9. The schedule runs past the outage's end (checked: some arrival of the
    outage worker after it).

(c) Deterministic, can fail: the real runs shipped in ``verify/data/time_traces/*.async.json.gz`` (a
    Ringmaster ASGD run with stops and a Rennala SGD run on a 4-worker straggler fleet, recorded by
    ``python tools/record_async_traces.py --time``): the event simulation on each run's recorded compute
    times (the ``trace`` computation model) reproduces its schedule bit for bit -- arrival times, workers,
    tasks, the iterates read and the cancelled computations (:func:`real_trace_checks`).

Verdict: ``fail`` if (b) or (c) finds a violation (or a schedule never reaches past the outage),
``inconclusive`` if no real trace is shipped, ``pass`` otherwise; (a) is reported, not judged (there is
no bound for these models here).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from verify.engine import events
from verify.models import compute
from .common import INSTANCES, Claim, Context, noop_test
from .evidence import FAIL, INCONCLUSIVE, PASS, Evidence, Row, combine
from .picky_seconds import INSTANCE, METHODS, SIGMA, horizon, run_method

__all__ = ["CLAIM", "MODELS", "model_spec", "NS", "SEEDS", "arrivals_in_outage", "work_error", "outage_verdict", "OUTAGE_POLICIES",
           "real_trace_checks", "TIME_TRACES"]

NS = {"test": (16,), "quick": (16, 64), "full": (16, 64, 256, 1024)}
SEEDS = {"test": 6, "quick": 16, "full": 48}
#: model label -> spec suffix (the fleet's n and law are prepended)
MODELS = {
    "pareto": "random:eta=pareto,alpha=1.5,mean=1",
    "logcauchy": "random:eta=logcauchy,mu=0,s=1",
    "outage": "universal:outage_worker=0,outage_start=2,outage_end=20",
    "periodic": "universal:period=4,duty=0.5,factor=10",
}
#: the outage models of the sanity check: (worker, start, end) in seconds
OUTAGES = ((0, 2.0, 20.0), (3, 0.0, 15.0), (1, 1.5, 2.5))
OUTAGE_POLICIES = ("async", "ringmaster", "ringmaster-stops", "rennala")
OUTAGE_STEPS = {"test": 600, "quick": 2000, "full": 8000}
REL_TOL = 1e-9


def model_spec(model: str, n: int) -> str:
    """The spec of model ``model`` of :data:`MODELS` for the fleet tau_i = sqrt(i), i = 1..n."""
    name, rest = MODELS[model].split(":", 1)
    return f"{name}:n={n},law=sqrt,{rest}"


def arrivals_in_outage(time: np.ndarray, worker: np.ndarray, w: int, a: float, b: float) -> int:
    """The number of arrivals of worker w strictly inside (a, b), where its power is zero."""
    t = np.asarray(time, dtype=float)[np.asarray(worker) == w]
    return int(np.count_nonzero((t > a) & (t < b)))


def work_error(time: np.ndarray, worker: np.ndarray, tau: np.ndarray, w: int, a: float, b: float) -> float:
    """max over computations of abs(work - 1) on an asynchronous schedule (each worker restarts at its
    arrival): work = (finish - start, less the length of [start, finish] within [a, b] for worker w)/tau_i."""
    time = np.asarray(time, dtype=float)
    worker = np.asarray(worker)
    worst = 0.0
    for i in np.unique(worker):
        f = time[worker == i]
        s = np.concatenate([[0.0], f[:-1]])
        busy = f - s
        if i == w:
            busy = busy - np.clip(np.minimum(f, b) - np.maximum(s, a), 0.0, None)
        worst = max(worst, float(np.max(np.abs(busy / tau[i] - 1.0))))
    return worst


def outage_verdict(inside: int, after: bool, work: float | None = None) -> str:
    """``pass`` iff no arrival fell inside the outage, the schedule reached past it (else the check
    saw nothing), and (asynchronous schedule) every computation did one unit of work to REL_TOL."""
    ok = inside == 0 and after and (work is None or work <= REL_TOL)
    return PASS if ok else FAIL


def _outage_checks(profile: str) -> list[dict[str, Any]]:
    out = []
    T = OUTAGE_STEPS.get(profile, OUTAGE_STEPS["quick"])
    for n in (4, 16):
        for w, a, b in OUTAGES:
            spec = f"universal:n={n},law=sqrt,outage_worker={w},outage_start={a:g},outage_end={b:g}"
            cm = compute.make(spec)
            tau = cm.base_times()
            for policy in OUTAGE_POLICIES:
                kw: dict[str, Any] = {}
                if policy.startswith("ringmaster"):
                    kw["R"] = 4
                if policy == "rennala":
                    kw["B"] = 5
                s = events.simulate(cm, T // 5 if policy == "rennala" else T, policy=policy, **kw)
                times, workers = s.time, s.worker
                if policy == "ringmaster":  # its ignored arrivals are arrivals too
                    times = np.concatenate([times, s.dropped_time])
                    workers = np.concatenate([workers, s.dropped_worker])
                inside = arrivals_in_outage(times, workers, w, a, b)
                after = bool(np.any(times[workers == w] >= b))
                e = {"spec": spec, "policy": policy, "arrivals": int(times.size), "arrivals_inside_outage": inside,
                     "outage_worker_arrives_after_outage": after}
                if policy == "async":
                    e["largest_work_error"] = work_error(s.time, s.worker, tau, w, a, b)
                e["verdict"] = outage_verdict(inside, after, e.get("largest_work_error"))
                out.append(e)
    return out


#: the shipped real time traces (tools/record_async_traces.py --time): picky async-run's async.json, gzipped
TIME_TRACES = Path(__file__).resolve().parents[1] / "data" / "time_traces"


def real_trace_checks() -> list[dict[str, Any]]:
    """Per shipped time trace (a real Ringmaster ASGD and a real Rennala SGD run): the event simulation on
    its recorded compute times (the ``trace`` computation model) reproduces its recorded schedule bit for
    bit (arrival times, workers, tasks, reads, the cancelled computations): exact, can fail."""
    from verify.runtime.async_server import recorded_run, recorded_schedule, simulated_schedule

    out = []
    for path in sorted(TIME_TRACES.glob("*.async.json.gz")):
        data = json.loads(gzip.decompress(path.read_bytes()))
        view = recorded_run(data)
        same = bool(simulated_schedule(view).equal(recorded_schedule(view)))
        out.append({"trace": path.name, "policy": data["policy"], "R": data["R"], "batch": data["batch"],
                    "server_steps": int(data["steps"]), "workers": data["workers"], "speeds": data["speeds"],
                    "computations": len(data["computations"]), "cancelled": int(data["cancelled"]),
                    "first_hit": data["first_hit"], "recorded": data.get("recorded"), "command": data.get("command"),
                    "schedule_reproduced": same, "verdict": PASS if same else FAIL})
    return out


def check(ctx: Context) -> Evidence:
    profile = ctx.budget.profile
    inst = INSTANCES[INSTANCE]
    prob = inst.problem()
    seeds = list(range(SEEDS.get(profile, SEEDS["quick"])))
    measured: list[dict[str, Any]] = []
    rows: list[Row] = []
    for n in NS.get(profile, NS["quick"]):
        for model in MODELS:
            cm = compute.make(model_spec(model, n))
            ctx.progress(f"time-models: {model} n={n}")
            for m in METHODS:
                res = run_method(m, prob, cm, inst.eps, SIGMA, horizon(n), seeds, random_schedule=cm.random)
                secs = np.array([s for s, _ in res if s is not None], dtype=float)
                measured.append({"model": model, "spec": model_spec(model, n), "n": n, "method": m.name,
                                 "reached": int(secs.size), "seeds": len(res),
                                 "seconds_median": float(np.median(secs)) if secs.size else None,
                                 "seconds_q10_q90": ([float(np.quantile(secs, 0.1)), float(np.quantile(secs, 0.9))]
                                                     if secs.size else None)})
                for s, (sec, _) in zip(seeds, res):
                    rows.append(Row(m.name, prob.spec, model_spec(model, n), s, "seconds_to_eps", sec))
    checks = _outage_checks(profile)
    real = real_trace_checks()
    return Evidence(
        claim=CLAIM.id, title=CLAIM.title, result=CLAIM.result, status=CLAIM.status,
        verdict=combine([e["verdict"] for e in checks + real] + ([] if real else [INCONCLUSIVE])),
        measured={"arrivals_inside_outages": sum(e["arrivals_inside_outage"] for e in checks),
                  "largest_work_error": max(e["largest_work_error"] for e in checks if "largest_work_error" in e),
                  "outage_checks": len(checks),
                  "real_traces_reproduced": f"{sum(e['schedule_reproduced'] for e in real)}/{len(real)}",
                  "seconds_median": {f"{e['model']} n={e['n']} {e['method']}": e["seconds_median"] for e in measured},
                  "reached": {f"{e['model']} n={e['n']} {e['method']}": f"{e['reached']}/{e['seeds']}" for e in measured}},
        bound={"arrivals_inside_outages": 0, "work_error": REL_TOL, "seconds_to_eps": "none claimed (measured)"},
        ratio=None, ci=None, test=noop_test(),
        what="seconds to eps per method under heavy-tailed random and universal computation models (measured); no "
             "arrival inside an outage and one unit of work per computation (exact); the shipped real Ringmaster and "
             "Rennala runs' schedules reproduced by the event simulation on their recorded compute times (exact)",
        instances=[{"part": "seconds to eps", **e} for e in measured] + [{"part": "outage sanity", **e} for e in checks]
        + [{"part": "real trace replay", **e} for e in real],
        rows=rows,
        parameters={"instance": inst.describe(), "sigma": SIGMA, "models": MODELS, "ns": list(NS.get(profile, NS["quick"])),
                    "seeds": len(seeds), "outages (worker, start, end)": [list(o) for o in OUTAGES],
                    "outage_policies": list(OUTAGE_POLICIES)},
        notes=["the seconds to eps are measured, not judged: no time bound is stated here for random or universal models",
               "random models: seed s draws the compute times and the noise; universal models: one schedule, seeds "
               "draw the noise"],
    )


CLAIM = Claim(
    id="time-models", number=19,
    title="Seconds to eps under heavy-tailed random and universal (outage) models; no arrival inside an outage",
    result=None,
    measures="seconds to eps (median, 10%/90% quantiles over seeds) per method and model; arrivals inside outages; "
             "work per computation",
    instances="quad (eps 1/2), sigma = 1, tau_i = sqrt(i): Pareto and log-Cauchy extra times, an outage, periodic "
              "slowdowns; n = 16, 64 (quick)",
    check=check,
)

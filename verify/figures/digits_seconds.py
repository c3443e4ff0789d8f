"""Figure 13 -- the digits experiment (figure 8's network and data) on a heterogeneous fleet, with SECONDS
on the x-axis: every method runs on the schedule ITS policy induces under the fleet (issue 24, "Real runs").

Our reconstruction, as figure 8 (:mod:`.digits`: the data split, the 64-32-10 tanh MLP, its gradient code,
the minibatch size 32, the tuning rule). What is new here:

* fleets: the fixed computation model (:mod:`verify.models.compute`), n = 16 workers, two of them, the two
  fleets of the time claims (:mod:`verify.claims.time_lemmas`): ``sqrt`` tau_i = sqrt(i) (the authors' law;
  a mild spread, tau_16/tau_1 = 4) and ``two-speed`` (8 workers at 1 s, 8 at 10 s: stragglers that a
  synchronous round waits for and that the asynchronous policy turns into delays of ~90 steps, so
  tau_max >> tau_avg, where Picky SGD's accept rule is meant to matter). A fixed model has no randomness:
  the schedule is the same for every seed; the seeds vary the network's initialisation and the minibatches;
* time budget: each fleet gets W seconds, W = (arrivals) / sum_i 1/tau_i, i.e. the time in which the fleet
  completes about ``arrivals`` gradients (:data:`BUDGETS`); every method runs on its schedule until W;
* methods and their schedules (:func:`verify.engine.events.simulate`): Picky SGD, delayed SGD and
  delay-adaptive SGD (Mishchenko et al.'s rule, tau_C = n) on the asynchronous schedule (every arrival a
  step); Ringmaster ASGD on ``ringmaster-stops`` (a computation whose delay reaches R is cancelled and its
  worker restarted; the rule object :class:`verify.algorithms.rules.RingmasterStops`, stale-drop's rule with
  threshold R); Rennala SGD on its rounds (``rennala``, the first S arrivals at x_k averaged into one step,
  work in flight discarded: :meth:`verify.algorithms.batch.BatchSchedule.from_events`); minibatch SGD (one
  gradient from each of the n workers per round, the round ends with the slowest). The asynchronous server
  is :func:`.digits.train` (it asks each rule object ``decide(dist, d)``); the batch step is the literal loop
  :func:`train_batch` here (plain numpy, not the compiled kernel: x_{k+1} = x_k - gamma (1/B) sum_b
  grad(x_k; minibatch of task j_b), summed in arrival order);
* minibatches keyed by task: the computation started j-th (task j, in event order) uses row j of a per-seed
  index array (drawn after the initialisation), so every method draws from the same rows;
* tuning (as figure 8): each method's learning rate on :data:`LR_GRID` (figure 8's grid and 0.03), Picky's rho on :data:`RHO_GRID`,
  Ringmaster's R and Rennala's S on :data:`RS_GRID` (n/4, n/2, n: TUNED on this small grid, not theory's
  ceil(sigma^2/eps^2), since a network's sigma and eps are unknown), per fleet, by the mean validation loss
  over the last quarter of the evaluations (the last quarter of W) with the tuning seed; then every method
  with its tuned values on the evaluation seeds;
* x-axis: the iterate x_t is evaluated at the first t whose x_t exists at each of E + 1 equally spaced times
  e W / E, and plotted at the time it came into being: the arrival time of step t - 1 on the method's
  schedule (0 for x_1) -- the schedule's own arrival times, so the curves are step functions sampled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from verify import algorithms
from verify.algorithms import batch as batchalg
from verify.algorithms.rules import POLICY_ALGORITHMS
from verify.engine import events
from verify.models import compute as cmodels
from verify.optional import require
from . import digits as D, style
from .context import Context
from .table import Table, where

NAME = "digits-seconds"
TITLE = "The digits experiment on a heterogeneous fleet, against seconds: every method on its own schedule"
COMMAND = "picky figures --out figures --only {name} --profile {profile}"

TUNE_SEED = D.TUNE_SEED
N_WORKERS = 16
#: (label, fixed-model spec, what it is)
FLEETS: tuple[tuple[str, str, str], ...] = (
    ("sqrt", f"fixed:n={N_WORKERS},law=sqrt", "tau_i = sqrt(i), i = 1..16"),
    ("two-speed", "fixed:times=" + ";".join(["1"] * (N_WORKERS // 2) + ["10"] * (N_WORKERS - N_WORKERS // 2)),
     "8 workers at 1 s, 8 at 10 s"),
)
#: the methods, in plot order: name -> the event-simulation policy whose schedule it runs on
METHODS: dict[str, str] = {"picky": "async", "delayed-sgd": "async", "delay-adaptive": "async",
                           "ringmaster-stops": "ringmaster-stops", "rennala": "rennala", "minibatch": "minibatch"}
#: figure 8's grid and one value below it: on these fleets delayed and delay-adaptive SGD diverge at 0.3 and
#: were tuned to figure 8's smallest value, 0.1 (quick profile), so the grid is extended where they could still gain
LR_GRID = (0.03,) + tuple(D.LR_GRID)
RHO_GRID = D.RHO_GRID
#: Ringmaster's R and Rennala's S, tuned on n/4, n/2, n
RS_GRID = (N_WORKERS // 4, N_WORKERS // 2, N_WORKERS)
#: (gradients the fleet completes in W, evaluation seeds, evaluation times E) per profile
BUDGETS = {"test": (120, (0,), 4), "quick": (2400, (0, 1, 2), 20), "full": (8000, (0, 1, 2, 3, 4), 40)}


def style_key(method: str) -> str:
    return {"delay-adaptive": "delay-adaptive-mishchenko", "ringmaster-stops": "ringmaster"}.get(method, method)


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Plan:
    """One method's schedule up to the budget W: ``time[k-1]`` the arrival time of server step k (<= W, k =
    1..K), ``tasks`` the task of each step (K,) or the B tasks each batch step averages (K, B), ``delays``
    (K,) for a step method (None for a batch method), ``discarded`` the computations ignored or cancelled
    by time W, ``raw`` the event simulation's schedule it was cut from, ``workers`` (K,) the worker that
    delivered each step of a step method."""

    policy: str
    time: np.ndarray
    tasks: np.ndarray
    delays: np.ndarray | None
    discarded: int
    raw: Any
    workers: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return int(self.time.size)


def throughput(cm: cmodels.ComputeModel) -> float:
    """Gradients per second of the fleet, sum_i 1/tau_i."""
    return float(np.sum(1.0 / cm.base_times()))


def budget_seconds(cm: cmodels.ComputeModel, arrivals: int) -> float:
    """W = arrivals / sum_i 1/tau_i: the time in which the fleet completes about ``arrivals`` gradients."""
    return arrivals / throughput(cm)


def plan(cm: cmodels.ComputeModel, method: str, W: float, *, seed: int = 0, R: int | None = None,
         S: int | None = None) -> Plan:
    """The schedule of ``method``'s policy under ``cm`` (:func:`verify.engine.events.simulate`, draws from
    ``default_rng(seed)``), simulated long enough to pass W, cut at the last step with arrival time <= W."""
    policy = METHODS[method]
    T = int(math.ceil(W * throughput(cm))) + cm.n + 1
    if policy == "rennala":
        T = max(1, T // S + 2)
    elif policy == "minibatch":
        T = max(1, int(math.ceil(W / float(np.max(cm.base_times())))) + 2)
    while True:
        if policy == "async":
            raw = events.simulate(cm, T, seed=seed)
            time, tasks, d = raw.time, raw.task, raw.delays
        elif policy == "ringmaster-stops":
            raw = events.simulate(cm, T, seed=seed, policy=policy, R=R)
            time, tasks, d = raw.time, raw.task, raw.delays
        else:
            raw = (events.simulate(cm, T, seed=seed, policy="rennala", B=S) if policy == "rennala"
                   else events.simulate(cm, T, seed=seed, policy="minibatch"))
            bs = batchalg.BatchSchedule.from_events(raw, policy, S if policy == "rennala" else cm.n)
            time, tasks, d = bs.time, bs.tasks, None
        if time.size and time[-1] > W:
            break
        T *= 2
    K = int(np.searchsorted(time, W, side="right"))
    dropped = int(np.count_nonzero(raw.dropped_time <= W))
    return Plan(policy, time[:K].copy(), tasks[:K].copy(), None if d is None else d[:K].copy(), dropped, raw,
                None if d is None else raw.worker[:K].copy())


def eval_steps(time: np.ndarray, W: float, E: int) -> list[int]:
    """The steps t evaluated: for each of the times e W / E (e = 0..E) the newest iterate existing then,
    x_t with t = 1 + #{k: time[k-1] <= e W / E} (x_1 at time 0); sorted, without repeats."""
    return sorted({1 + int(np.searchsorted(time, e * W / E, side="right")) for e in range(E + 1)})


def wall_of(time: np.ndarray, t: int) -> float:
    """The time x_t comes into being: the arrival time of step t - 1 (0 for x_1)."""
    return 0.0 if t <= 1 else float(time[t - 2])


# ------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------
def make_step_algorithm(method: str, lr: float, *, rho: float | None = None, R: int | None = None,
                        n: int = N_WORKERS) -> algorithms.Algorithm:
    """The package's rule object of a step method; beta, F, eps, sigma nominal (1) as in figure 8, every
    parameter the rule uses (eta, rho, tau_C = n, R) given."""
    kw: dict[str, Any] = dict(beta=1.0, F=1.0, eps=1.0, sigma=1.0, eta=lr)
    if method == "ringmaster-stops":
        return POLICY_ALGORITHMS[method].resolve(**kw, R=R)
    if method == "picky":
        kw["rho"] = rho
    elif method == "delay-adaptive":
        kw.update(tau_C=float(n), rule="mishchenko")
    return algorithms.resolve(method, **kw)


class _Seq:
    """The two attributes :func:`.digits.train` reads of a delay sequence."""

    def __init__(self, d: np.ndarray):
        self.delays = d


def _rows(data: D.Data, seed: int, tasks: int) -> np.ndarray:
    """Per-task minibatch rows of seed ``seed``: drawn from default_rng(seed) after the network's
    initialisation (the draw :func:`.digits.train` and :func:`train_batch` make first)."""
    rng = np.random.default_rng(seed)
    D.MLP(data.Xtr.shape[1]).init(rng)
    return rng.integers(0, len(data.ytr), size=(tasks, D.BATCH))


def train_batch(gamma: float, p: Plan, data: D.Data, seed: int, rows: np.ndarray, eval_at: set[int], *,
                test: bool = True) -> dict[str, Any]:
    """A batch method's run on ``p`` (Rennala's rounds or minibatch SGD's), the literal loop::

        for k = 1..K:
            g = 0
            for each task j of round k (arrival order): g = g + grad(x_k; rows[j])
            x_{k+1} = x_k - gamma * g / B

    Evaluated as :func:`.digits.train` (at x_t for t in ``eval_at`` and at x_{K+1}); a non-finite
    iterate stops the run."""
    net = D.MLP(data.Xtr.shape[1])
    w = net.init(np.random.default_rng(seed))
    K, B = p.tasks.shape
    evals: list[dict[str, Any]] = []
    diverged_at = None

    def evaluate(t: int) -> None:
        evals.append(D.evaluation(net, w, data, t, test))

    for k in range(1, K + 1):
        if k in eval_at:
            evaluate(k)
            if not math.isfinite(evals[-1]["train_loss"]):
                diverged_at = k
                break
        g = np.zeros(net.size)
        for j in p.tasks[k - 1]:
            idx = rows[j]
            g = g + net.grad(w, data.Xtr[idx], data.ytr[idx])
        w = w - gamma * (g / B)
    if diverged_at is None:
        evaluate(K + 1)
    return {"evals": evals, "accepted": K, "diverged_at": diverged_at}


def run_method(method: str, p: Plan, data: D.Data, seed: int, rows: np.ndarray, eval_at: set[int], *, lr: float,
               rho: float | None = None, R: int | None = None, S: int | None = None, test: bool = True) -> dict[str, Any]:
    """One run of ``method`` on its plan: the asynchronous server of figure 8 for a step method (minibatch
    of step t = the rows of its task), :func:`train_batch` for Rennala and minibatch SGD. ``R``: Ringmaster's
    threshold (its rule object's; the plan's schedule was made with it); ``S``: Rennala's batch (the plan's
    schedule holds it; checked)."""
    if S is not None and (p.delays is not None or p.tasks.shape[1] != S):
        raise ValueError(f"S = {S} is Rennala's batch; the plan's steps average {p.tasks.shape[1:]} gradients")
    if p.delays is None:
        return train_batch(lr, p, data, seed, rows, eval_at, test=test)
    alg = make_step_algorithm(method, lr, rho=rho, R=R)
    return D.train(alg, _Seq(p.delays), data, seed, p.steps, 1, test=test, batches=rows[p.tasks], eval_at=eval_at)


def _grid(method: str) -> list[dict[str, Any]]:
    """The tuning grid of ``method``: lr, and rho (Picky), R (Ringmaster) or S (Rennala)."""
    extra: list[dict[str, Any]] = [{}]
    if method == "picky":
        extra = [{"rho": r} for r in RHO_GRID]
    elif method == "ringmaster-stops":
        extra = [{"R": r} for r in RS_GRID]
    elif method == "rennala":
        extra = [{"S": s} for s in RS_GRID]
    return [{"lr": lr, **e} for e in extra for lr in LR_GRID]


def _sched_key(method: str, v: dict[str, Any]) -> tuple:
    return (METHODS[method], v.get("R"), v.get("S"))


def compute(profile: str = "quick", seed: int = TUNE_SEED, *, ctx: Context | None = None) -> Table:
    """Per fleet: the schedules of every method (and grid value of R, S) up to W, the tuning on seed ``seed``,
    then every method with its tuned values on the profile's evaluation seeds. Rows: kind "fleet" (label, spec,
    n, W, throughput), "tune" (every grid point's score), "schedule" (per method at its tuned R / S: steps K by
    W, gradients applied, computations discarded, the applied delays' mean and maximum), "curve" (fleet,
    algorithm, seed, step, wall, train_loss, test_loss, test_acc) and "final" (per fleet and method: the last
    evaluation's test loss median and test accuracy mean over the seeds, the accepted fraction and, for a step
    method, the steps the slower half of the fleet delivered (``slow_steps``) and the fraction of the gradients
    rejected among those of the faster and of the slower half, ``rejected_fast`` / ``rejected_slow``, means over
    the seeds; None where the half delivered none; ``test_loss_min`` / ``test_loss_max`` over the seeds)."""
    # one BLAS thread: the network's matrix products are small (1000 x 64 x 32 at most), and OpenBLAS's
    # threads made them 10-30x slower on a busy 2-core machine (measured: 6 ms vs 0.09 ms per product);
    # the results then do not depend on the machine's core count either
    threadpool_limits = require("threadpoolctl", f"figure {NAME!r}").threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute(profile, seed, ctx or Context(profile=profile))


def _compute(profile: str, seed: int, ctx: Context) -> Table:
    arrivals, seeds, E = BUDGETS[profile]
    data = D.load()
    rows: list[dict[str, Any]] = []
    tuned: dict[str, dict[str, Any]] = {}
    finals: dict[str, dict[str, Any]] = {}
    Ws: dict[str, float] = {}
    for label, spec, _ in FLEETS:
        cm = cmodels.make(spec)
        W = budget_seconds(cm, arrivals)
        Ws[label] = W
        rows.append({"kind": "fleet", "fleet": label, "spec": spec, "n": cm.n, "W": W, "throughput": throughput(cm)})
        plans: dict[tuple, Plan] = {}
        for m in METHODS:
            for v in _grid(m):
                key = _sched_key(m, v)
                if key not in plans:
                    plans[key] = plan(cm, m, W, seed=0, R=v.get("R"), S=v.get("S"))
        ntasks = 1 + max(int(p.tasks.max()) for p in plans.values())
        tune_rows = _rows(data, seed, ntasks)
        tuned[label] = {}
        for m in METHODS:
            best: tuple[float, dict[str, Any]] | None = None
            for v in _grid(m):
                p = plans[_sched_key(m, v)]
                run = run_method(m, p, data, seed, tune_rows, set(eval_steps(p.time, W, E)), test=False, **v)
                sc = D._score(run)
                rows.append({"kind": "tune", "fleet": label, "algorithm": m, "lr": v["lr"], "rho": v.get("rho"),
                             "R": v.get("R"), "S": v.get("S"), "val_score": sc if math.isfinite(sc) else None,
                             "accepted_fraction": run["accepted"] / p.steps})
                if best is None or sc < best[0]:
                    best = (sc, v)
            assert best is not None
            tuned[label][m] = {**best[1], "val_score": best[0] if math.isfinite(best[0]) else None}
            ctx.progress(f"{NAME}: {label}: tuned {m}: " + ", ".join(f"{k} = {x:g}" for k, x in best[1].items()))
        finals[label] = {}
        for m in METHODS:
            v = {k: x for k, x in tuned[label][m].items() if k != "val_score"}
            p = plans[_sched_key(m, v)]
            d = p.delays
            rows.append({"kind": "schedule", "fleet": label, "algorithm": m, "policy": p.policy, "steps": p.steps,
                         "gradients": int(p.tasks.size), "discarded": p.discarded,
                         "last_arrival": float(p.time[-1]),
                         "tau_avg": float(d.mean()) if d is not None else 0.0,
                         "tau_max": int(d.max()) if d is not None else 0,
                         "R": v.get("R"), "S": v.get("S")})
            at = eval_steps(p.time, W, E)
            last_loss, last_acc, acc_frac, rej_fast, rej_slow = [], [], [], [], []
            fast = cm.base_times() <= np.median(cm.base_times())  # the faster half of the fleet
            for s in seeds:
                run = run_method(m, p, data, s, _rows(data, s, ntasks), set(at), **v)
                for e in run["evals"]:
                    rows.append({"kind": "curve", "fleet": label, "algorithm": m, "seed": s, "step": e["step"],
                                 "wall": wall_of(p.time, e["step"]), "train_loss": e["train_loss"],
                                 "test_loss": e["test_loss"], "test_acc": e["test_acc"]})
                last = run["evals"][-1]
                ok = run["diverged_at"] is None
                last_loss.append(last["test_loss"] if ok else math.inf)
                last_acc.append(last["test_acc"] if ok else 0.0)
                acc_frac.append(run["accepted"] / p.steps)
                if p.workers is not None and ok:
                    on_fast = fast[p.workers]
                    rej = ~run["accepted_mask"]
                    rej_fast.append(float(rej[on_fast].mean()) if on_fast.any() else math.nan)
                    rej_slow.append(float(rej[~on_fast].mean()) if (~on_fast).any() else math.nan)
            finals[label][m] = {"test_loss_median": float(np.median(last_loss)), "test_loss_min": float(np.min(last_loss)),
                                "test_loss_max": float(np.max(last_loss)), "test_acc_mean": float(np.mean(last_acc)),
                                "accepted_fraction_mean": float(np.mean(acc_frac)), "steps": p.steps,
                                "slow_steps": None if p.workers is None else int(np.count_nonzero(~fast[p.workers])),
                                "rejected_fast": _mean_or_none(rej_fast), "rejected_slow": _mean_or_none(rej_slow)}
            rows.append({"kind": "final", "fleet": label, "algorithm": m, **finals[label][m]})
            ctx.progress(f"{NAME}: {label}: {m} evaluated on seeds {list(seeds)}")
    meta = {
        "title": TITLE,
        "seed": seed,
        "seeds": {"tuning": seed, "evaluation": list(seeds), "split": D.SPLIT_SEED,
                  "note": "seed s: network init, then per-task minibatch rows, default_rng(s); the fixed fleets' "
                          "schedules have no randomness (simulated with seed 0)"},
        "command": COMMAND.format(name=NAME, profile=profile),
        "fleets": {label: {"spec": spec, "what": what, "W": Ws[label]} for label, spec, what in FLEETS},
        "methods": dict(METHODS),
        "grid": {"lr": list(LR_GRID), "rho": list(RHO_GRID), "R": list(RS_GRID), "S": list(RS_GRID)},
        "tuned": tuned, "finals": finals, "arrivals": arrivals, "evaluations": E, "batch": D.BATCH,
        "hidden": D.HIDDEN,
        "sentence": _sentence(finals),
        "caption": _caption(arrivals, seeds, seed, tuned, finals, Ws),
        "source": "computed here (verify/figures/digits_seconds.py): figure 8's numpy MLP and asynchronous server "
                  "(the package's rule objects), a literal batch loop for Rennala / minibatch SGD, schedules from "
                  "verify.engine.events.simulate on fixed computation models",
    }
    return Table(rows, meta)


def _mean_or_none(v: list[float]) -> float | None:
    """The mean of v, None when v is empty or NaN (a half of the fleet that delivered no step)."""
    x = float(np.mean(v)) if v else math.nan
    return x if math.isfinite(x) else None


def _name(m: str) -> str:
    return style.NAMES[style_key(m)]


def _sentence(finals: dict[str, Any]) -> str:
    parts = []
    for label, f in finals.items():
        order = sorted(f, key=lambda m: f[m]["test_loss_median"])
        parts.append(f"{label}: " + ", ".join(f"{_name(m)} {f[m]['test_loss_median']:.3g} ({100 * f[m]['test_acc_mean']:.1f}%)"
                                              for m in order))
    rej = "; ".join(f"{label}: {100 * f['picky']['rejected_fast']:.0f}% of the faster half's, "
                    f"{100 * f['picky']['rejected_slow']:.0f}% of the slower half's"
                    for label, f in finals.items()
                    if None not in (f.get("picky", {}).get("rejected_fast"), f.get("picky", {}).get("rejected_slow")))
    rm = "; ".join(f"{label}: {f['ringmaster-stops']['slow_steps']} of {f['ringmaster-stops']['steps']}"
                   for label, f in finals.items() if f.get("ringmaster-stops", {}).get("slow_steps") is not None)
    return ("Figure 8's network on scikit-learn's digits, trained for the same wall-clock time by every method on the "
            "schedule its own policy induces under a 16-worker fleet (tuned step sizes; Picky's rho, Ringmaster's R, "
            "Rennala's S tuned too); final test loss (median) and accuracy (mean over seeds), best first -- "
            + "; ".join(parts) + "." + (f" Picky SGD rejected {rej} gradients" if rej else "")
            + (f"; Ringmaster ASGD's steps from the slower half: {rm}" if rm else "") + ". " + _separation(finals))


def _separation(finals: dict[str, Any]) -> str:
    """Per fleet: whether the best method's worst seed beats every other method's best seed (final test loss)."""
    out = []
    for label, f in finals.items():
        best = min(f, key=lambda m: f[m]["test_loss_median"])
        rival = min((f[m]["test_loss_min"] for m in f if m != best), default=math.inf)
        out.append(f"{label}: {_name(best)}'s worst seed {'beats' if f[best]['test_loss_max'] < rival else 'does not beat'} "
                   f"every other method's best ({f[best]['test_loss_max']:.3g} vs {rival:.3g})")
    return "Final test loss over the seeds: " + "; ".join(out) + "."


def _fmt_params(v: dict[str, Any]) -> str:
    return ", ".join(f"{k} {x:g}" for k, x in v.items() if k != "val_score" and x is not None)


def _caption(arrivals: int, seeds: Sequence[int], tune_seed: int, tuned: dict[str, Any], finals: dict[str, Any],
             Ws: dict[str, float]) -> str:
    tv = "; ".join(f"{label}: " + ", ".join(f"{_name(m)} {_fmt_params(v)}" for m, v in t.items())
                   for label, t in tuned.items())
    steps = "; ".join(f"{label}: " + ", ".join(f"{_name(m)} {f[m]['steps']}" for m in f) for label, f in finals.items())
    fl = "; ".join(f"{label} ({what}; W = {Ws[label]:.4g} s)" for label, _, what in FLEETS)
    return (f"Our reconstruction (see figure 8). Fleets (fixed computation model, n = {N_WORKERS}): {fl}; W = "
            f"{arrivals} / sum_i 1/tau_i, the time in which the fleet completes {arrivals} gradients. Each method runs "
            f"on the schedule of its own policy until W: Picky, delayed and delay-adaptive SGD (Mishchenko's rule, "
            f"tau_C = n) on the asynchronous one (every arrival a step), Ringmaster ASGD with stops (computations of "
            f"delay R cancelled), Rennala SGD (rounds: the first S arrivals at x_k averaged, work in flight discarded), "
            f"minibatch SGD (one gradient per worker per round, waiting for the slowest); the batch step is a literal "
            f"numpy loop, not the compiled kernel. Minibatch of 32 rows per gradient, keyed by task. Grid: lr in "
            f"{list(LR_GRID)}, rho in {list(RHO_GRID)} (Picky), R and S in {list(RS_GRID)} (tuned, not theory's "
            f"sigma^2/eps^2), per fleet on the validation loss of the last quarter of W (seed {tune_seed}). Tuned: {tv}. "
            f"Server steps by W: {steps}. x: the time each evaluated iterate came into being (the arrival time of the "
            f"step that made it); lines: median over seeds {list(seeds)}, band: min-max.")


# ------------------------------------------------------------------------------------------------
# plot
# ------------------------------------------------------------------------------------------------
def _matrix(rs: list[dict[str, Any]], col: str) -> tuple[np.ndarray, np.ndarray]:
    seeds = sorted({r["seed"] for r in rs})
    steps = sorted({r["step"] for r in rs})
    si = {s: k for k, s in enumerate(seeds)}
    ti = {s: k for k, s in enumerate(steps)}
    y = np.full((len(seeds), len(steps)), np.nan)
    x = np.full(len(steps), np.nan)
    for r in rs:
        v = r.get(col)
        y[si[r["seed"]], ti[r["step"]]] = np.nan if v is None else (1.0 - v if col == "test_acc" else v)
        x[ti[r["step"]]] = r["wall"]
    return x, y


def plot(table: Table):
    import warnings

    meta = table.meta
    fleets = list(meta["fleets"])
    fig = style.new_figure(15.5, 3.3 * len(fleets) + 2.3)
    axes = fig.subplots(len(fleets), 3, squeeze=False)
    curves = table.select(kind="curve")
    for i, label in enumerate(fleets):
        W = meta["fleets"][label]["W"]
        for m in meta["methods"]:
            rs = where(curves, fleet=label, algorithm=m)
            if not rs:
                continue
            key = style_key(m)
            v = meta["tuned"][label][m]
            lab = style.label(key, v["lr"], **{k: v[k] for k in ("rho", "R", "S") if v.get(k) is not None})
            for j, col in enumerate(("test_loss", "test_acc")):
                x, y = _matrix(rs, col)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med, lo, hi = np.nanmedian(y, axis=0), np.nanmin(y, axis=0), np.nanmax(y, axis=0)
                axes[i, j].plot(x, med, color=style.color(key), label=lab if j == 0 else None)
                axes[i, j].fill_between(x, lo, hi, color=style.color(key), alpha=0.16, linewidth=0)
            srow = where(table.select(kind="schedule"), fleet=label, algorithm=m)
            s0 = [r for r in rs if r["seed"] == rs[0]["seed"]]
            steps = np.array([r["step"] for r in s0], float)
            x = np.array([r["wall"] for r in s0], float)
            axes[i, 2].plot(x, steps - 1, color=style.color(key), marker=".", markersize=3,
                            label=f"{style.name(key)}: {srow[0]['steps']} steps" if srow else None)
        spec = meta["fleets"][label]["what"]
        axes[i, 0].set_ylabel(f"{label} ({spec})\ntest loss (nats)", fontsize=8.5)
        axes[i, 1].set_ylabel("test error (1 - accuracy)")
        axes[i, 2].set_ylabel("server steps applied")
        axes[i, 0].set_yscale("log")
        axes[i, 1].set_yscale("log")
        axes[i, 1].set_ylim(0.01, 1.0)
        axes[i, 2].set_yscale("symlog", linthresh=10)
        for j in range(3):
            axes[i, j].set_xlim(0, W * 1.01)
            axes[i, j].axvline(W, color="#999999", lw=0.8, ls=":")
        axes[i, 0].legend(loc="upper right", fontsize=7)
        axes[i, 2].legend(loc="lower right", fontsize=7)
    for j in range(3):
        axes[-1, j].set_xlabel("simulated seconds (the time each iterate came into being)")
    axes[0, 0].set_title("test loss vs seconds")
    axes[0, 1].set_title("test error vs seconds")
    axes[0, 2].set_title("server steps by then (each method's own schedule)")
    fig.suptitle("Figure 13. " + TITLE + " (our reconstruction)", fontsize=11.5, x=0.01, ha="left")
    fig.subplots_adjust(left=0.075, right=0.99, top=0.93, bottom=0.25, hspace=0.3, wspace=0.25)
    style.caption(fig, meta["caption"], width=230)
    return fig

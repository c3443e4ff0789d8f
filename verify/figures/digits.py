"""Figure 8 -- the paper's experiment, reconstructed at a size this machine handles.

The paper reports (abstract, CONFIRMED) experiments showing Picky SGD's "efficacy and robustness ...
in cases where the delay distribution is skewed or heavy-tailed"; its setup (model, data, delay
distributions, hyperparameters) was not available (paper.md §7). This is **our reconstruction**:

* data: scikit-learn's bundled ``load_digits`` (1797 8x8 images, 10 classes; no download), pixels
  scaled to [0, 1], split once (``default_rng(SPLIT_SEED)``) into train / validation / test;
* model: a 64-32-10 tanh MLP with softmax cross-entropy, written in numpy (non-convex);
* server: at step t it receives a minibatch gradient computed at the stale iterate x_{t-d_t} and
  asks the algorithm's own rule object (:func:`verify.algorithms.resolve`, ``alg.decide(dist, d)``
  -- the call of :func:`verify.algorithms.reference_run`) whether to apply it and with which step;
* delays: the worker-pool simulation (``verify.models.delays.make("workers:...")``), 8 workers with
  concentrated, skewed (heterogeneous speeds) and heavy-tailed compute times; all three have
  tau_avg about 7 (= n - 1), their tau_max differ by two orders of magnitude; the simulation's arrival
  times give the wall-clock axis;
* algorithms: Picky SGD, delayed SGD, delay-adaptive SGD with Mishchenko et al.'s rule
  eta_t = eta tau_C / max(tau_C, d_t), tau_C = n (their public code's rule; KSJ's cap needs beta,
  unknown for a network);
* tuning: the learning rate of each algorithm (and Picky's rho) on :data:`LR_GRID` x :data:`RHO_GRID`,
  per delay distribution, by the mean validation loss over the last quarter of a run with the tuning
  seed; then every algorithm with its tuned values on the evaluation seeds.

Minibatches: row t of a per-seed index array drawn up front, so every algorithm sees the same
batches and the same delays for a seed (common random numbers). Randomness only through
``numpy.random.default_rng`` with the stated seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify import algorithms
from verify.models import delays
from verify.optional import require
from . import style
from .context import Context
from .table import Table, where

NAME = "digits"
TITLE = "The paper's experiment, reconstructed: a small network on scikit-learn's digits"

SPLIT_SEED = 0
TUNE_SEED = 100
HIDDEN = 32
BATCH = 32
WORKERS = 8
#: the three delay regimes (label, spec); all have tau_avg ~ WORKERS - 1
DELAYS: tuple[tuple[str, str], ...] = (
    ("concentrated", f"workers:n={WORKERS},dist=lognormal,s=0.1"),
    ("skewed", f"workers:n={WORKERS},dist=exponential,spread=10"),
    ("heavy-tailed", f"workers:n={WORKERS},dist=pareto,alpha=1.2"),
)
ALGS = ("picky", "delayed-sgd", "delay-adaptive")
LR_GRID = (0.1, 0.3, 1.0, 3.0)
RHO_GRID = (0.3, 1.0, 3.0, 10.0)
#: (server steps, evaluation seeds, evaluation interval) per profile
BUDGETS = {"test": (200, (0, 1), 50), "quick": (3000, (0, 1, 2), 100), "full": (8000, (0, 1, 2, 3, 4), 100)}


def _style_key(alg: str) -> str:
    return style.key_of(alg, "mishchenko")


# ------------------------------------------------------------------------------------------------
# data and model
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    Xtr: np.ndarray
    ytr: np.ndarray
    Xva: np.ndarray
    yva: np.ndarray
    Xte: np.ndarray
    yte: np.ndarray


def load(seed: int = SPLIT_SEED) -> Data:
    """load_digits, pixels / 16, a fixed random split: 1000 train, 297 validation, 500 test."""
    load_digits = require("sklearn.datasets", "figure 'digits'").load_digits
    X, y = load_digits(return_X_y=True)
    X = X.astype(float) / 16.0
    perm = np.random.default_rng(seed).permutation(len(y))
    tr, va, te = perm[:1000], perm[1000:1297], perm[1297:]
    return Data(X[tr], y[tr], X[va], y[va], X[te], y[te])


class MLP:
    """64-H-10 tanh network, softmax cross-entropy; parameters one flat float64 vector."""

    def __init__(self, n_in: int = 64, hidden: int = HIDDEN, n_out: int = 10):
        self.shapes = [(n_in, hidden), (hidden,), (hidden, n_out), (n_out,)]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.size = sum(self.sizes)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        n_in, h = self.shapes[0]
        n_out = self.shapes[2][1]
        w1 = rng.standard_normal((n_in, h)) / math.sqrt(n_in)
        w2 = rng.standard_normal((h, n_out)) / math.sqrt(h)
        return np.concatenate([w1.ravel(), np.zeros(h), w2.ravel(), np.zeros(n_out)])

    def unpack(self, w: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for s, n in zip(self.shapes, self.sizes):
            out.append(w[i:i + n].reshape(s))
            i += n
        return out

    def logits(self, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        W1, b1, W2, b2 = self.unpack(w)
        h = np.tanh(X @ W1 + b1)
        return h, h @ W2 + b2

    def loss_acc(self, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            _, z = self.logits(w, X)
            z = z - z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(z).sum(axis=1))
            loss = float(np.mean(lse - z[np.arange(len(y)), y]))
            acc = float(np.mean(np.argmax(z, axis=1) == y))
        return loss, acc

    def grad(self, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        W1, b1, W2, b2 = self.unpack(w)
        with np.errstate(all="ignore"):
            h = np.tanh(X @ W1 + b1)
            z = h @ W2 + b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1.0
            p /= len(y)
            gW2 = h.T @ p
            gb2 = p.sum(axis=0)
            dh = (p @ W2.T) * (1.0 - h * h)
            gW1 = X.T @ dh
            gb1 = dh.sum(axis=0)
        return np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])


# ------------------------------------------------------------------------------------------------
# asynchronous training
# ------------------------------------------------------------------------------------------------
def make_algorithm(alg: str, lr: float, rho: float | None, seq: delays.DelaySequence) -> algorithms.Algorithm:
    """The package's rule object. beta, F, eps, sigma are nominal (1, 1, 1, 1): a network's constants
    are unknown, and every parameter the rules use here (eta, rho, tau_C) is given explicitly."""
    kw: dict[str, Any] = dict(beta=1.0, F=1.0, eps=1.0, sigma=1.0, eta=lr)
    if alg == "picky":
        kw["rho"] = rho
    elif alg == "delay-adaptive":
        kw.update(tau_C=float(WORKERS), rule="mishchenko")
    return algorithms.resolve(alg, delays=seq, **kw)


def evaluation(net: Any, w: Any, data: Data, step: int, test: bool) -> dict[str, Any]:
    """The losses of the network with weights ``w`` at ``step``: train and validation loss, and test loss and
    accuracy when ``test`` (else NaN): one row of a run's evaluations."""
    tl, _ = net.loss_acc(w, data.Xtr, data.ytr)
    vl, _ = net.loss_acc(w, data.Xva, data.yva)
    tel, ta = net.loss_acc(w, data.Xte, data.yte) if test else (math.nan, math.nan)
    return {"step": step, "train_loss": tl, "val_loss": vl, "test_loss": tel, "test_acc": ta}


def train(alg: algorithms.Algorithm, seq: delays.DelaySequence, data: Data, seed: int, T: int, every: int,
          *, test: bool = True, batches: np.ndarray | None = None,
          eval_at: set[int] | None = None) -> dict[str, Any]:
    """One asynchronous run of T server steps; the stale minibatch gradient at x_{t-d_t}, accepted and
    scaled by ``alg.decide(||x_t - x_{t-d_t}||, d_t)``. Evaluated (train loss, validation loss, test
    loss and accuracy) at x_t for t = 1, 1 + every, ... (or, given ``eval_at``, for t in it) and at
    x_{T+1}. A non-finite iterate stops the run (its later evaluations are NaN); ``accepted_mask[t-1]``:
    whether step t's gradient was applied. ``batches``: the
    training rows of step t's minibatch in row t - 1 (default: drawn from ``default_rng(seed)`` after
    the network's initialisation)."""
    net = MLP(data.Xtr.shape[1])
    rng = np.random.default_rng(seed)
    w = net.init(rng)
    if batches is None:
        batches = rng.integers(0, len(data.ytr), size=(T, BATCH))
    d = seq.delays[:T]
    src = np.arange(1, T + 1) - d  # the iterate index (1-based) each step reads
    last_use = np.zeros(T + 2, dtype=np.int64)
    np.maximum.at(last_use, src, np.arange(1, T + 1))  # the last step that reads each iterate
    hist: dict[int, np.ndarray] = {}
    evals: list[dict[str, Any]] = []
    accepted = 0
    accepted_mask = np.zeros(T, dtype=bool)
    diverged_at = None

    def evaluate(t: int) -> None:
        evals.append(evaluation(net, w, data, t, test))

    for t in range(1, T + 1):
        if (t in eval_at) if eval_at is not None else ((t - 1) % every == 0):
            evaluate(t)
            if not math.isfinite(evals[-1]["train_loss"]):
                diverged_at = t
                break
        if last_use[t] >= t:
            hist[t] = w
        s = int(src[t - 1])
        y = hist[s]
        dt = int(d[t - 1])
        dist = float(np.linalg.norm(w - y)) if dt > 0 else 0.0
        accept, eta_t = alg.decide(dist, dt)  # the package's rule, as in verify.algorithms.reference_run
        if accept:
            idx = batches[t - 1]
            w = w - eta_t * net.grad(y, data.Xtr[idx], data.ytr[idx])
            accepted += 1
            accepted_mask[t - 1] = True
        if last_use[s] == t:
            del hist[s]
    if diverged_at is None:
        evaluate(T + 1)
    return {"evals": evals, "accepted": accepted, "accepted_mask": accepted_mask, "diverged_at": diverged_at}


def _score(run: dict[str, Any]) -> float:
    """Tuning score: mean validation loss over the last quarter of the evaluations (inf if diverged)."""
    if run["diverged_at"] is not None:
        return math.inf
    v = [e["val_loss"] for e in run["evals"]]
    tail = v[-max(1, len(v) // 4):]
    s = float(np.mean(tail))
    return s if math.isfinite(s) else math.inf


def compute(profile: str = "quick", seed: int = TUNE_SEED, *, ctx: Context | None = None) -> Table:
    """Tune on the validation split with seed ``seed``, then train every algorithm with its tuned
    values on the profile's evaluation seeds under each delay regime. Rows: kind = "curve" (one per
    evaluation: regime, algorithm, seed, step, wall-clock time, train loss, test accuracy), "tune"
    (every grid point's score), "delays" (each regime's delay statistics)."""
    ctx = ctx or Context(profile=profile)
    T, seeds, every = BUDGETS[profile]
    data = load()
    rows: list[dict[str, Any]] = []
    tuned: dict[str, dict[str, Any]] = {}
    gaps: dict[str, dict[str, Any]] = {}
    for regime, spec in DELAYS:
        tune_seq = delays.make(spec, T, seed=seed)
        best: dict[str, tuple[float, float, float | None]] = {}
        for alg in ALGS:
            for lr in LR_GRID:
                for rho in (RHO_GRID if alg == "picky" else (None,)):
                    run = train(make_algorithm(alg, lr, rho, tune_seq), tune_seq, data, seed, T, every, test=False)
                    sc = _score(run)
                    rows.append({"kind": "tune", "regime": regime, "algorithm": alg, "lr": lr, "rho": rho,
                                 "val_score": sc if math.isfinite(sc) else None,
                                 "accepted_fraction": run["accepted"] / T})
                    if alg not in best or sc < best[alg][0]:
                        best[alg] = (sc, lr, rho)
            ctx.progress(f"digits: {regime}: tuned {alg}: lr = {best[alg][1]:g}"
                         + (f", rho = {best[alg][2]:g}" if best[alg][2] is not None else ""))
        tuned[regime] = {a: {"lr": best[a][1], "rho": best[a][2], "val_score": best[a][0]} for a in ALGS}
        finals: dict[str, list[tuple[float, float]]] = {a: [] for a in ALGS}
        for s in seeds:
            seq = delays.make(spec, T, seed=s)
            st = seq.stats()
            rows.append({"kind": "delays", "regime": regime, "spec": spec, "seed": s, "tau_avg": float(st.tau_avg),
                         "tau_median": float(np.median(seq.delays)), "tau_max": int(st.tau_max),
                         "wall_per_step": float(seq.wall_clock[-1] / T)})
            wall = np.concatenate([[0.0], seq.wall_clock])  # x_t exists at the arrival time of step t-1
            for alg in ALGS:
                lr, rho = tuned[regime][alg]["lr"], tuned[regime][alg]["rho"]
                run = train(make_algorithm(alg, lr, rho, seq), seq, data, s, T, every)
                for e in run["evals"]:
                    rows.append({"kind": "curve", "regime": regime, "algorithm": alg, "seed": s, "step": e["step"],
                                 "wall": float(wall[e["step"] - 1]), "train_loss": e["train_loss"],
                                 "test_acc": e["test_acc"], "lr": lr, "rho": rho,
                                 "accepted_fraction": run["accepted"] / T})
                last = run["evals"][-1]
                finals[alg].append((last["train_loss"] if run["diverged_at"] is None else math.inf,
                                    last["test_acc"] if run["diverged_at"] is None else 0.0))
            ctx.progress(f"digits: {regime}: seed {s} done")
        acc = {a: float(np.mean([f[1] for f in finals[a]])) for a in ALGS}
        loss = {a: float(np.median([f[0] for f in finals[a]])) for a in ALGS}
        gaps[regime] = {"final_test_acc_mean": acc, "final_train_loss_median": loss,
                        "picky_minus_delayed_acc": acc["picky"] - acc["delayed-sgd"],
                        "picky_minus_adaptive_acc": acc["picky"] - acc["delay-adaptive"]}
    meta = {
        "title": TITLE,
        "seeds": {"tuning": seed, "evaluation": list(seeds), "split": SPLIT_SEED,
                  "note": "seed s: delays workers(seed=s), network init and minibatches default_rng(s)"},
        "grid": {"lr": list(LR_GRID), "rho": list(RHO_GRID)},
        "tuned": tuned, "gaps": gaps, "T": T, "batch": BATCH, "hidden": HIDDEN, "workers": WORKERS,
        "delays": {r: s for r, s in DELAYS},
        "sentence": _sentence(gaps),
        "caption": _caption(T, seeds, seed, tuned, gaps),
        "source": "computed here (verify/figures/digits.py): numpy MLP, the package's rule objects, "
                  "verify.models.delays worker-pool simulation",
    }
    return Table(rows, meta)


def _sentence(gaps: dict[str, Any]) -> str:
    parts = [f"{r}: {100 * g['picky_minus_delayed_acc']:+.1f} / {100 * g['picky_minus_adaptive_acc']:+.1f} points "
             f"(training loss {g['final_train_loss_median']['picky']:.2g} vs "
             f"{g['final_train_loss_median']['delayed-sgd']:.2g} / {g['final_train_loss_median']['delay-adaptive']:.2g})"
             for r, g in gaps.items()]
    return ("A 64-32-10 tanh network on scikit-learn's digits trained asynchronously by Picky SGD, delayed SGD and "
            "delay-adaptive SGD under 8 simulated workers (tau_avg ~ 7) with concentrated, skewed and heavy-tailed "
            "compute times, each with its tuned step size; Picky's final test accuracy minus delayed SGD's / "
            "delay-adaptive's: " + "; ".join(parts) + ".")


def _caption(T: int, seeds: Any, tune_seed: int, tuned: dict[str, Any], gaps: dict[str, Any]) -> str:
    tv = "; ".join(
        f"{r}: Picky lr {t['picky']['lr']:g}, rho {t['picky']['rho']:g}, delayed SGD lr {t['delayed-sgd']['lr']:g}, "
        f"delay-adaptive lr {t['delay-adaptive']['lr']:g}" for r, t in tuned.items())
    gp = "; ".join(
        f"{r}: test accuracy Picky {100 * g['final_test_acc_mean']['picky']:.1f}%, delayed {100 * g['final_test_acc_mean']['delayed-sgd']:.1f}%, "
        f"adaptive {100 * g['final_test_acc_mean']['delay-adaptive']:.1f}%; final training loss (median) Picky "
        f"{g['final_train_loss_median']['picky']:.2g}, delayed {g['final_train_loss_median']['delayed-sgd']:.2g}, "
        f"adaptive {g['final_train_loss_median']['delay-adaptive']:.2g}" for r, g in gaps.items())
    return (f"Our reconstruction, not the paper's setup (its model, data, delays and hyperparameters were not available; "
            f"the abstract only says the experiments show robustness under skewed or heavy-tailed delays). "
            f"Digits (1000 train / 297 validation / 500 test), 64-{HIDDEN}-10 tanh MLP, batch {BATCH}, {T} server steps, "
            f"{WORKERS} simulated workers. Grid: lr in {list(LR_GRID)} for every algorithm, rho in {list(RHO_GRID)} for "
            f"Picky; tuned per delay regime on the validation loss (seed {tune_seed}). Tuned: {tv}. "
            f"Evaluation seeds {list(seeds)} (median line, band = min-max over seeds). Final (mean over seeds): {gp}.")


# ------------------------------------------------------------------------------------------------
# plot
# ------------------------------------------------------------------------------------------------
def plot(table: Table):
    meta = table.meta
    regimes = list(meta["delays"])
    fig = style.new_figure(15.5, 3.1 * len(regimes) + 2.1)
    axes = fig.subplots(len(regimes), 4, squeeze=False)
    curves = table.select(kind="curve")
    for i, regime in enumerate(regimes):
        drow = table.select(kind="delays", regime=regime)
        tau_avg = np.mean([r["tau_avg"] for r in drow]) if drow else math.nan
        tau_max = max([r["tau_max"] for r in drow]) if drow else 0
        for alg in ALGS:
            rs = where(curves, regime=regime, algorithm=alg)
            if not rs:
                continue
            seeds = sorted({r["seed"] for r in rs})
            steps = sorted({r["step"] for r in rs})
            tl = np.full((len(seeds), len(steps)), np.nan)
            ta = np.full_like(tl, np.nan)
            wl = np.full_like(tl, np.nan)
            si = {s: k for k, s in enumerate(seeds)}
            ti = {s: k for k, s in enumerate(steps)}
            for r in rs:
                tl[si[r["seed"]], ti[r["step"]]] = r.get("train_loss", np.nan) if r.get("train_loss") is not None else np.nan
                ta[si[r["seed"]], ti[r["step"]]] = 1.0 - r["test_acc"] if r.get("test_acc") is not None else np.nan
                wl[si[r["seed"]], ti[r["step"]]] = r["wall"]
            key = _style_key(alg)
            t0 = meta["tuned"][regime][alg]
            lab = style.label(key, t0["lr"], **({"rho": t0["rho"]} if alg == "picky" else {}))
            x_steps = np.array(steps, float)
            x_wall = np.nanmedian(wl, axis=0)
            for j, (x, y) in enumerate(((x_steps, tl), (x_steps, ta), (x_wall, tl), (x_wall, ta))):
                ax = axes[i, j]
                with np.errstate(all="ignore"):
                    import warnings
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        med = np.nanmedian(y, axis=0)
                        lo, hi = np.nanmin(y, axis=0), np.nanmax(y, axis=0)
                ax.plot(x, med, color=style.color(key), label=lab if j == 0 else None)
                ax.fill_between(x, lo, hi, color=style.color(key), alpha=0.18, linewidth=0)
        g = meta["gaps"][regime]
        axes[i, 0].set_ylabel(f"{regime}\n(τ_avg {tau_avg:.1f}, τ_max {tau_max})\ntraining loss (nats)")
        axes[i, 1].set_ylabel("test error (1 - accuracy)")
        axes[i, 2].set_ylabel("training loss (nats)")
        axes[i, 3].set_ylabel("test error (1 - accuracy)")
        for j in range(4):
            axes[i, j].set_yscale("log")
        for j in (1, 3):
            axes[i, j].set_ylim(0.01, 1.0)
        axes[i, 1].text(0.97, 0.95, f"final accuracy: Picky {100 * g['final_test_acc_mean']['picky']:.1f}%, delayed "
                        f"{100 * g['final_test_acc_mean']['delayed-sgd']:.1f}%,\nadaptive "
                        f"{100 * g['final_test_acc_mean']['delay-adaptive']:.1f}% (mean over seeds)",
                        transform=axes[i, 1].transAxes, ha="right", va="top", fontsize=7.5,
                        bbox=dict(boxstyle="round", fc="white", ec="#cccccc", alpha=0.9))
        axes[i, 0].legend(loc="upper right", fontsize=7.5)
    for j, xl in enumerate(("server steps", "server steps", "simulated wall-clock (mean compute time 1)",
                            "simulated wall-clock (mean compute time 1)")):
        axes[-1, j].set_xlabel(xl)
    axes[0, 0].set_title("training loss vs steps")
    axes[0, 1].set_title("test error vs steps")
    axes[0, 2].set_title("training loss vs wall-clock")
    axes[0, 3].set_title("test error vs wall-clock")
    fig.suptitle("Figure 8. " + TITLE + " (our reconstruction)", fontsize=12, x=0.01, ha="left")
    fig.subplots_adjust(left=0.07, right=0.99, top=0.93, bottom=0.17, hspace=0.3, wspace=0.28)
    style.caption(fig, meta["caption"], width=230)
    return fig

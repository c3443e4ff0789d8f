"""The claims registry: every checkable statement of the package, one module each, each returning an
evidence record (:class:`verify.claims.evidence.Evidence`) -- the measured value beside the theory's.

=====  ==========================  ===============================================================
 no.   id                          claim
=====  ==========================  ===============================================================
 1     theorem-d-deterministic     Theorem D/D', sigma = 0: eps-stationary by the first horizon
 2     theorem-d-stochastic        Theorem D', sigma > 0: success probability >= 1/2; restarts
 3     counting-lemma              the counting lemma, exact; tight on bursty; on every run
 4     invariants                  Algorithm 1's per-step invariants on every run
 5     headline                    steps do not grow with tau_max at fixed tau_avg
 6     eps-scaling                 exponents in eps: 2 on the chain, <= 4 noise-dominated
 7     stability                   delayed GD's stability threshold; Picky converges beyond it
 8     lower-bound                 the chain's zero-chain guarantee for every algorithm
 9     tightness                   measured/bound of each explicit theorem; a lower bound on C
 10    baselines                   SGD without delays (theory sgd), stale-drop, delay-adaptive: run, checked
 11    worst-case-known            the exact worst-case SDP reproduces gradient descent's known value
 12    worst-case-tightness        exact worst case / Theorem D, D' at the horizons the SDP reaches
 13    worst-case-simulation       sigma = 0 runs never beat the exact worst case (same delays, rule)
 14    worst-case-delays           the worst delays (and Picky patterns) for the exact worst case, searched
 15    worst-case-headline         exact worst case against tau_max at fixed tau_avg, Picky vs delayed SGD
 16    certified-c                 a certified lower bound on the rate form's C (Theorem D's eta, rho); <= C_D
 17    time-lemmas                 Rennala rounds <= t(S), R Ringmaster updates <= t(R), arrivals (fixed fleets)
 18    picky-seconds               Picky SGD in seconds / T_homog against n (open question, measured)
 19    time-models                 seconds to eps under random/universal models; no arrival in an outage
=====  ==========================  ===============================================================

Claims 17-19
are the time claims: seconds under computation models (:mod:`verify.models.compute`,
:mod:`verify.engine.events`, :mod:`theory.timing`); 18 and 19 measure and report (no time bound is
claimed for Picky SGD or for random/universal models), 17 and 19's outage check are exact.

Coverage: every algorithm rule of :mod:`theory.rules` is run by some claim (tested): Picky SGD in
claims 1, 2, 4-9, 13; delayed SGD (also the algorithm of ``ksj-constant``) in 4, 5, 7, 8, 13; stale-drop in 4, 8,
10, 13; SGD without delays in 8, 10, 13; delay-adaptive SGD, KSJ's rule in 8, 10, 13, Mishchenko et al.'s in 10
(claims 11-15 also solve their exact worst cases; claim 16 replays Picky SGD in exact arithmetic). Statements without an algorithm of their own: ``counting-lemma`` (claim 3), ``lower-bound``
(claim 8); ``quantile`` (asynchronous mini-batching) is not implemented in this package, so no claim runs it.

``run(ids, profile)`` runs claims in registry order, sharing one :class:`Context` (so claims 3, 4
and 9 see the runs of the others). With ``executor=`` the independent claims run as tasks on local
processes or a Dask cluster (:mod:`verify.runtime.executors`) and the dependent ones here, on the merged runs.
``picky verify`` is this plus a report (:mod:`.report`).
"""
from __future__ import annotations

from typing import Callable, Iterable

from . import (
    baselines,
    certified_c,
    counting_lemma,
    eps_scaling,
    headline,
    invariants,
    lower_bound,
    stability,
    theorem_d_deterministic,
    theorem_d_stochastic,
    tightness,
    picky_seconds,
    time_lemmas,
    time_models,
    worst_case_known,
    worst_case_delays,
    worst_case_headline,
    worst_case_simulation,
    worst_case_tightness,
)
from verify.runtime.executors import Executor, map_tasks
from .common import PROFILES, Budget, Claim, Context
from .evidence import FAIL, INCONCLUSIVE, NOT_MET, PASS, VERDICTS, Evidence

__all__ = ["CLAIMS", "get", "run", "Claim", "Context", "Evidence", "Budget", "PROFILES", "PASS", "FAIL",
           "INCONCLUSIVE", "NOT_MET", "VERDICTS", "DEPENDENT", "run_one"]

#: claims in the order they run (the later ones use the earlier ones' runs)
CLAIMS: dict[str, Claim] = {c.id: c for c in sorted(
    (m.CLAIM for m in (theorem_d_deterministic, theorem_d_stochastic, headline, eps_scaling, stability, lower_bound,
                       counting_lemma, invariants, tightness, baselines, worst_case_known,
                       worst_case_tightness, worst_case_simulation, worst_case_delays,
                       worst_case_headline, certified_c, time_lemmas, picky_seconds, time_models)), key=lambda c: c.number)}
#: the claims that read the runs (or the evidence) of the others (certified-c: claim 9's bound, shown beside
#: its own): they run last (with an executor:
#: here, after the others' runs are merged)
DEPENDENT = ("counting-lemma", "invariants", "tightness", "certified-c")
ORDER = [c for c in CLAIMS if c not in DEPENDENT] + list(DEPENDENT)


def get(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise ValueError(f"claim id must be one of {list(CLAIMS)}; got {claim_id!r}") from None


def run(ids: Iterable[str] | None = None, profile: str = "quick", *, progress: Callable[[str], None] | None = None,
        out_dir=None, on_done: Callable[[Evidence], None] | None = None,
        executor: Executor | None = None, on_start: Callable[[str], None] | None = None) -> list[Evidence]:
    """Run the claims ``ids`` (default all), in dependency order; returns their evidence in registry order.

    ``executor`` (:class:`verify.runtime.executors.Executor`; default: this process): where the independent
    claims run, one task each. Their evidence and runs come back and are merged in :data:`ORDER`, so
    the dependent claims (:data:`DEPENDENT`, run here afterwards) see exactly the runs, in exactly the
    order, that a run in one process gives -- the evidence is the same on every executor (tested).
    ``on_start(claim_id)`` is called as each claim starts (with an executor: as its task is submitted),
    ``on_done(evidence)`` as it ends. A claim whose check raises is reported as that claim's ``fail``
    (:meth:`Claim.run`), and the others still run."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}; got {profile!r}")
    wanted = list(CLAIMS) if ids is None else [get(i).id for i in ids]
    ctx = Context(PROFILES[profile], progress=progress or (lambda msg: None), out_dir=out_dir)
    remote = executor is not None and (executor.uses_dask or executor.kind != "inline")
    if remote:
        tasks = [(cid, (cid, profile, None if out_dir is None else str(out_dir)))
                 for cid in ORDER if cid in wanted and cid not in DEPENDENT]
        got: dict[str, tuple[Evidence, list]] = {}
        if on_start is not None:
            for cid, _ in tasks:
                on_start(cid)
        for cid, (ev, runs) in map_tasks(run_one, tasks, executor):
            got[cid] = (ev, runs)
            if on_done is not None:
                on_done(ev)
        for cid, _ in tasks:  # merged in ORDER: the dependent claims see the runs as one process makes them
            ev, runs = got[cid]
            ctx.evidence[cid] = ev
            ctx.runs.extend(runs)
    for cid in ORDER:
        if cid in wanted and not (remote and cid not in DEPENDENT):
            if on_start is not None:
                on_start(cid)
            ev = CLAIMS[cid].run(ctx)
            if on_done is not None:
                on_done(ev)
    return [ctx.evidence[c] for c in CLAIMS if c in wanted]


def run_one(claim_id: str, profile: str, out_dir: str | None = None) -> tuple[Evidence, list]:
    """One independent claim in a fresh context (an executor's task): its evidence and the runs it
    collected (for the dependent claims)."""
    ctx = Context(PROFILES[profile], out_dir=out_dir)
    ev = get(claim_id).run(ctx)
    return ev, ctx.runs

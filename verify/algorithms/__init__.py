"""The algorithms: one rule object each (:mod:`.rules`) and the literal reference loop
(:mod:`.reference`).

>>> from verify import algorithms

>>> from verify.models import problems
>>> prob = problems.make("logsum", 10)
>>> alg = algorithms.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0)
>>> alg.eta, alg.rho                    # Theorem D's step 1/(9 beta) and threshold eps/(2 beta)
(0.05555555555555555, 0.025)
>>> alg.decide(0.025, 3)                # a distance equal to rho is accepted (the test is <=)
(True, 0.05555555555555555)

Your own rule: :func:`define` (:mod:`.user`) -- an accept condition and a step as SymPy, with
named parameters and defaults -- gives an algorithm that ``resolve`` finds by name and that the
reference loop and the compiled engine run like a built-in.

Methods with their own schedule (they need a computation model: ``verify.runtime.simulation.run_on_compute``):
Ringmaster ASGD (:class:`Ringmaster`, :class:`RingmasterStops`: stale-drop's rule on Ringmaster's schedules)
and the batch methods of :mod:`verify.algorithms.batch` (Rennala SGD, minibatch SGD: one step averages a batch
of gradients all computed at the current iterate).

Every parameter not given comes from :mod:`theory.rules` (``alg.source`` says which default);
bad values raise ``ValueError`` naming the parameter, its allowed range and the value.
"""
from __future__ import annotations

from .user import USER_RULES, define
from .reference import AdaptiveDelay, DivergenceGuard, delay_stats, reference_run
from .rules import (
    ALGORITHMS,
    POLICY_ALGORITHMS,
    Ringmaster,
    RingmasterStops,
    RULE_IDS,
    SGD,
    Algorithm,
    DelayAdaptive,
    DelayedSGD,
    Picky,
    StaleDrop,
    decide_any,
    from_dict,
    resolve,
)
from .batch import BATCH_ALGORITHMS, BatchSchedule, Minibatch, Rennala, reference_batch_run, resolve_batch

#: the parameters a user may set for each algorithm (everything else comes from theory)
OVERRIDES: dict[str, tuple[str, ...]] = {n: tuple(c.params) for n, c in ALGORITHMS.items()}
#: delay-adaptive's step rules for d_t > tau_C
RULES = DelayAdaptive.params["rule"].choices

__all__ = [
    "ALGORITHMS", "OVERRIDES", "RULES", "RULE_IDS", "Algorithm", "Picky", "DelayedSGD", "DelayAdaptive",
    "StaleDrop", "SGD", "resolve", "from_dict", "decide_any", "reference_run", "DivergenceGuard",
    "AdaptiveDelay", "delay_stats", "define", "USER_RULES", "POLICY_ALGORITHMS", "Ringmaster", "RingmasterStops",
    "BATCH_ALGORITHMS", "BatchSchedule", "Rennala", "Minibatch", "resolve_batch", "reference_batch_run",
]

"""Claim 1's targeted search (verify.search.targeted) searches every instance that claim 1 checks
where Theorem D''s condition can hold within the search length, and finds at least the ratio
t_hit/t0 of a hand-made sequence on logsum."""
from __future__ import annotations

import numpy as np

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P
from verify.search import targeted as search
from verify.claims.common import PROFILES, Context

LOGSUM = "logsum:width=1.4142135623730951,scale=0.5"


def _hand_ratio() -> float:
    """bursty(m=10) x 50, then zeros, on logsum (eps = 1/2, sigma = 0): Picky SGD with Theorem D's
    step and threshold, its first hit over Theorem D''s first horizon -- by the engine and theory."""
    prob = P.make(LOGSUM, 2)
    d = np.zeros(search.LENGTH, np.int64)
    d[:50] = np.arange(50) % 11
    t0 = theory.first_horizon(d, result="picky-explicit-sharp", beta=prob.beta, F=prob.F, sigma=0.0, eps=0.5)
    alg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.5, sigma=0.0)
    (r,) = E.run_batch(prob, D.from_trace(d), alg, [0], T=t0, stop_at_hit=True)
    return r.first_hit / t0


def test_the_search_covers_every_instance_where_the_condition_can_hold():
    ctx = Context(PROFILES["test"])
    found = {f.instance: f for f in search.worst_sequences(ctx)}
    assert set(found) == {"quad", "logsum"}
    assert search.unsearchable("chain") and "3.31e+06" in search.unsearchable("chain")
    assert search.unsearchable("quad") is None and search.unsearchable("logsum") is None
    hand = _hand_ratio()
    assert 0.01 < hand < 1  # a hand-made sequence that beat the quad-only search's worst on logsum
    assert found["logsum"].ratio >= hand


def test_the_search_is_reproducible_from_its_budget():
    ctx = Context(PROFILES["test"])
    a, b = search.worst_sequence(ctx, "logsum", save=False), search.worst_sequence(ctx, "logsum", save=False)
    assert (a.program, a.ratio, a.examples) == (b.program, b.ratio, b.examples)

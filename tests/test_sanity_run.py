"""Reproduce the sigma = 0 rows of the digest's sanity run (paper.md §8.3 and Appendix A), which an
independent numpy prototype computed and which "any correct implementation with the same indexing"
must reproduce exactly.

Setup: f = sum_i log(1 + x_i^2), d = 10, x_1 = 3*ones, beta = 2, F = 10 log 10, eps = 0.1,
T = 2e5, Theorem D's eta = 1/18 and rho = eps/(2 beta) = 0.025. The prototype is 0-based (its step t
holds x_t with x_0 the start), so its first eps-stationary step + 1 is our 1-indexed first_hit.
Expected values are the prototype's (typed from the digest's table), not computed by this package.
"""
from __future__ import annotations

import pytest

from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P

T = 200_000
# pattern -> (first eps-stationary step, 0-based; rejected over all T; accepted over all T)
PROTOTYPE = {
    "none": (87, 0, 200_000),
    "constant:tau=5": (470, 387, 199_613),
    "straggler": (87, 1, 199_999),
    "bursty:m=20": (1641, 29_901, 170_099),
    "pareto:alpha=1.5,scale=3": (190, 112, 199_888),
}


def _setup():
    prob = P.make("logsum", 10)
    cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=0.1, sigma=0.0)
    assert cfg.eta == pytest.approx(1 / 18) and cfg.rho == pytest.approx(0.025)
    seqs = [D.make(spec, T, seed=0) for spec in PROTOTYPE]
    return prob, cfg, seqs


def test_first_eps_stationary_step_matches_prototype():
    prob, cfg, seqs = _setup()
    runs = E.run_batch(prob, seqs, cfg, [1] * len(seqs), stop_at_hit=True, record_rejections=False)
    for (spec, (first0, _, _)), r in zip(PROTOTYPE.items(), runs):
        assert r.first_hit == first0 + 1, spec
    # the reference agrees
    for (spec, (first0, _, _)), seq in zip(PROTOTYPE.items(), seqs):
        assert A.reference_run(prob, seq, cfg, seed=1, stop_at_hit=True).first_hit == first0 + 1, spec


@pytest.mark.slow
def test_full_horizon_counts_match_prototype():
    prob, cfg, seqs = _setup()
    runs = E.run_batch(prob, seqs, cfg, [1] * len(seqs), record_rejections=False)
    for (spec, (first0, rej, acc)), r in zip(PROTOTYPE.items(), runs):
        assert (r.first_hit, r.rejected, r.accepted) == (first0 + 1, rej, acc), spec

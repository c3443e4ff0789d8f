"""Run-level checks of derived claims that are deterministic when sigma = 0 (paper.md §4.4, §8.2):

- Picky's invariants on every run: accepted => ||x_t - x_{t-d_t}|| <= rho and
  ||grad f(x_t) - grad f(x_{t-d_t})|| <= beta rho = eps/2; d_t = 0 => accepted.
- The rejected updates before the first eps-stationary iterate are at most the counting lemma's
  bound with K <= 24 beta F/eps^2 drift breakpoints (theory `counting-lemma`, aux
  `rejections_deterministic`), S = the sum of the delays over those steps.
"""
from __future__ import annotations

import numpy as np
import pytest

import theory
from verify import algorithms as A
from verify.models import delays as D
from verify import engine as E
from verify.models import problems as P

SPECS = ["constant:tau=5", "bursty:m=20", "bursty:m=200", "pareto:alpha=1.5,scale=3", "bimodal:p=0.05,D=400", "workers:n=16,spread=10"]


@pytest.mark.parametrize("problem", ["logsum", "quadratic:spectrum=geometric,mu=0.05", "chain"])
def test_rejections_before_first_hit_within_counting_bound(problem):
    prob = P.make(problem, 10)
    eps = 0.1 if problem != "chain" else 0.5
    T = 20_000
    seqs = [D.make(s, T, seed=1) for s in SPECS]
    cfg = A.resolve("picky", beta=prob.beta, F=prob.F, eps=eps, sigma=0.0)
    runs = E.run_batch(prob, seqs, cfg, [0] * len(seqs), stop_at_hit=True)
    for spec, seq, r in zip(SPECS, seqs, runs):
        # invariants
        assert r.max_accepted_distance <= cfg.rho
        assert r.rejected == 0 or r.min_rejected_distance > cfg.rho
        assert r.max_accepted_grad_gap <= prob.beta * cfg.rho * (1 + 1e-12) <= eps / 2 * (1 + 1e-12)
        zero = np.flatnonzero(seq.delays[: r.steps_run] == 0) + 1
        assert not np.isin(zero, r.rejected_steps).any()
        # counting bound on the rejections among the steps run (all before the first hit)
        S = float(seq.delays[: r.steps_run].sum())
        bound = theory.evaluate("counting-lemma", "rejections_deterministic", beta=prob.beta, F=prob.F, eps=eps, sum_delays=S)
        assert r.rejected <= bound, (spec, r.rejected, bound)

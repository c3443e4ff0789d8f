"""verify.models.compute: specs, durations by hand, and the delay model ``workers`` as a view of it.

WORKERS_BEFORE: SHA-256 (first 16 hex digits) of delays + wall_clock bytes of ``delays.make`` for the
``workers`` model, recorded with the implementation *before* it became a view of compute.py (commit
9f6a47a): the view must reproduce every one.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from verify.models import compute, delays

WORKERS_BEFORE = [
    ('workers', 1, 0, 'cf7fadda4f8130ac', 0, {'n': 8, 'dist': 'exponential', 'spread': 1.0}),
    ('workers', 500, 3, '863f16acc38cfaf6', 0, {'n': 8, 'dist': 'exponential', 'spread': 1.0}),
    ('workers', 2000, 11, '687ae050f8863c63', 0, {'n': 8, 'dist': 'exponential', 'spread': 1.0}),
    ('workers:n=1', 1, 0, '2dab914de1498b66', 0, {'n': 1, 'dist': 'exponential', 'spread': 1.0}),
    ('workers:n=1', 500, 3, '992053ba217f17c9', 0, {'n': 1, 'dist': 'exponential', 'spread': 1.0}),
    ('workers:n=1', 2000, 11, '593081e89022c1c7', 0, {'n': 1, 'dist': 'exponential', 'spread': 1.0}),
    ('workers:n=3,dist=constant', 1, 0, 'fc62429c3e69001d', 0, {'n': 3, 'dist': 'constant', 'spread': 1.0}),
    ('workers:n=3,dist=constant', 500, 3, '1614fa7e00473c3b', 0, {'n': 3, 'dist': 'constant', 'spread': 1.0}),
    ('workers:n=3,dist=constant', 2000, 11, '5831e84741ddba4c', 0, {'n': 3, 'dist': 'constant', 'spread': 1.0}),
    ('workers:n=4,dist=constant,spread=10', 1, 0, 'fc62429c3e69001d', 0, {'n': 4, 'dist': 'constant', 'spread': 10.0}),
    ('workers:n=4,dist=constant,spread=10', 500, 3, 'ed7793aaf4eec0cd', 0, {'n': 4, 'dist': 'constant', 'spread': 10.0}),
    ('workers:n=4,dist=constant,spread=10', 2000, 11, '855e535ea15c3c9c', 0, {'n': 4, 'dist': 'constant', 'spread': 10.0}),
    ('workers:n=5,dist=pareto,alpha=1.7,spread=20', 1, 0, '8e8b44d712490f0b', 0, {'n': 5, 'dist': 'pareto', 'spread': 20.0, 'alpha': 1.7}),
    ('workers:n=5,dist=pareto,alpha=1.7,spread=20', 500, 3, '569a377d93e0b664', 0, {'n': 5, 'dist': 'pareto', 'spread': 20.0, 'alpha': 1.7}),
    ('workers:n=5,dist=pareto,alpha=1.7,spread=20', 2000, 11, '2bf55bb3fa69c606', 0, {'n': 5, 'dist': 'pareto', 'spread': 20.0, 'alpha': 1.7}),
    ('workers:n=6,dist=lognormal,s=0.5,spread=3', 1, 0, '3fd3477c1137b5f8', 0, {'n': 6, 'dist': 'lognormal', 'spread': 3.0, 's': 0.5}),
    ('workers:n=6,dist=lognormal,s=0.5,spread=3', 500, 3, '3443c68352de5d31', 0, {'n': 6, 'dist': 'lognormal', 'spread': 3.0, 's': 0.5}),
    ('workers:n=6,dist=lognormal,s=0.5,spread=3', 2000, 11, 'be2ef3dc81f1f098', 0, {'n': 6, 'dist': 'lognormal', 'spread': 3.0, 's': 0.5}),
    ('workers:n=2,spread=5', 1, 0, '2dab914de1498b66', 0, {'n': 2, 'dist': 'exponential', 'spread': 5.0}),
    ('workers:n=2,spread=5', 500, 3, 'b8a5fe44bcb3ed03', 0, {'n': 2, 'dist': 'exponential', 'spread': 5.0}),
    ('workers:n=2,spread=5', 2000, 11, '72ed65e6570f4991', 0, {'n': 2, 'dist': 'exponential', 'spread': 5.0}),
]


@pytest.mark.parametrize("spec,T,seed,digest,clipped,params", WORKERS_BEFORE)
def test_workers_view_identical_to_before(spec, T, seed, digest, clipped, params):
    s = delays.make(spec, T, seed=seed)
    assert hashlib.sha256(s.delays.tobytes() + s.wall_clock.tobytes()).hexdigest()[:16] == digest
    assert (s.clipped, s.params) == (clipped, params)


@pytest.mark.parametrize("spec", ["random:eta=exponential", "random:eta=pareto,alpha=1.5", "random:eta=lognormal,s=2",
                                  "random:eta=logcauchy,s=0.5"])
def test_draws_in_chunks_continue_the_stream(spec):
    cm = compute.make(spec)
    a = cm.draws(np.random.default_rng(5), 1000)
    rng = np.random.default_rng(5)
    b = np.concatenate([cm.draws(rng, 1), cm.draws(rng, 333), cm.draws(rng, 666)])
    assert np.array_equal(a, b)


def test_fixed_times_and_laws_by_hand():
    cm = compute.make("fixed:times=1;1;2;10")
    assert cm.n == 4 and [cm.duration(i, 0, 0, 0.0, np.ones(1)) for i in range(4)] == [1.0, 1.0, 2.0, 10.0]
    cm = compute.make("fixed:n=4,law=sqrt,scale=2")
    assert cm.base_times() == pytest.approx([2, 2 * math.sqrt(2), 2 * math.sqrt(3), 4])
    assert compute.make("fixed:n=3,law=linear").base_times().tolist() == [1.0, 2.0, 3.0]
    assert compute.make("fixed:n=3,law=log,spread=100").base_times() == pytest.approx([1, 10, 100])


def test_random_adds_eta():
    cm = compute.make("random:times=1;3,eta=exponential,mean=2")
    z = cm.draws(np.random.default_rng(0), 4)
    assert cm.duration(1, 2, 0, 0.0, z) == 3.0 + z[2]
    assert z == pytest.approx(np.random.default_rng(0).exponential(1.0, 4) * 2)


def test_universal_by_hand():
    # periodic: tau = 2 (power 1/2), period 10, first half slowed by factor 4 (power 1/8)
    cm = compute.make("universal:times=2,period=10,duty=0.5,factor=4")
    # from s = 0: 5 s at 1/8 = 0.625 work, then 0.375 at 1/2 -> 0.75 s: finish 5.75
    assert cm.duration(0, 0, 0, 0.0, np.ones(1)) == pytest.approx(5.75)
    # from s = 9: 1 s at 1/2 = 0.5, then 0.5 at 1/8 -> 4 s: finish 14 (duration 5)
    assert cm.duration(0, 0, 0, 9.0, np.ones(1)) == pytest.approx(5.0)
    # outage of worker 1 on [1, 4): tau = 2: from s = 0, 1 s = 0.5 work, off 3 s, 1 s more: finish 5
    cm = compute.make("universal:times=1;2,outage_worker=1,outage_start=1,outage_end=4")
    assert cm.duration(1, 0, 0, 0.0, np.ones(1)) == pytest.approx(5.0)
    assert cm.duration(0, 0, 0, 0.0, np.ones(1)) == pytest.approx(1.0)
    assert cm.duration(1, 0, 0, 4.0, np.ones(1)) == pytest.approx(2.0)


def test_trace_model_reads_async_json(tmp_path):
    steps = [{"worker": "b", "compute_s": 0.5}, {"worker": "a", "compute_s": 0.25}, {"worker": "b", "compute_s": 0.75}]
    (tmp_path / "async.json").write_text(json.dumps({"steps_detail": steps}))
    cm = compute.make(f'trace:path="{tmp_path}"')
    assert cm.n == 2 and cm.params["workers"] == ["a", "b"]
    z = np.ones(1)
    assert [cm.duration(1, 0, k, 0.0, z) for k in range(3)] == [0.5, 0.75, 0.5]  # cycled
    assert cm.duration(0, 0, 5, 0.0, z) == 0.25


@pytest.mark.parametrize("spec,words", [
    ("nope", "unknown compute model 'nope'"),
    ("fixed:times=1;-2", "parameter 'times' of compute model 'fixed' must be"),
    ("fixed:times=1;2,n=3", "give either 'times' or n/law"),
    ("fixed:n=0", "parameter 'n' of compute model 'fixed' must be"),
    ("fixed:law=cube", "parameter 'law' of compute model 'fixed' must be one of"),
    ("random:eta=exponential,alpha=2", "parameter 'alpha' of compute model 'random' only applies"),
    ("random:foo=1", "unknown parameter 'foo'"),
    ("universal:times=1", "needs exactly one of period > 0"),
    ("universal:times=1,outage_worker=3,outage_end=2", "must be an integer in [-1, 0]"),
    ("universal:times=1,outage_worker=0,outage_start=2,outage_end=1", "must be > outage_start"),
    ("trace", "requires parameter 'path'"),
    ("trace:path=/nonexistent/async.json", "cannot read compute trace"),
])
def test_bad_specs_one_line(spec, words):
    with pytest.raises(ValueError) as exc:
        compute.make(spec)
    assert words in str(exc.value) and "\n" not in str(exc.value)

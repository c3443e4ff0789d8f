"""Test configuration: Hypothesis profiles.

Profiles (selected by the environment variable ``PICKY_HYPOTHESIS_PROFILE``):

- ``ci`` (default): derandomized, no example database, no deadline -- the same examples on every
  run and every machine, as in SciPy's and NumPy's CI profiles.
- ``dev``: random examples, local database, for everyday local work.
- ``thorough``: many more examples, for a local hunt before a release.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile(
    "thorough", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PICKY_HYPOTHESIS_PROFILE", "ci"))

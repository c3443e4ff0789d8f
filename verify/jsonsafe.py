"""Standard JSON for reports and CLI output: one helper (:func:`plain_json`).

Policy: numpy scalars and arrays become Python numbers and lists, mapping keys become strings, and
non-finite floats (NaN, +-inf) become ``null`` -- written with ``allow_nan=False``, so that no
``NaN``/``Infinity`` token (which standard JSON parsers reject) is ever emitted. Where a ``null``
needs a reason, the record carries it in a field of its own (e.g. ``divergence_reason``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plain_json"]


def plain_json(x: Any) -> Any:
    """JSON-ready copy of ``x`` under the policy above."""
    if isinstance(x, dict):
        return {str(k): plain_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain_json(v) for v in x]
    if isinstance(x, np.ndarray):
        return [plain_json(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x

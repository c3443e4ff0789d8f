"""Recorded real delay traces shipped with the package (``verify/data/async_traces/``).

Each is the realised delay sequence of a real asynchronous run (``picky async-run``: Dask worker
processes, arrival order, see :mod:`verify.asyncrun`), recorded by ``python tools/record_async_traces.py``
on the machine named in its parameters (workers, speed model, steps per second, when). ``picky verify``
checks Theorem D' on them (claim 1; the runs then also feed claims 3, 4 and 9).
"""
from __future__ import annotations

from pathlib import Path

from .delays import DelaySequence, load_trace

__all__ = ["ASYNC_TRACES", "async_traces"]

ASYNC_TRACES = Path(__file__).resolve().parent / "data" / "async_traces"


def async_traces() -> dict[str, DelaySequence]:
    """name -> the recorded sequence (validated), in name order; empty if none are recorded."""
    import json

    out = {}
    for f in sorted(ASYNC_TRACES.glob("*.json")):
        data = json.loads(f.read_text())
        load_trace(f)  # validates (causality) and names the file on error
        out[f.stem] = DelaySequence.from_json_dict(data)
    return out

"""Recorded real delay traces shipped with the package (``verify/data/async_traces/*.json.gz``: gzipped
:meth:`verify.models.delays.DelaySequence.to_json_dict`, with each step's arrival time and task).

Each is the realised delay sequence of a real asynchronous run (``picky async-run``: Dask worker
processes, arrival order, see :mod:`verify.runtime.async_server`), recorded by ``python tools/record_async_traces.py``
on the machine named in its parameters (workers, speed model, steps per second, when). ``picky verify``
checks Theorem D' on them (claim 1; the runs then also feed claims 3, 4 and 9).
"""
from __future__ import annotations

from pathlib import Path

from verify.models.delays import DelaySequence, _read_json_trace, load_trace

__all__ = ["ASYNC_TRACES", "async_traces"]

ASYNC_TRACES = Path(__file__).resolve().parents[1] / "data" / "async_traces"


def async_traces() -> dict[str, DelaySequence]:
    """name -> the recorded sequence (validated), in name order; empty if none are recorded."""
    out = {}
    for f in sorted(ASYNC_TRACES.glob("*.json.gz")):
        load_trace(f)  # validates (causality) and names the file on error
        out[f.name[: -len(".json.gz")]] = DelaySequence.from_json_dict(_read_json_trace(f))
    return out

"""A directory of runs: every lane's record, each distinct delay sequence stored once, a header.

Layout (written through :class:`verify.io.output.OutputDir`, so it appears complete or not at all)::

    run.json             header: schema, command, parameters, environment, "sequences" (one entry
                         per distinct sequence: id, file, model, params, seed, clipped, adaptive, T,
                         tau_avg, tau_max) and "lanes" (lane, algorithm, seed, sequence id, file)
    delays/<id>.npz      one compressed array per distinct sequence ("delays", and "wall_clock", "tasks"
                         for the worker pool), in the smallest integer type that holds it
    runs/lane-XXXX.json  RunResult.to_json_dict(delays_ref=id): the record without its sequence
    trace.csv            with a trace: lane, algorithm, seed, step, grad_norm, f (long format)
    MANIFEST.json        every file with its size and SHA-256 (verify.io.output)

A sequence's id is the first 16 hex digits of the SHA-256 of its delays, wall-clock times and
metadata, so equal sequences are stored once however many lanes share them. :func:`load` checks
the manifest first, then that the header and the lanes agree (count, algorithm, seed, sequence,
eps); any disagreement is a ValueError naming the file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from verify.io import jsonsafe
from verify.models.delays import DelaySequence
from verify.io.output import OutputDir, read_manifest, test_pause
from verify.io.records import RunResult

__all__ = ["write", "load", "sequence_id", "HEADER", "trace_rows", "trace_csv"]

HEADER = "run.json"


def _smallest_int(a: np.ndarray) -> np.ndarray:
    hi = int(a.max()) if a.size else 0
    for dt in (np.uint8, np.uint16, np.uint32):
        if hi <= np.iinfo(dt).max:
            return a.astype(dt)
    return a.astype(np.int64)


def _meta(seq: DelaySequence) -> dict[str, Any]:
    return {"model": seq.model, "params": jsonsafe.plain_json(dict(seq.params)), "seed": seq.seed,
            "clipped": seq.clipped, "adaptive": seq.adaptive, "T": len(seq)}


def sequence_id(seq: DelaySequence) -> str:
    h = hashlib.sha256(np.ascontiguousarray(seq.delays, dtype=np.int64).tobytes())
    if seq.wall_clock is not None:
        h.update(np.ascontiguousarray(seq.wall_clock, dtype=np.float64).tobytes())
    if seq.tasks is not None:
        h.update(b"tasks" + np.ascontiguousarray(seq.tasks, dtype=np.int64).tobytes())
    h.update(json.dumps(_meta(seq), sort_keys=True, allow_nan=False).encode())
    return h.hexdigest()[:16]


def trace_rows(results: Iterable[RunResult]) -> list[dict[str, Any]]:
    """Every lane's trace in long format: lane, algorithm, seed, step, grad_norm, f."""
    rows = []
    for i, r in enumerate(results):
        if r.trace_steps is None:
            continue
        for s, g, f in zip(r.trace_steps.tolist(), r.trace_grad_norm.tolist(), r.trace_f.tolist()):
            rows.append({"lane": i, "algorithm": r.algorithm, "seed": r.seed, "step": s, "grad_norm": g, "f": f})
    return rows


def trace_csv(results: Iterable[RunResult]) -> str:
    """:func:`trace_rows` as CSV text."""
    rows = trace_rows(results)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["lane", "algorithm", "seed", "step", "grad_norm", "f"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write(out: OutputDir, results: list[RunResult], header: dict[str, Any]) -> dict[str, Any]:
    """Write the records into ``out`` (not committed: the caller commits); returns the header."""
    seqs: dict[str, dict[str, Any]] = {}
    lanes = []
    by_obj: dict[int, str] = {}
    for i, r in enumerate(results):
        sid = by_obj.get(id(r.delays))
        if sid is None:
            sid = by_obj[id(r.delays)] = sequence_id(r.delays)
        if sid not in seqs:
            arrays = {"delays": _smallest_int(np.asarray(r.delays.delays))}
            if r.delays.wall_clock is not None:
                arrays["wall_clock"] = np.asarray(r.delays.wall_clock, dtype=np.float64)
            if r.delays.tasks is not None:
                arrays["tasks"] = _smallest_int(np.asarray(r.delays.tasks))
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            out.write_bytes(f"delays/{sid}.npz", buf.getvalue())
            st = r.delays.stats()
            seqs[sid] = {"id": sid, "file": f"delays/{sid}.npz", **_meta(r.delays), "tau_avg": st.tau_avg,
                         "tau_max": st.tau_max}
        rel = f"runs/lane-{i:04d}.json"
        out.write_text(rel, json.dumps(r.to_json_dict(delays_ref=sid), allow_nan=False))
        if i == 0:
            test_pause("write")
        lanes.append({"lane": i, "algorithm": r.algorithm, "seed": r.seed, "sequence": sid, "file": rel})
    if any(r.trace_steps is not None for r in results):
        out.write_text("trace.csv", trace_csv(results))
    head = {**header, "sequences": list(seqs.values()), "lanes": lanes}
    out.write_json(HEADER, head)
    return head


def _read_json(path: Path, flag: str) -> Any:
    try:
        return jsonsafe.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{flag}: cannot read {str(path)!r}: {exc}") from None


def _load_sequence(d: Path, entry: dict[str, Any], flag: str) -> DelaySequence:
    path = d / str(entry.get("file"))
    try:
        with np.load(path, allow_pickle=False) as z:
            delays = z["delays"].astype(np.int64)
            wall = z["wall_clock"] if "wall_clock" in z.files else None
            tasks = z["tasks"].astype(np.int64) if "tasks" in z.files else None
        seq = DelaySequence(delays, entry["model"], entry.get("params") or {}, entry.get("seed"), wall,
                            entry.get("clipped", 0), entry.get("adaptive", False), tasks)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{flag}: cannot read {str(path)!r}: {exc}") from None
    if len(seq) != entry.get("T") or sequence_id(seq) != entry.get("id"):
        raise ValueError(f"{flag}: {str(path)!r} does not hold the sequence {entry.get('id')!r} its header describes")
    return seq


def load(path: str | Path, schemas: tuple[str, ...], flag: str = "--replay"
         ) -> tuple[dict[str, Any], dict[str, DelaySequence], list[RunResult]]:
    """(header, sequences by id, lanes) of a directory written by :func:`write`, after checking its
    manifest and that the header and the lanes agree."""
    d = Path(path)
    if not d.is_dir():
        raise ValueError(f"{flag}: no such directory {str(path)!r} (expected a directory written by --save)")
    read_manifest(d, flag)
    head = _read_json(d / HEADER, flag)
    where = str(d / HEADER)
    if not isinstance(head, dict) or head.get("schema") not in schemas:
        raise ValueError(f"{flag}: {where!r} is not a {schemas[-1]} record")
    if not isinstance(head.get("sequences"), list) or not isinstance(head.get("lanes"), list):
        raise ValueError(f"{flag}: {where!r} lacks 'sequences' or 'lanes'")
    seqs = {e["id"]: _load_sequence(d, e, flag) for e in head["sequences"] if isinstance(e, dict) and "id" in e}
    runs = []
    for entry in head["lanes"]:
        f = d / str(entry.get("file"))
        data = _read_json(f, flag)
        try:
            r = RunResult.from_json_dict(data, seqs)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{flag}: cannot read {str(f)!r}: {exc}") from None
        ref = data["delays"].get("ref")
        for key, have in (("algorithm", r.algorithm), ("seed", r.seed), ("sequence", ref)):
            if entry.get(key) != have:
                raise ValueError(f"{flag}: {where!r} says lane {entry.get('lane')} has {key} {entry.get(key)!r}, "
                                 f"but {str(f)!r} has {have!r}")
        runs.append(r)
    return head, seqs, runs

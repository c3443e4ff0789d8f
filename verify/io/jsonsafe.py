"""Standard JSON everywhere: the one policy and its helpers.

Policy (every JSON document the package writes: records, run headers, manifests, reports, CLI
``--json`` output):

- numpy scalars and arrays become Python numbers and lists; mapping keys become strings;
- a non-finite float (NaN, +inf, -inf) is written as ``null`` -- documents are dumped with
  ``allow_nan=False``, so no ``NaN``/``Infinity`` token (which standard parsers reject) is emitted;
- the reason is kept: :func:`encode` adds to a top-level object a field ``"nonfinite"`` mapping the
  JSON Pointer (RFC 6901) of every such ``null`` to ``"nan"``, ``"inf"`` or ``"-inf"``, and
  :func:`decode` puts the values back, so records round-trip exactly. Where a ``null`` has a reason
  of its own, the record also says it in words (e.g. ``divergence_reason``).

:func:`plain_json` is the conversion alone (``null`` without the ``nonfinite`` field), for output
whose readers only need standard JSON; :func:`dumps` = :func:`encode` + ``json.dumps``.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["plain_json", "encode", "decode", "dumps", "loads", "NONFINITE"]

#: the field that lists the non-finite values of a document
NONFINITE = "nonfinite"
_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _name(x: float) -> str:
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _convert(x: Any, path: str, found: dict[str, str] | None) -> Any:
    if isinstance(x, dict):
        return {str(k): _convert(v, f"{path}/{_escape(str(k))}", found) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_convert(v, f"{path}/{i}", found) for i, v in enumerate(x)]
    if isinstance(x, np.ndarray):
        return _convert(x.tolist(), path, found)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        if found is not None:
            found[path] = _name(x)
        return None
    return x


def plain_json(x: Any) -> Any:
    """JSON-ready copy of ``x``: numpy -> Python, keys -> str, non-finite floats -> ``None``."""
    return _convert(x, "", None)


def encode(x: Any) -> Any:
    """:func:`plain_json`, plus (for a mapping with non-finite values) the ``"nonfinite"`` field."""
    found: dict[str, str] = {}
    out = _convert(x, "", found)
    if found:
        if not isinstance(out, dict):
            raise ValueError("a document with non-finite values must be a JSON object (to carry 'nonfinite')")
        if NONFINITE in out:
            raise ValueError(f"the document already has a field {NONFINITE!r}")
        out[NONFINITE] = found
    return out


def decode(doc: Any) -> Any:
    """Inverse of :func:`encode`: the ``"nonfinite"`` field removed and its values put back."""
    if not isinstance(doc, dict) or NONFINITE not in doc:
        return doc
    marks = doc.pop(NONFINITE)
    if not isinstance(marks, dict):
        raise ValueError(f"field {NONFINITE!r} must map JSON Pointers to 'nan', 'inf' or '-inf'; got {marks!r}")
    for pointer, name in marks.items():
        if name not in _NAMES or not isinstance(pointer, str) or not pointer.startswith("/"):
            raise ValueError(f"field {NONFINITE!r}: bad entry {pointer!r}: {name!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
        node: Any = doc
        try:
            for p in parts[:-1]:
                node = node[int(p)] if isinstance(node, list) else node[p]
            last = parts[-1]
            key: Any = int(last) if isinstance(node, list) else last
            if node[key] is not None:
                raise ValueError(f"field {NONFINITE!r}: {pointer!r} is not null in the document")
            node[key] = _NAMES[name]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"field {NONFINITE!r}: cannot apply {pointer!r}: {exc}") from None
    return doc


def dumps(x: Any, **kw: Any) -> str:
    """``json.dumps(encode(x), allow_nan=False, **kw)``."""
    return json.dumps(encode(x), allow_nan=False, **kw)


def loads(text: str) -> Any:
    """``decode(json.loads(text))``."""
    return decode(json.loads(text))

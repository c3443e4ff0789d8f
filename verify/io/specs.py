"""The one spec grammar: how a named, parameterised thing is written on a command line.

Problems (``--problem``), noise models (``--noise``), delay models (``--delays``), adversaries
(``--adversary``) and sequence programs share it::

    spec   := name [ ":" param ( "," param )* ]
    param  := key "=" value
    value  := quoted | bare
    quoted := '"' ( any character but '"' and '\\', or '\\"', '\\\\' )* '"'   (or the same with ')
    bare   := any characters but ',' (may contain ':' and '='; surrounding spaces are dropped)

Names are case-insensitive (stored lower-case). A bare value is read as a bool (``true``/``false``,
``yes``/``no``, ``on``/``off``), an int, a float, a list of numbers separated by ``;``
(``spectrum=1;0.5;0.25``), or else kept as a string; a quoted value is always the string between the
quotes, which is how a path holding a comma or a quote is written:
``replay:path="runs/a,b.npy"``. Only the syntax is checked here; each registry checks names, types
and ranges (:class:`verify.params.Param`). :func:`format_spec` writes a spec that parses back to the
same name and parameters.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

__all__ = ["parse_spec", "format_spec", "format_value"]

_INT_RE = re.compile(r"[+-]?\d+\Z")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NEEDS_QUOTES = re.compile(r"""[,"'\\]|^\s|\s$""")


def _bare(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in _BOOLS:
        return _BOOLS[low]
    if _INT_RE.match(t):
        return int(t)
    try:
        return float(t)
    except ValueError:
        pass
    if ";" in t:
        parts = [p.strip() for p in t.split(";")]
        try:
            return [float(p) for p in parts]
        except ValueError:
            return t
    return t


def _error(spec: str, what: str) -> ValueError:
    return ValueError(f"spec {spec!r}: {what}; expected 'name' or 'name:key=value,...' (quote a value holding "
                      "a comma: key=\"a,b\")")


def parse_spec(spec: str, *, what: str = "name") -> tuple[str, dict[str, Any]]:
    """``"name:k1=v1,k2=v2"`` -> ``("name", {"k1": v1, "k2": v2})`` (grammar above); ValueError
    naming the spec and the offending part."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be a non-empty string like 'name' or 'name:key=value,...'; got {spec!r}")
    head, colon, body = spec.strip().partition(":")
    name = head.strip().lower()
    if not name:
        raise _error(spec, f"no {what}")
    params: dict[str, Any] = {}
    i, n = 0, len(body)
    if colon and not body.strip():
        raise _error(spec, "nothing after ':'")
    while colon and i < n:
        eq = body.find("=", i)
        comma = body.find(",", i)
        if eq < 0 or (0 <= comma < eq):
            item = body[i:comma if comma >= 0 else n].strip()
            raise _error(spec, f"expected key=value, got {item!r}")
        key = body[i:eq].strip()
        if not key:
            raise _error(spec, f"a parameter has no name before '=' (at {body[i:].strip()!r})")
        j = eq + 1
        while j < n and body[j] == " ":
            j += 1
        if j < n and body[j] in "\"'":
            q, j, chars = body[j], j + 1, []
            while j < n and body[j] != q:
                if body[j] == "\\" and j + 1 < n and body[j + 1] in (q, "\\"):
                    j += 1
                chars.append(body[j])
                j += 1
            if j >= n:
                raise _error(spec, f"unterminated quote in the value of {key!r}")
            value: Any = "".join(chars)
            j += 1
            rest = body.find(",", j)
            tail = body[j:rest if rest >= 0 else n]
            if tail.strip():
                raise _error(spec, f"unexpected {tail.strip()!r} after the quoted value of {key!r}")
            i = n if rest < 0 else rest + 1
        else:
            end = body.find(",", j)
            end = n if end < 0 else end
            text = body[j:end]
            if not text.strip():
                raise _error(spec, f"parameter {key!r} has no value")
            value = _bare(text)
            i = end + 1
            if end < n and not body[i:].strip():
                raise _error(spec, "a trailing ','")
        if key in params:
            raise _error(spec, f"parameter {key!r} given twice")
        params[key] = value
    return name, params


def format_value(v: Any) -> str:
    """One value as :func:`parse_spec` reads it back (strings quoted when they must be)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)) or hasattr(v, "tolist") and not isinstance(v, (int, float)):
        seq = v.tolist() if hasattr(v, "tolist") else v
        seq = seq if isinstance(seq, list) else [seq]
        return ";".join(repr(float(x)) for x in seq)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    if isinstance(v, str):
        if _NEEDS_QUOTES.search(v) or not isinstance(_bare(v), str) or v == "":
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return v
    return str(v)


def format_spec(name: str, params: Mapping[str, Any] | None = None) -> str:
    """The spec string of ``name`` with ``params`` (inverse of :func:`parse_spec`)."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={format_value(v)}" for k, v in params.items())

"""Every ```python block of README.md runs (issues 21 and 22: the README's snippets must not rot), in
order, each in a fresh namespace, from a temporary working directory. A line whose comment starts with a
number (``theory.step_size(...)   # 1/64``) is also checked: the expression equals that number."""
from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every fenced block whose info string is ``python``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, body = i + 2, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append((start, "\n".join(body) + "\n"))
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text())
_CLAIM = re.compile(r"^(?P<expr>[^#]+?)\s+#\s*(?P<num>[0-9][0-9_]*(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?(?:/[0-9]+)?)(?:\s|$)")


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 2, [b[0] for b in BLOCKS]  # bounds, simulate


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"README.md:{ln}" for ln, _ in BLOCKS])
def test_readme_block_runs(line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__readme__"}
    exec(compile(code, f"README.md:{line}", "exec"), ns)
    checked = 0
    for k, text in enumerate(code.splitlines()):
        m = _CLAIM.match(text)
        if not m:
            continue
        got = eval(compile(m["expr"], f"README.md:{line + k}", "eval"), ns)
        want = float(Fraction(m["num"].replace("_", "")))
        assert math.isclose(float(got), want, rel_tol=1e-12), (text, got)
        checked += 1
    if "theory.iterations(" in code:
        assert checked >= 2  # the bounds block states its numbers: they are checked

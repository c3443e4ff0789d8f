"""Ctrl-C at any instant of a command that writes (issue 21): SIGINT to real ``picky`` subprocesses at
0.1, 0.5, 1.5 and 4 s after their start (imports, checks, compilation, the run) and once the run is
under way (a marker on stderr), for ``simulate --save``, ``verify --out``, ``figures --out`` and
``sweep``. Every one must end with exit 130 and one line on stderr (no traceback), the destination
absent or complete, and no temporary sibling left. Each command takes well over 4 s here, so every
signal lands while it runs (a run that finished first ends with exit 0, failing the test: after a
finished command the program ignores Ctrl-C while the interpreter shuts down).

"Start" is the moment the interpreter begins to import ``verify.cli`` (it then creates the file
``PICKY_TEST_STARTED`` names): before it, the interpreter starts up (site, ~20 ms on an idle
machine, more than 0.1 s under a load of 10), and a SIGINT there is Python's own, outside the
package's reach. Everything after it -- the command line's imports included -- is the package's.

The instants of one command run concurrently (a few dozen seconds in all); one variant repeats
simulate's with a CPU-bound busy loop running beside it. The writing and renaming instants are in
test_safety.py (``PICKY_TEST_PAUSE``).
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.io.output import read_manifest

from cli_helpers import PICKY, SAFETY_TIMEOUT, subprocess_env, temporaries, wait_for

INSTANTS = (0.1, 0.5, 1.5, 4.0)

SWEEP_TOML = """[sweep]
algorithms = ["picky", "delayed-sgd"]
delays = ["constant:tau=3", "straggler"]
eps = [0.5, 0.2]
steps = 2000000  # about 5 s a cell: the run outlasts the 4 s instant on an idle machine (CI)
seeds = 4
"""


def _argv(command: str, root: Path) -> tuple[list[str], Path]:
    """The command line (long enough to outlast every instant) and its destination."""
    dest = root / "out"
    if command == "simulate":
        return ["simulate", "--algorithm", "picky,delayed-sgd", "--delays", "pareto:alpha=1.5,scale=3", "--eps", "1e-9",
                "--steps", "5000000", "--seeds", "2", "--save", str(dest)], dest
    if command == "verify":
        # every claim (quick: half a minute), so that the 4 s instant still lands mid-run on an idle machine;
        # a process gets SIGINT by 4 s whatever it runs, so this costs no more than one cheap claim
        return ["verify", "--profile", "quick", "--out", str(dest), "--no-progress"], dest
    if command == "figures":
        return ["figures", "--only", "headline", "threshold", "--profile", "quick", "--out", str(dest), "--no-progress"], dest
    if command == "sweep":
        f = root / "tiny.toml"
        f.write_text(SWEEP_TOML)
        return ["sweep", str(f), "--out", str(dest), "--processes", "1"], dest
    raise AssertionError(command)


def _start(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([*PICKY, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=subprocess_env(PICKY_TEST_STARTED=str(cwd / "started")))


def _started(proc: subprocess.Popen, cwd: Path) -> float:
    """The moment the import of verify.cli began (a marker file, polled; not a time budget)."""
    t0 = time.monotonic()
    while not (cwd / "started").exists():
        assert proc.poll() is None, f"picky ended before verify.cli was imported: {proc.communicate()}"
        assert time.monotonic() - t0 < SAFETY_TIMEOUT
        time.sleep(0.005)
    (cwd / "started").unlink()
    return time.monotonic()


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=SAFETY_TIMEOUT)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hang
        proc.kill()
        proc.communicate()
        pytest.fail("picky did not stop after SIGINT")
    return proc.returncode, err.decode(errors="replace")


def _check(command: str, code: int, err: str, root: Path, dest: Path, where: str) -> None:
    lines = [ln.split("\r")[-1] for ln in err.strip().splitlines() if ln.split("\r")[-1].strip()]
    assert code == 130, f"{command} at {where}: exit {code}; stderr: {err!r}"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, f"{command} at {where}: {err!r}"
    # the interrupt is one line, the last; progress lines that came before it are the run's own
    # (`picky verify` prints one per claim on stderr: issue 21), never an interrupt or error message
    assert lines and lines[-1].startswith(f"picky {command}: interrupted"), f"{command} at {where}: {err!r}"
    assert not any("interrupted" in ln or "error" in ln for ln in lines[:-1]), f"{command} at {where}: {err!r}"
    assert all(ln.startswith(f"picky {command}: ") for ln in lines), f"{command} at {where}: {err!r}"
    assert temporaries(root) == [], f"{command} at {where}: left {temporaries(root)}"
    if command == "sweep":  # finished cells are kept by design; each one complete
        for cell in sorted((dest / "cells").glob("*")) if dest.exists() else []:
            read_manifest(cell)
    elif dest.exists():
        read_manifest(dest)  # complete, or absent


def _at_instants(command: str, tmp_path: Path) -> None:
    """One process per instant, started together; SIGINT to each at its instant after its start."""
    runs = []
    for t in INSTANTS:
        root = tmp_path / f"at-{t}"
        root.mkdir()
        argv, dest = _argv(command, root)
        runs.append((t, root, dest, _start(argv, root)))
    runs = [(t, root, dest, proc, _started(proc, root)) for t, root, dest, proc in runs]
    for t, root, dest, proc, t0 in sorted(runs, key=lambda r: r[0]):
        time.sleep(max(0.0, t0 + t - time.monotonic()))
        assert proc.poll() is None, f"{command} ended before the signal at {t} s: the test would prove nothing"
        proc.send_signal(signal.SIGINT)
    for t, root, dest, proc, _ in runs:
        code, err = _finish(proc)
        _check(command, code, err, root, dest, f"{t} s")


@pytest.mark.parametrize("command", ["simulate", "verify", "figures", "sweep"])
def test_ctrl_c_at_every_instant_is_one_line_exit_130_and_nothing_half_written(command, tmp_path):
    _at_instants(command, tmp_path)


@pytest.mark.parametrize("command, marker", [("simulate", "engine 4 lanes"), ("sweep", "[1/")])
def test_ctrl_c_once_the_run_is_under_way(command, marker, tmp_path):
    argv, dest = _argv(command, tmp_path)
    proc = _start([*argv, "--progress"], tmp_path)
    before = wait_for(proc, marker)  # a marker, not a time
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    err = before + err
    lines = [ln.split("\r")[-1] for ln in err.strip().splitlines() if ln.split("\r")[-1].strip()]
    assert code == 130 and "Traceback" not in err, err
    assert lines[-1].startswith(f"picky {command}: interrupted"), err
    assert not any("interrupted" in ln for ln in lines[:-1]), err
    assert temporaries(tmp_path) == []
    if command == "simulate":
        assert not dest.exists()
    else:
        assert [read_manifest(c) for c in (dest / "cells").glob("*")]  # at least one finished cell, complete


def test_ctrl_c_at_every_instant_beside_a_busy_loop(tmp_path):
    """The same with a second CPU-bound job on the machine (the flagged failure mode: double load)."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        _at_instants("simulate", tmp_path)
    finally:
        busy.kill()
        busy.wait()

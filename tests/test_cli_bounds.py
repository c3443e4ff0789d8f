"""``picky bounds``: values against hand computation, stable JSON keys, clear errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from verify.cli import main

KEYS = {
    "id", "title", "status", "kind", "convention", "source_convention", "applicable", "missing", "iterations",
    "steps", "restarts", "iterations_with_restarts", "step_size", "threshold", "success_probability", "constant",
    "delay_parameters", "notes", "out_of_range",
}


def run_json(capsys, *args):
    assert main(["bounds", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_matches_hand_computation(capsys):
    out = run_json(capsys, "--beta", "2", "--F", "3", "--sigma", "1", "--eps", "0.5", "--tau-avg", "1", "--tau-max", "9", "--delta", "0.1")
    assert out["schema"] == "picky-bounds/2"
    by = {r["id"]: r for r in out["results"]}
    for r in out["results"]:
        assert set(r) == KEYS
    # hand: beta F/eps^2 = 24, beta F sigma^2/eps^4 = 96
    assert by["picky-explicit"]["iterations"] == pytest.approx(2048 * 24 + 128 * 96 + 8960 * 1 * 24)
    assert by["picky-explicit-sharp"]["iterations"] == pytest.approx(max(512 * 24 + 128 * 96, 8960 * 24))
    assert by["picky-explicit"]["step_size"] == pytest.approx(1 / 64)
    assert by["picky-explicit"]["threshold"] == pytest.approx(0.125)
    assert by["picky"]["iterations"] == pytest.approx(96 + 2 * 24)
    assert by["sgd"]["iterations"] == pytest.approx(4 * 24 + 32 * 96)
    assert by["delayed-sgd"]["iterations"] == pytest.approx(96 + 10 * 24)
    # ceil(log2(10)) = 4 restarts
    assert by["picky-explicit"]["restarts"] == 4
    assert by["picky-explicit"]["iterations_with_restarts"] == pytest.approx(4 * (2048 * 24 + 128 * 96 + 8960 * 24))
    assert by["picky"]["constant"]["status"] == "unconfirmed" and by["picky"]["constant"]["value"] == 1.0
    assert by["picky-explicit"]["status"] == "derived" and by["picky"]["status"] == "paper-rate-only"


def test_constants_convention_and_optional_results(capsys):
    out = run_json(capsys, "--beta", "2", "--F", "3", "--sigma", "0", "--eps", "0.25", "--convention", "squared",
                   "--tau-avg", "1", "--workers", "8", "--quantile", "0.5", "--tau-q", "3", "--constant", "picky=3")
    by = {r["id"]: r for r in out["results"]}
    # squared eps 0.25 = norm eps 0.5: picky = 3 * 6 * 2/0.25
    assert by["picky"]["iterations"] == pytest.approx(3 * 6 * 8)
    assert by["picky"]["constant"]["status"] == "user"
    assert by["delay-adaptive"]["delay_parameters"]["tau_C"] == "workers = 8"
    assert by["delay-adaptive"]["iterations"] == pytest.approx(6 * 9 * 4)
    assert by["quantile"]["iterations"] == pytest.approx(6 * 4 * 4 / 0.5)
    assert not by["delayed-sgd"]["applicable"] and by["delayed-sgd"]["missing"] == ["tau_max"]


def test_table_and_latex(capsys):
    assert main(["bounds", "--beta", "1", "--F", "1", "--sigma", "0", "--eps", "0.1", "--tau-avg", "2", "--latex"]) == 0
    text = capsys.readouterr().out
    assert "picky-explicit" in text and "1996800" in text and "needs --tau-max" in text
    assert r"\frac" in text


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--sigma", "-1"], "sigma must be a finite real in [0, inf); got -1.0"),
        (["--eps", "0"], "eps must be a finite real in (0, inf); got 0.0"),
        (["--eps", "nan"], "eps must be a finite real in (0, inf); got nan"),
        (["--beta", "inf"], "beta must be a finite real in (0, inf); got inf"),
        (["--delta", "1.5"], "delta must be a finite real in (0, 1); got 1.5"),
        (["--tau-avg", "5", "--tau-max", "2"], "tau_avg must be <= tau_max"),
        (["--constant", "nope=2"], "--constant: unknown result 'nope'"),
    ],
)
def test_bad_input_exit_2(capsys, args, needle):
    base = {"--beta": "1", "--F": "1", "--sigma": "0", "--eps": "0.1"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    if "--constant" in base:
        pass
    assert main(["bounds", *flat]) == 2
    assert needle in capsys.readouterr().err


def test_console_script_entry_point():
    # the module runs as a program (the installed `picky` script calls the same main)
    r = subprocess.run([sys.executable, "-m", "verify.cli", "bounds", "--beta", "1", "--F", "1", "--sigma", "0", "--eps", "0.1", "--json"],
                       capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["schema"] == "picky-bounds/2"


def test_values_beyond_float64_are_never_shown_as_inf_or_0(capsys):
    """Issue 21: at beta = F = sigma = 1e308, eps = 1e-308 the table said steps inf, step size 0, threshold 0,
    exit 0, with no word. Now the exact values, marked *, with a footnote; --json keeps the floats and adds
    out_of_range and a note. Hand values: Theorem D's 128 beta F sigma^2/eps^4 = 128e2464 (the dominant term);
    its step eps^2/(4 beta sigma^2) = 1e-616/4e924 = 2.5e-1541; its threshold eps/(2 beta) = 5e-617."""
    args = ["--beta", "1e308", "--F", "1e308", "--sigma", "1e308", "--eps", "1e-308", "--tau-avg", "1"]
    assert main(["bounds", *args]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("picky-explicit "))
    assert row.split()[3:6] == ["1.28e+2466*", "-", "2.5e-1541*"] and row.split()[6] == "5.0e-617*", row
    assert " inf " not in row and " 0 " not in row
    assert "* beyond float64's range" in out
    doc = run_json(capsys, *args)
    r = next(r for r in doc["results"] if r["id"] == "picky-explicit")
    assert r["out_of_range"] == {"iterations": "1.28e+2466", "step_size": "2.5e-1541", "threshold": "5.0e-617"}
    assert r["iterations"] is None and r["step_size"] == 0.0 and r["threshold"] == 0.0  # the floats, as the API
    assert "threshold = 5.0e-617 is beyond float64's range (returned 0.0)" in r["notes"]
    # ordinary values: no note
    doc = run_json(capsys, "--beta", "2", "--F", "3", "--sigma", "1", "--eps", "0.5", "--tau-avg", "1")
    assert all(r["out_of_range"] == {} and "float64" not in r["notes"] for r in doc["results"])


def test_worker_times_seconds_table_by_hand(capsys):
    """Fleet 1,1,2,10 at beta = F = eps = 1, sigma = 2 (tests/test_timing.py's hand values):
    T_homog = 2.8 at m* = 3, ASGD 40/13 at m = 4, minibatch 20, Picky (derived) 1025 at m = 1."""
    out = run_json(capsys, "--beta", "1", "--F", "1", "--sigma", "2", "--eps", "1", "--worker-times", "1,1,2,10")
    by = {r["id"]: r for r in out["time"]}
    assert out["parameters"]["worker_times"] == [1.0, 1.0, 2.0, 10.0]
    assert by["time-homog"]["seconds"] == pytest.approx(2.8) and by["time-homog"]["workers_used"] == 3
    assert by["time-asgd"]["seconds"] == pytest.approx(40 / 13) and by["time-asgd"]["workers_used"] == 4
    assert by["time-minibatch"]["seconds"] == pytest.approx(20.0)
    assert by["time-picky"]["seconds"] == pytest.approx(1025.0) and by["time-picky"]["status"] == "derived"
    assert by["time-picky"]["ratio_to_homog"] == pytest.approx(1025 / 2.8)
    assert main(["bounds", "--beta", "1", "--F", "1", "--sigma", "2", "--eps", "1", "--worker-times", "1,1,2,10"]) == 0
    text = capsys.readouterr().out
    assert "seconds to eps" in text and "m*" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("time-homog"))
    assert line.split()[3:5] == ["2.8", "3"]


@pytest.mark.parametrize("bad", ["1,x", "1,-2", "0", "1,,2", "inf"])
def test_worker_times_bad_input(capsys, bad):
    assert main(["bounds", "--beta", "1", "--F", "1", "--sigma", "2", "--eps", "1", "--worker-times", bad]) == 2
    err = capsys.readouterr().err
    assert f"--worker-times: must be a comma-separated list of finite times > 0" in err and repr(bad) in err

"""Sweeps (issue 14, first part): the grid, cached and resumable cells, and identical results on local
processes and on a real Dask LocalCluster (worker processes, TCP on 127.0.0.1), also when a worker is
killed mid-sweep."""
from __future__ import annotations

import os
import shutil
import signal

import pytest

from verify.runtime import simulation, sweeps
from verify.cli import main
from verify.runtime.sweeps import runner as sweep_run

SWEEP = {"sweep": {"name": "t", "algorithms": ["picky", "delayed-sgd"], "problems": ["logsum"], "dim": 3,
                   "delays": ["pareto:alpha=1.5,scale=3", "straggler"], "eps": [0.5, 0.3], "sigma": [0.0, 0.3],
                   "steps": 1500, "seeds": 3}}


def test_the_grid_is_the_product_of_the_lists():
    sw = sweeps.from_dict(SWEEP)
    assert len(sw.cells) == 2 * 2 * 2  # delays x eps x sigma
    assert len({c.key for c in sw.cells}) == 8
    assert sweeps.from_dict(SWEEP).cells[3].key == sw.cells[3].key  # keys are stable
    c = sw.cells[0]
    assert c.params["algorithms"] == ["picky", "delayed-sgd"] and c.params["seeds"] == 3
    # a cell is exactly a picky simulate run: the same lanes as simulation.build
    lanes = simulation.build(dict(c.params))
    assert len(lanes.seeds) == 6


@pytest.mark.parametrize("change, needle", [
    ({"bogus": 1}, "unknown key 'bogus' in [sweep]"),
    ({"steps": 0}, "sweep.steps must be an integer in [1, "),
    ({"eps": [0.5, -1]}, "sweep.eps must be a finite real in (0, inf); got -1"),
    ({"seeds": "3"}, "sweep.seeds must be an integer"),
    ({"delays": [3]}, "sweep.delays must be a spec string"),
    ({"eps": [0.5, 0.5]}, "the same cell twice"),
])
def test_bad_sweep_files_name_the_key(change, needle):
    with pytest.raises(ValueError) as exc:
        sweeps.from_dict({"sweep": {**SWEEP["sweep"], **change}})
    assert needle in str(exc.value)


def test_every_unknown_key_is_reported_at_once(tmp_path, capsys):
    """A file written from a wrong description (plural keys, a misspelt override, a stray table) is
    reported in one line naming every unknown key and the allowed ones (the old check named only the first)."""
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nalgorithms = ["picky"]\ndims = [10]\nnoises = ["gaussian"]\nsigmas = [0.0]\n'
                 'delays = ["constant:tau=3"]\neps = 0.5\nsteps = 100\nseeds = 1\n'
                 '[parameters]\netaa = 0.1\n[extra]\nx = 1\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "unknown keys 'dims', 'noises', 'sigmas' in [sweep] (allowed: problems, dim, noise, sigma, delays," in err
    assert "unknown key 'etaa' in [parameters] (allowed: eta, rho, tau_C, rule, R)" in err
    assert "unknown table [extra] (allowed: [sweep], [parameters], [rules])" in err
    assert not (tmp_path / "o").exists()
    # a misspelt required key: the unknown one and the missing one in the same line
    f.write_text('[sweep]\nalgorithms = ["picky"]\ndelay_models = ["constant:tau=3"]\neps = 0.5\nsteps = 100\n'
                 'seeds = 1\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "unknown key 'delay_models' in [sweep]" in err and "[sweep] needs delays" in err


def test_cli_errors_are_one_line(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text("[sweep]\nalgorithms = [\n")
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    assert f"sweep file {str(f)!r}" in capsys.readouterr().err
    f.write_text('[sweep]\nalgorithms = ["picky"]\ndelays = ["bogus"]\neps = 0.5\nsteps = 10\nseeds = 1\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "unknown delay model 'bogus'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep on local processes: the results every executor must reproduce."""
    out = tmp_path_factory.mktemp("ref")
    summary = sweeps.run(sweeps.from_dict(SWEEP), out, executor="processes", workers=2)
    assert summary["computed"] == 8 and summary["cached"] == 0
    return out, (out / "results.csv").read_bytes()


def test_results_are_long_format(reference):
    out, data = reference
    lines = data.decode().splitlines()
    assert lines[0] == "cell,problem,dim,noise,sigma,delays,delay_draw,eps,steps,algorithm,seed,metric,value"
    assert len(lines) == 1 + 8 * 6 * len(sweep_run.METRICS)


def test_resume_computes_only_the_missing_cells(reference, tmp_path):
    out, data = reference
    copy = tmp_path / "resume"
    shutil.copytree(out, copy)
    sw = sweeps.from_dict(SWEEP)
    for c in sw.cells[:3]:  # as if the sweep had been interrupted before these three
        shutil.rmtree(copy / "cells" / c.key)
    (copy / "results.csv").unlink()
    seen = []
    summary = sweeps.run(sw, copy, executor="processes", workers=2, on_cell=lambda c, how, *_: seen.append((c.key, how)))
    assert summary["computed"] == 3 and summary["cached"] == 5
    assert sorted(k for k, _ in seen) == sorted(c.key for c in sw.cells[:3])
    assert (copy / "results.csv").read_bytes() == data


def test_an_interrupted_sweep_resumes(tmp_path, reference):
    _, data = reference
    sw = sweeps.from_dict(SWEEP)
    out = tmp_path / "int"

    def stop(cell, how, done, total):
        if done == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sweeps.run(sw, out, executor="processes", workers=1, on_cell=stop)
    finished = [c for c in sw.cells if sweep_run.is_done(out, c.key)]
    assert 2 <= len(finished) < len(sw.cells)
    assert not [p for p in (out / "cells").iterdir() if p.name.startswith(".")]  # no half-written cell
    summary = sweeps.run(sw, out, executor="processes", workers=2)
    assert summary["cached"] == len(finished) and summary["computed"] == len(sw.cells) - len(finished)
    assert (out / "results.csv").read_bytes() == data


def test_local_cluster_gives_identical_results(tmp_path, reference):
    _, data = reference
    out = tmp_path / "dask"
    summary = sweeps.run(sweeps.from_dict(SWEEP), out, executor="local-cluster", workers=2)
    assert summary["computed"] == 8
    assert (out / "results.csv").read_bytes() == data


def test_a_worker_killed_mid_sweep(tmp_path, reference):
    from distributed import Client

    from verify.runtime.executors import local_cluster

    _, data = reference
    out = tmp_path / "killed"
    killed = []
    with local_cluster(2) as cluster, Client(cluster) as client:
        def kill_one(cell, how, done, total):
            if done == 1 and not killed:
                pids = client.run(os.getpid)
                addr, pid = sorted(pids.items())[0]
                os.kill(pid, signal.SIGKILL)  # the nanny restarts it; its task is rescheduled
                killed.append(addr)
        summary = sweeps.run(sweeps.from_dict(SWEEP), out, client=client, on_cell=kill_one)
    assert killed and summary["computed"] == 8
    assert (out / "results.csv").read_bytes() == data
    assert all(sweep_run.is_done(out, c.key) for c in sweeps.from_dict(SWEEP).cells)


def test_an_existing_scheduler_gives_identical_results(tmp_path, reference):
    """--scheduler tcp://HOST:PORT: the sweep connects to a cluster it did not start."""
    from verify.runtime.executors import local_cluster

    _, data = reference
    out = tmp_path / "sched"
    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        summary = sweeps.run(sweeps.from_dict(SWEEP), out, executor="scheduler", scheduler=cluster.scheduler_address)
    assert summary["computed"] == 8
    assert (out / "results.csv").read_bytes() == data


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nalgorithms = ["picky"]\ndelays = ["none"]\neps = 0.5\nsteps = 10\nseeds = 1\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--scheduler: cannot connect to 'tcp://127.0.0.1:9'" in capsys.readouterr().err


def test_readme_lists_exactly_the_sweep_keys_the_code_accepts():
    """Issue 21: the README's key table and the parser's allowed keys are the same sets (the README once
    said "problems, dims, noises, sigmas" where the keys were problems, dim, noise, sigma)."""
    import re
    from pathlib import Path

    from verify.runtime.sweeps import spec

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Sweeps"):]
    section = section[:section.index("\n## ", 1)]
    rows = {m.group(1): set(re.findall(r"`(\w+)`", m.group(2)))
            for m in re.finditer(r"^\| `\[(sweep|parameters)\]`, [^|]*\| ([^|]*) \|", section, re.M)}
    assert set(rows) == {"sweep", "parameters"}, rows
    documented_sweep = set().union(*(set(re.findall(r"`(\w+)`", m.group(1))) for m in
                                     re.finditer(r"^\| `\[sweep\]`, [^|]*\| ([^|]*) \|", section, re.M)))
    assert documented_sweep == set(spec.SWEEP_KEYS)
    assert rows["parameters"] == set(spec._OVERRIDES)

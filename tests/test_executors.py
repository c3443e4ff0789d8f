"""``picky verify`` and ``picky figures`` on the sweep's executors (issue 14): local processes and a real
Dask LocalCluster (worker processes, TCP on 127.0.0.1) give the same evidence and the same figure data
as one process. The oracle is the in-process run (the path every other test checks)."""
from __future__ import annotations

import json
import os

import pytest

from verify import claims
from verify.cli import main
from verify.runtime.executors import Executor, map_tasks
from verify.figures import generate


def _square(x: int) -> int:
    return x * x


def _boom(x: int) -> int:
    raise ValueError(f"task {x} failed on purpose")


def _pid(_: int) -> int:
    return os.getpid()


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    from verify.runtime.executors import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as c:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield c


def _comparable(ev: claims.Evidence) -> dict:
    d = ev.as_dict()
    d.pop("seconds")
    d["rows"] = [tuple(vars(r).values()) for r in ev.rows]
    return d


@pytest.fixture(scope="module")
def inline_evidence():
    return {e.claim: _comparable(e) for e in claims.run(profile="test")}


def test_map_tasks_on_each_executor(client):
    tasks = [(f"k{i}", (i,)) for i in range(6)]
    assert list(map_tasks(_square, tasks, Executor())) == [(f"k{i}", i * i) for i in range(6)]  # inline: in order
    for ex in (Executor("processes", 2), Executor(client=client)):
        assert dict(map_tasks(_square, tasks, ex)) == {f"k{i}": i * i for i in range(6)}
    pids = set(dict(map_tasks(_pid, tasks, Executor("processes", 2))).values())
    assert os.getpid() not in pids  # they really ran elsewhere
    with pytest.raises(ValueError, match="task 3 failed on purpose"):
        dict(map_tasks(_boom, [("a", (3,))], Executor(client=client)))
    with pytest.raises(ValueError, match="task keys must be unique"):
        list(map_tasks(_square, [("a", (1,)), ("a", (2,))], Executor()))


@pytest.mark.parametrize("kw, msg", [({"kind": "threads"}, "executor must be one of inline, processes"),
                                     ({"kind": "processes", "workers": 0}, "workers must be an integer >= 1"),
                                     ({"kind": "scheduler"}, "--scheduler: needs an address")])
def test_bad_executors_are_named(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Executor(**kw)


def test_every_claim_gives_the_same_evidence_on_local_processes(inline_evidence):
    got = {e.claim: _comparable(e) for e in claims.run(profile="test", executor=Executor("processes", 2))}
    assert list(got) == list(inline_evidence)
    for cid in got:
        assert got[cid] == inline_evidence[cid], cid


def test_claims_on_a_local_cluster_and_the_dependent_ones_see_the_same_runs(client, inline_evidence):
    ids = ["theorem-d-deterministic", "stability", "lower-bound", "invariants", "counting-lemma"]
    alone = {e.claim: _comparable(e) for e in claims.run(ids, "test")}
    got = {e.claim: _comparable(e) for e in claims.run(ids, "test", executor=Executor(client=client))}
    assert got == alone
    # the dependent claims really counted the distributed claims' runs (merged, in order)
    assert got["invariants"]["measured"] == alone["invariants"]["measured"]
    assert got["theorem-d-deterministic"] == inline_evidence["theorem-d-deterministic"]


def test_verify_cli_on_processes_writes_the_same_report(tmp_path, capsys):
    ids = ["stability", "lower-bound", "invariants"]
    assert main(["verify", "--profile", "test", "--only", *ids, "--out", str(tmp_path / "a")]) == 0
    assert main(["verify", "--profile", "test", "--only", *ids, "--out", str(tmp_path / "b"), "--processes", "2"]) == 0
    capsys.readouterr()

    def load(d):
        data = json.loads((tmp_path / d / "results.json").read_text())
        return [{k: v for k, v in c.items() if k != "seconds"} for c in data["claims"]]

    assert load("a") == load("b")
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()


def test_figures_on_a_local_cluster_give_the_same_data(tmp_path, client):
    only = ["measured-vs-bound", "threshold"]  # the first reads claims 1, 2, 3 and 9; the second computes its own
    a = generate(tmp_path / "a", only=only, profile="test")
    b = generate(tmp_path / "b", only=only, profile="test", executor=Executor(client=client))
    assert set(a["figures"]) == set(b["figures"]) == set(only)
    for n in only:
        for ext in ("csv", "meta.json"):
            assert (tmp_path / "a" / f"{n}.{ext}").read_bytes() == (tmp_path / "b" / f"{n}.{ext}").read_bytes(), (n, ext)


def test_an_unreachable_scheduler_is_one_line_for_verify(tmp_path, capsys):
    code = main(["verify", "--profile", "test", "--only", "stability", "--out", str(tmp_path / "r"),
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "--scheduler: cannot connect to 'tcp://127.0.0.1:9'" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing written

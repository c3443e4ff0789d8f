"""Where independent tasks run: this process, local worker processes, or a Dask cluster.

One place for the executors of ``picky sweep`` (its cells), ``picky verify`` (its independent claims)
and ``picky figures`` (its figures). A task is ``fn(*args)`` for a module-level ``fn`` (it is sent to
another process by pickle) under a key unique within the call; :func:`map_tasks` yields
``(key, result)`` as tasks finish. Every executor computes the same function on the same arguments,
so the results are identical; only their completion order differs (callers that care re-order).

====================  ==============================================================================
executor              where the tasks run
====================  ==============================================================================
``inline``            this process, one after the other, in the given order
``processes``         N local worker processes (``concurrent.futures``, *spawn*: a forked copy of a
                      process with live numba and thread-pool state can deadlock); no server
``local-cluster``     a Dask ``LocalCluster`` of N worker processes on 127.0.0.1, started and stopped
``scheduler``         an existing Dask cluster at ``tcp://HOST:PORT`` (``dask scheduler`` on one machine,
                      ``dask worker tcp://HOST:PORT`` on the others; each needs this package and a
                      filesystem shared with the output directory)
====================  ==============================================================================

Dask tasks are submitted with explicit keys (``<prefix>-<key>``) and ``pure=False``, so identical calls
never merge and a task that Dask re-runs after a worker died is the same task. Ctrl-C cancels what is
still queued.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from verify.optional import require

__all__ = ["EXECUTORS", "Executor", "map_tasks", "open_client", "local_cluster"]

EXECUTORS = ("inline", "processes", "local-cluster", "scheduler")


@dataclass(frozen=True)
class Executor:
    """``kind`` (one of :data:`EXECUTORS`), ``workers`` (processes or LocalCluster workers),
    ``scheduler`` (the address, for ``scheduler``), or ``client``: a Dask client the caller owns."""

    kind: str = "inline"
    workers: int = 2
    scheduler: str | None = None
    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None and self.kind not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {self.kind!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1; got {self.workers!r}")
        if self.kind == "scheduler" and self.client is None and not self.scheduler:
            raise ValueError("--scheduler: needs an address tcp://HOST:PORT")

    @property
    def uses_dask(self) -> bool:
        return self.client is not None or self.kind in ("local-cluster", "scheduler")

    def describe(self) -> str:
        if self.client is not None:
            return "a given Dask client"
        if self.kind == "scheduler":
            return f"Dask scheduler {self.scheduler}"
        if self.kind == "inline":
            return "this process"
        return f"{self.kind} ({self.workers} workers)"


def local_cluster(n_workers: int) -> Any:
    """The package's Dask LocalCluster: ``n_workers`` single-threaded worker processes on 127.0.0.1 (TCP
    on the loopback interface only), the dashboard on a free port, and the workers' routine warnings (a
    cancelled task's CancelledError when a run stops early) silenced; errors still show."""
    import logging

    LocalCluster = require("distributed", "--local-cluster").LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=":0", silence_logs=logging.ERROR)


def dask_feature(ex: Executor) -> str:
    """What asked for Dask, in the user's words (for :mod:`verify.optional`'s message)."""
    return {"local-cluster": "--local-cluster", "scheduler": "--scheduler"}.get(ex.kind, "a Dask executor")


@contextlib.contextmanager
def open_client(ex: Executor) -> Iterator[Any]:
    """The Dask client of a Dask executor (started, or connected to, and closed afterwards; a given
    client is used as is and left open)."""
    if ex.client is not None:
        yield ex.client
        return
    Client = require("distributed", dask_feature(ex)).Client

    if ex.kind == "local-cluster":
        with local_cluster(ex.workers) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(ex.scheduler, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"--scheduler: cannot connect to {ex.scheduler!r}: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def map_tasks(fn: Callable[..., Any], tasks: Sequence[tuple[str, tuple]], ex: Executor, *,
              prefix: str | None = None) -> Iterator[tuple[str, Any]]:
    """Run ``fn(*args)`` for every ``(key, args)`` of ``tasks`` on ``ex``; yield ``(key, result)`` as
    each finishes (inline: in order). A task's exception is raised here (the others are cancelled).
    On Dask a task's key is ``<prefix>-<key>`` (default prefix: ``picky-<uuid>``, unique per call; a
    caller whose tasks are content-addressed, like the sweep's cells, passes a fixed prefix)."""
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    if not tasks:
        return
    if not ex.uses_dask and ex.kind == "inline":
        for k, args in tasks:
            yield k, fn(*args)
        return
    if not ex.uses_dask:
        with cf.ProcessPoolExecutor(max_workers=min(ex.workers, len(tasks)),
                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            futs = {pool.submit(fn, *args): k for k, args in tasks}
            try:
                for f in cf.as_completed(futs):
                    yield futs[f], f.result()
            except BaseException:
                for f in futs:
                    f.cancel()
                raise
        return
    as_completed = require("distributed", dask_feature(ex)).as_completed

    prefix = prefix or f"picky-{uuid.uuid4().hex[:12]}"
    with open_client(ex) as client:
        futs = {client.submit(fn, *args, key=f"{prefix}-{k}", pure=False): k for k, args in tasks}
        try:
            for f in as_completed(list(futs)):
                yield futs[f], f.result()
        except BaseException:
            client.cancel(list(futs))
            raise

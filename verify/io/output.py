"""Atomic, checked output: a result directory appears complete, with a manifest, or not at all.

Every command that writes a directory (``picky simulate --save``, ``picky verify --out``,
``picky figures --out``, sweeps) goes through :class:`OutputDir`:

1. ``OutputDir(path, force=..., flag=..., kind=...)`` checks, before any work, that the destination
   can be written: it creates the parent directories and a temporary sibling ``.NAME.partial-XXXX``
   (so an unwritable place fails at once, naming the flag and the path), and refuses an existing
   non-empty directory unless ``force`` -- or unless it is a complete result of the same ``kind``
   (``picky verify`` replaces its own ``report/``, ``picky figures`` its ``figures/``).
2. Files are written into that sibling (:meth:`OutputDir.file`, :meth:`OutputDir.write_text`, ...).
3. :meth:`OutputDir.commit` writes ``MANIFEST.json`` (every file with its size and SHA-256, the
   command and :func:`verify.io.provenance.environment`) and renames the sibling into place. With
   ``force``, the old directory is moved aside first and deleted only after the new one is in place;
   Ctrl-C during these two renames is held until they are done. An exception or Ctrl-C before the
   commit removes the sibling: the destination holds the old result or nothing, never a partial one.

:func:`read_manifest` is the reader's side: a directory without a complete, matching manifest is
refused (``picky simulate --replay``). :func:`atomic_write_bytes` is the one-file version (temporary
file in the same directory + ``os.replace``).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from verify.io import jsonsafe
from verify.io.provenance import environment

__all__ = ["OutputDir", "read_manifest", "test_pause", "sha256", "atomic_write_bytes", "atomic_write_text", "MANIFEST", "MANIFEST_SCHEMA"]

MANIFEST = "MANIFEST.json"
MANIFEST_SCHEMA = "picky-manifest/1"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C arriving inside the block is delivered when the block ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if pending:
            raise KeyboardInterrupt


#: the OutputDirs of this process that are neither committed nor aborted (see :func:`abort_open`)
_OPEN: set["OutputDir"] = set()


def abort_open() -> None:
    """Remove the temporary directory of every OutputDir not yet committed or aborted. The command
    line calls it whenever a command ends (:func:`verify.cli.main`), so that a Ctrl-C landing between
    an OutputDir's creation and the code that would clean it up still leaves no temporary sibling."""
    for out in list(_OPEN):
        out.abort()


def test_pause(point: str) -> None:
    """For the interrupt tests: with ``PICKY_TEST_PAUSE=point`` in the environment, say so on stderr
    and sleep (``PICKY_TEST_PAUSE_SECONDS``, default 30), so that a test can send SIGINT exactly here.
    Points: ``write`` (some files of a result written), ``swap`` (inside the final renames)."""
    if os.environ.get("PICKY_TEST_PAUSE") != point:
        return
    import sys
    import time

    print(f"picky: paused at {point}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("PICKY_TEST_PAUSE_SECONDS", "30")))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class OutputDir:
    """A result directory written atomically (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, force: bool = False, flag: str = "--out",
                 kind: str | None = None):
        self.path = Path(path)
        self.flag = flag
        self.kind = kind
        shown = os.fspath(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"{flag}: {shown!r} exists and is not a directory")
        try:
            nonempty = self.path.is_dir() and any(self.path.iterdir())
        except OSError as exc:
            raise ValueError(f"{flag}: cannot read directory {shown!r}: {_why(exc)}") from None
        if nonempty and not force and not (kind is not None and _kind_of(self.path) == kind):
            raise ValueError(f"{flag}: directory {shown!r} exists and is not empty (use --force to replace it; "
                             "the old result is kept until the new one is complete)")
        parent = self.path.absolute().parent
        self.committed = False
        try:
            parent.mkdir(parents=True, exist_ok=True)
            with _sigint_held():  # the temporary directory exists iff it is registered for cleanup
                self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=parent))
                _OPEN.add(self)
        except OSError as exc:
            raise ValueError(f"{flag}: cannot write to {shown!r}: {_why(exc)}") from None

    # --- writing ---------------------------------------------------------------------------
    def file(self, rel: str) -> Path:
        """The path of ``rel`` inside the (temporary) directory, its parents created."""
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_bytes(self, rel: str, data: bytes) -> Path:
        p = self.file(rel)
        p.write_bytes(data)
        return p

    def write_text(self, rel: str, text: str) -> Path:
        p = self.file(rel)
        p.write_text(text)
        return p

    def write_json(self, rel: str, obj: Any, indent: int | None = 2) -> Path:
        """``obj`` under the package's JSON policy (:mod:`verify.io.jsonsafe`)."""
        return self.write_text(rel, jsonsafe.dumps(obj, indent=indent) + "\n")

    # --- finishing -------------------------------------------------------------------------
    def manifest(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        files = sorted(p for p in self.tmp.rglob("*") if p.is_file() and p != self.tmp / MANIFEST)
        return {
            "schema": MANIFEST_SCHEMA,
            "kind": self.kind,
            "complete": True,
            "files": {p.relative_to(self.tmp).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256(p)}
                      for p in files},
            **(meta or {}),
            "environment": environment(),
        }

    def commit(self, meta: dict[str, Any] | None = None) -> Path:
        """Write the manifest and move the directory into place; returns the destination. Ctrl-C
        during the renames is delivered after them (then ``committed`` is already True)."""
        if self.committed:
            raise RuntimeError("OutputDir.commit called twice")
        old = None
        try:
            self.write_json(MANIFEST, self.manifest(meta))
            os.chmod(self.tmp, _umask_mode())
            with _sigint_held():
                test_pause("swap")
                if self.path.exists():
                    old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old-", dir=self.tmp.parent))
                    os.rename(self.path, old / "previous")
                try:
                    os.rename(self.tmp, self.path)
                except OSError:
                    if old is not None:
                        os.rename(old / "previous", self.path)
                    raise
                self.committed = True
                _OPEN.discard(self)
        except OSError as exc:
            self.abort()
            raise ValueError(f"{self.flag}: cannot write to {os.fspath(self.path)!r}: {_why(exc)}") from None
        finally:
            if old is not None and (self.committed or not (old / "previous").exists()):
                shutil.rmtree(old, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Remove the temporary directory (nothing of the new result remains)."""
        if not self.committed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        _OPEN.discard(self)

    def __enter__(self) -> "OutputDir":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()


def _kind_of(path: Path) -> str | None:
    """The ``kind`` of an existing result directory's manifest (None if it has none or it is unreadable)."""
    try:
        man = jsonsafe.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return man.get("kind") if isinstance(man, dict) and man.get("complete") is True else None


def read_manifest(path: str | os.PathLike[str], flag: str = "--replay") -> dict[str, Any]:
    """The manifest of a result directory, after checking that every listed file is there with its
    size and SHA-256; ValueError naming the directory (or file) otherwise."""
    d = Path(path)
    shown = os.fspath(path)
    m = d / MANIFEST
    if not m.is_file():
        raise ValueError(f"{flag}: {shown!r} has no {MANIFEST}: it is not a complete result (an interrupted or "
                         "older write); rerun the command that made it")
    try:
        man = jsonsafe.loads(m.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{flag}: cannot read {os.fspath(m)!r}: {exc}") from None
    if not isinstance(man, dict) or man.get("schema") != MANIFEST_SCHEMA or man.get("complete") is not True \
            or not isinstance(man.get("files"), dict):
        raise ValueError(f"{flag}: {os.fspath(m)!r} is not a complete {MANIFEST_SCHEMA} manifest")
    for rel, info in man["files"].items():
        f = d / rel
        if not f.is_file():
            raise ValueError(f"{flag}: {os.fspath(f)!r} is listed in {MANIFEST} but missing")
        if not isinstance(info, dict) or f.stat().st_size != info.get("bytes") or sha256(f) != info.get("sha256"):
            raise ValueError(f"{flag}: {os.fspath(f)!r} does not match its checksum in {MANIFEST} "
                             "(edited or truncated after it was written)")
    return man


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write one file atomically: a temporary file in the same directory, then ``os.replace``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.partial-", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & _umask_mode())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode())

"""The ``picky`` command line: one module per command; this module assembles them and owns the
error policy.

Commands: ``picky verify`` (:mod:`.verify`, the main job), ``picky bounds`` (:mod:`.bounds`),
``picky simulate`` (:mod:`.simulate`), ``picky hunt`` (:mod:`.hunt`), ``picky figures``
(:mod:`.figures`), ``picky sweep`` (:mod:`.sweep`), ``picky async-run`` (:mod:`.async_run`), ``picky worst-case`` (:mod:`.worst_case`), ``picky list`` (:mod:`.listing`). Each module documents its JSON output.
Commands print, they do not compute science (that lives in :mod:`theory`, :mod:`verify.runtime.simulation`, ...).

Error policy (one path, here):

- ``picky verify``'s own outcomes: exit 0 every claim passed, 1 a claim failed (a claim whose check
  raised is that claim's failure, with the error in its evidence -- not a user error), 4 no claim
  failed but some claim is inconclusive or condition-not-met (:mod:`.verify`);
- a user error (bad input: a ``ValueError``, or an ``OSError`` on a file the user named) ends in one
  line ``picky CMD: error: ...`` naming the parameter or file, its value and what is allowed; exit 2;
- Ctrl-C: one line saying how far the run got and what was kept ("nothing written" unless a
  command says otherwise); exit 130;
- a closed output pipe (``picky list | head -1``): quiet, exit 0;
- anything else is an internal error: a short message and where to report it, exit 3; the
  traceback only with ``--debug`` or ``PICKY_DEBUG=1``.

Start-up: this module and every command module import only the standard library (and light parts
of the package) at import time; a command's heavy imports (numba, SymPy, SciPy, Hypothesis, Dask,
matplotlib) happen inside its ``run`` function, after its input and destination are checked. So
``--version``, ``--help`` and argument errors are answered at once. The names the parser shows
(algorithms, claims, figures, ...) come from :mod:`verify.catalog`. Ctrl-C is handled from the
first line of :func:`main` on: during imports, checks, compilation, the run and the writing.
"""
from __future__ import annotations

import os

if os.environ.get("PICKY_TEST_STARTED"):  # for the interrupt tests: their instants count from here
    with open(os.environ["PICKY_TEST_STARTED"], "w"):
        pass

import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from ..optional import MissingDependency  # noqa: E402 - the standard library only, as everything imported here

TYPE_CHECKING = False  # typing itself is not imported here: argparse and typing load once Ctrl-C is handled
if TYPE_CHECKING:
    import argparse
    from typing import Any, Sequence

__all__ = ["main", "entry", "build_parser", "REPORT_TO", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_INTERNAL", "EXIT_INCONCLUSIVE"]

REPORT_TO = "the picky-sgd issue tracker (the project's repository)"
EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 130
#: picky verify: no claim failed, but some claim is inconclusive or condition-not-met
EXIT_INCONCLUSIVE = 4


def build_parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(
        prog="picky",
        description="Checkable science for Picky SGD (Cohen et al., NeurIPS 2021): bounds, simulations, checks.",
    )
    from theory import __version__

    p.add_argument("--version", action="version", version=f"picky-sgd {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an internal error (or set PICKY_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)
    from . import async_run, bounds, figures, hunt, listing, simulate, sweep, verify, worst_case

    for mod in (verify, hunt, bounds, simulate, sweep, async_run, figures, listing, worst_case):
        mod.add_parser(sub)
    return p


def _quiet_broken_pipe() -> int:
    """stdout's reader went away: discard what is still buffered, exit quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
    return 0


def _interrupted(command: str, exc: BaseException) -> str:
    kept = getattr(exc, "kept", None) or "nothing written"
    done, total = getattr(exc, "done", None), getattr(exc, "total", None)  # verify.engine.Interrupted
    if isinstance(done, int) and isinstance(total, int):
        return f"picky {command}: interrupted after {done} of {total} lane-steps; {kept}"
    return f"picky {command}: interrupted; {kept}"


def entry() -> None:
    """The program (``picky``, ``python -m verify.cli``): :func:`main`, then exit. After a Ctrl-C
    (everything cleaned up, the one line printed) the process ends without interpreter
    finalization: with numba/LLVM loaded, about 1 run in 10 otherwise ended "killed by SIGINT"
    (exit -2) after printing its line, although Python had no unhandled KeyboardInterrupt
    (observed in tests/test_interrupts.py; the likely cause, a C-level SIGINT handler installed by a
    library, is not pinned down)."""
    global _PROGRAM
    _PROGRAM = True
    code = main()
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


class _SigintOnce:
    """The SIGINT handler while :func:`main` runs: the first Ctrl-C raises KeyboardInterrupt (wherever
    the main thread is: an import, a check, the run, the writing); later ones are ignored, so that
    the cleanup the first one started (removing a temporary directory) is not cut short."""

    def __init__(self) -> None:
        self.fired = False
        self.previous_hook = sys.unraisablehook

    def __call__(self, signum: int, frame: Any) -> None:
        if self.fired:
            return
        self.fired = True
        raise KeyboardInterrupt

    def unraisable(self, info: Any) -> None:
        """``sys.unraisablehook``: our KeyboardInterrupt raised inside a callback that cannot pass it on
        (a ctypes callback of llvmlite's, while numba compiles) is not printed but delivered again, at
        the next point where Python code can raise it."""
        if self.fired and isinstance(info.exc_type, type) and issubclass(info.exc_type, KeyboardInterrupt):
            import _thread

            self.fired = False
            # delivered again from another thread, once this hook has returned: called here, in the main
            # thread, the handler may run before the hook returns, and a KeyboardInterrupt raised inside
            # the hook is printed ("Exception ignored in sys.unraisablehook") and lost (seen in CI)
            timer = threading.Timer(0.05, _thread.interrupt_main)
            timer.daemon = True
            timer.start()
            return
        self.previous_hook(info)


_HANDLER: _SigintOnce | None = None
_PROGRAM = False  # True when main() runs as the program (entry), not called from Python


def _was_interrupted() -> bool:
    """Whether Ctrl-C arrived during this command (an exception that ends it may be the interrupt
    in disguise: a C extension interrupted while it initialises raises ImportError)."""
    return _HANDLER is not None and _HANDLER.fired


def _command_of(argv: Sequence[str]) -> str:
    """The command word of ``argv`` (for messages before the arguments are parsed)."""
    return next((a for a in argv if not a.startswith("-")), "").strip() or "(no command)"


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C from here on is one line and exit 130 (installed before anything heavy is imported)
    global _HANDLER
    handler, old = _SigintOnce(), None
    _HANDLER = handler
    if threading.current_thread() is threading.main_thread():
        try:
            old = signal.signal(signal.SIGINT, handler)
            sys.unraisablehook = handler.unraisable
        except (ValueError, OSError):  # pragma: no cover - no signals here
            old = None
    try:
        try:
            return _main(argv)
        finally:
            _abort_open_outputs()
    except KeyboardInterrupt:  # before a command was known, or in the error path itself
        print("picky: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if old is not None:
            # the program (entry) ignores a Ctrl-C that arrives while the interpreter shuts down after a
            # finished command (its output is complete; Python would otherwise die of SIG_DFL, exit -2)
            signal.signal(signal.SIGINT, signal.SIG_IGN if _PROGRAM else old)
            sys.unraisablehook = handler.previous_hook


def _abort_open_outputs() -> None:
    """No temporary result directory outlives a command, wherever an interrupt or error hit."""
    output = sys.modules.get("verify.io.output")
    if output is not None:
        output.abort_open()


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("PICKY_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]  # accepted before or after the command
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print(f"picky {_command_of(argv)}: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if _was_interrupted():  # Ctrl-C surfaced as another exception (an interrupted import)
            print(f"picky {_command_of(argv)}: interrupted; nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        return _error(_command_of(argv), exc, debug)
    args.argv = ["picky", *argv]
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        if _was_interrupted():  # Ctrl-C arrived but a library swallowed it (an ImportError it catches)
            print(f"picky {args.command}: interrupted; the command finished first (its output is complete)",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt as exc:
        if debug:
            _print_traceback()
        print(_interrupted(args.command, exc), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if _was_interrupted():  # Ctrl-C surfaced as another exception (an interrupted import, ...)
            print(_interrupted(args.command, exc), file=sys.stderr)
            return EXIT_INTERRUPTED
        return _error(args.command, exc, debug)


def _error(command: str, exc: Exception, debug: bool) -> int:
    """The error policy for an exception that ended a command (see the module docstring)."""
    if debug:
        _print_traceback()
    if isinstance(exc, (MissingDependency, ValueError)):  # a missing extra, or bad input: one line, exit 2
        print(f"picky {command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, OSError):  # a file the user named: not found, not readable, disk full, ...
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"picky {command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    # an internal error: short, and where to report it
    print(f"picky {command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"  please report it at {REPORT_TO} with the command line"
          + ("" if debug else " and the output of the same command with --debug"), file=sys.stderr)
    return EXIT_INTERNAL


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

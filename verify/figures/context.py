"""What every figure's ``compute`` shares within one ``picky figures`` run: the profile, progress
reporting (stderr), and the claims' evidence (run once, used by several figures)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

__all__ = ["Context", "PROFILES", "claims_profile", "compute_figure"]

#: figure profiles; ``test`` is a tiny budget for the test suite (its figures are not meaningful)
PROFILES = ("test", "quick", "full")


def claims_profile(profile: str) -> str:
    """The claims' budget used for a figure profile (the same names)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}; got {profile!r}")
    return profile


@dataclass
class Context:
    """``progress(msg)`` prints one line on stderr (when enabled); ``evidence(ids)`` runs the claims
    ``ids`` once per run (all requested ids together, sharing the claims' own context) and caches them."""

    profile: str = "quick"
    show_progress: bool = False
    stream: Any = None
    executor: Any = None  # verify.runtime.executors.Executor for the claims (default: this process)
    _evidence: dict[str, Any] = field(default_factory=dict)
    _wanted: set[str] = field(default_factory=set)
    t0: float = field(default_factory=time.perf_counter)

    def progress(self, msg: str) -> None:
        if self.show_progress:
            s = self.stream or sys.stderr
            s.write(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}\n")
            s.flush()

    def want(self, ids: Iterable[str]) -> None:
        """Declare claims that some figure of this run will need (so they run together, once)."""
        self._wanted.update(ids)

    def evidence(self, ids: Iterable[str]) -> dict[str, Any]:
        from .. import claims

        ids = list(ids)
        missing = [i for i in ids if i not in self._evidence]
        if missing:
            todo = sorted(set(missing) | (self._wanted - set(self._evidence)))
            self.progress(f"running claims {', '.join(todo)} (profile {claims_profile(self.profile)})")
            for ev in claims.run(todo, claims_profile(self.profile), progress=lambda m: self.progress("  " + m),
                                 executor=self.executor):
                self._evidence[ev.claim] = ev
        return {i: self._evidence[i] for i in ids}


def compute_figure(name: str, profile: str, evidence: dict[str, Any]) -> Any:
    """One figure's ``compute`` (an executor's task), given the claims' evidence it reads: its Table."""
    from . import get

    ctx = Context(profile=profile, _evidence=dict(evidence))
    return get(name).compute(profile, ctx=ctx)


def default_context(ctx: "Context | None", profile: str) -> Context:
    return ctx if ctx is not None else Context(profile=profile)


ProgressFn = Callable[[str], None]

"""The evidence record: what one claim's check measured, beside what the theory says.

Every claim returns an :class:`Evidence` (PEPit's pattern: the measured value next to the
theoretical one). The suite asserts on these records at a small budget and ``picky verify`` writes
them to its report, so both share one code path.

Verdicts
--------
=====================  ==============================================================================
``pass``               every instance checked agrees with the claim (for random quantities: the
                       stated test at the stated false-alarm rate does not reject it);
``fail``               some instance contradicts it (deterministic), or the test rejects it;
``inconclusive``       the measurement cannot decide (e.g. a confidence interval too wide);
``condition-not-met``  no instance satisfied the theorem's hypothesis within the budget: nothing
                       was checked (never reported as a pass).
=====================  ==============================================================================

How strong a pass is (issue 25): ``ratio`` (measured/bound where the claim has a bound),
``worst_case_ratio`` (the exact worst case over the function class / bound, filled by the exact
worst-case claims; ``None`` = not computed, shown as "--"), ``test.alpha`` the FAMILY-WISE false-alarm
rate over the claim's tests with ``test.correction`` saying how it is controlled (Holm, Bonferroni, or
"exact"), ``not_met`` (instances where a theorem's condition never held, counted by reason) and
``powerless`` (tests that cannot fail on their instances, and why). A claim whose check raised is a
``fail`` with the error in ``error`` (never a crash of ``picky verify``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


import theory

from verify.io.jsonsafe import plain_json

__all__ = ["Evidence", "Row", "Test", "PASS", "FAIL", "INCONCLUSIVE", "NOT_MET", "VERDICTS", "combine", "SCHEMA", "count_not_met",
           "crashed"]

PASS, FAIL, INCONCLUSIVE, NOT_MET = "pass", "fail", "inconclusive", "condition-not-met"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, NOT_MET)
SCHEMA = "picky-evidence/1"


def combine(verdicts: list[str]) -> str:
    """A claim's verdict from its instances': any fail -> fail; else any inconclusive ->
    inconclusive; else any pass -> pass; else (nothing checked) condition-not-met."""
    vs = set(verdicts)
    if FAIL in vs:
        return FAIL
    if INCONCLUSIVE in vs:
        return INCONCLUSIVE
    if PASS in vs:
        return PASS
    return NOT_MET


@dataclass(frozen=True)
class Test:
    """The statistical (or exact) test behind a verdict: its name, the null hypothesis it could
    reject, and its family-wise false-alarm rate (probability of "fail" when the claim is true, over
    all of the claim's tests together; 0 for exact checks), controlled as ``correction`` says."""

    name: str
    null: str
    alpha: float
    #: how the family-wise rate ``alpha`` is controlled across the claim's tests
    correction: str = "exact (no false alarms)"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """One long-format measurement: (claim, algorithm, problem, delays, seed, metric, value)."""

    algorithm: str
    problem: str
    delays: str
    seed: int | None
    metric: str
    value: float | int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evidence:
    """One claim's evidence record (see the module docstring for the verdicts).

    ``measured`` and ``bound`` are the headline numbers (``ratio`` = measured/bound when both are
    numbers); ``ci`` a confidence interval for a random measured value; ``instances`` one entry per
    checked instance (its parameters, delay statistics, measured, bound, verdict); ``rows`` the
    long-format data; ``rerun`` the command that reruns exactly this claim."""

    claim: str
    title: str
    result: str | None
    status: str | None
    verdict: str
    measured: Any
    bound: Any
    ratio: float | None
    ci: list[float] | None
    test: Test
    what: str
    instances: list[dict[str, Any]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rerun: str = ""
    profile: str = ""
    seconds: float = 0.0
    version: str = theory.__version__
    #: exact worst case over the function class / bound (the exact worst-case claims fill it; None: "--")
    worst_case_ratio: float | None = None
    #: instances where the theorem's condition never held, counted by reason
    not_met: dict[str, int] = field(default_factory=dict)
    #: tests that cannot fail on their instances, each with why
    powerless: list[str] = field(default_factory=list)
    #: the error of a check that raised (the claim is then a fail)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("claim", "title", "result", "status", "verdict", "measured", "bound", "ratio",
                                           "worst_case_ratio", "ci", "what", "instances", "seeds", "parameters", "notes",
                                           "not_met", "powerless", "error", "rerun", "profile", "seconds", "version")}
        d["test"] = self.test.as_dict()
        d["rows"] = len(self.rows)
        return plain_json(d)



def count_not_met(entries: list[dict[str, Any]]) -> dict[str, int]:
    """reason -> number of instances whose verdict is condition-not-met (each carries a ``reason``)."""
    out: dict[str, int] = {}
    for e in entries:
        if e.get("verdict") == NOT_MET:
            r = str(e.get("reason") or "unstated")
            out[r] = out.get(r, 0) + 1
    return out


def crashed(claim: Any, exc: BaseException, tb: str) -> Evidence:
    """The evidence of a claim whose check raised: a fail, the error (and its traceback) kept."""
    err = f"{type(exc).__name__}: {exc}"
    return Evidence(
        claim=claim.id, title=claim.title, result=claim.result, status=claim.status, verdict=FAIL,
        measured=None, bound=None, ratio=None, ci=None,
        test=Test("the check itself", "the check runs to completion", 0.0), what=claim.measures,
        notes=["the check raised; nothing it would have measured is reported", "traceback: " + tb.strip()[-2000:]],
        error=err)

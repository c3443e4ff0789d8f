"""Every statement is complete, labelled and honest about its constants."""
from __future__ import annotations

import sympy as sp
import pytest

import theory
from theory import Kind, Status
from theory.validation import DOMAINS

REQUIRED = {"picky", "picky-explicit", "picky-explicit-sharp", "counting-lemma", "sgd", "delayed-sgd", "delay-adaptive", "quantile", "lower-bound"}


def test_required_ids_present():
    assert REQUIRED <= set(theory.ids())


@pytest.mark.parametrize("rid", theory.ids())
def test_statement_complete(rid):
    st = theory.get(rid)
    assert st.id == rid and st.title and st.citation and st.provenance and st.guarantee and st.assumptions
    assert isinstance(st.status, Status) and isinstance(st.kind, Kind)
    assert isinstance(st.bound, sp.Expr)
    for p in st.parameters:
        assert p in DOMAINS, p
    for rel in st.side_conditions:
        assert isinstance(rel, sp.core.relational.Relational)
    assert theory.latex(rid)  # renders
    # a probability-1/2 statement comes with its restart amplification (picky, picky-explicit, ... have one)
    if st.success_probability is not None:
        assert st.restarts is not None


@pytest.mark.parametrize("rid", theory.ids())
def test_unknown_constants_are_explicit(rid):
    st = theory.get(rid)
    if st.status in (Status.RATE_ONLY, Status.SECONDARY) and st.kind is not Kind.COUNT:
        assert st.constant is not None, "a rate with hidden constants must carry an explicit constant"
    if st.constant is not None:
        assert st.constant.symbol in st.bound.free_symbols
        assert st.constant.status is Status.UNCONFIRMED and "placeholder" in st.constant.meaning
    if st.status is Status.DERIVED:
        assert "NOT the paper" in st.citation or st.id in ("counting-lemma", "sgd")


def test_paper_statement_labels():
    assert theory.get("picky").status is Status.RATE_ONLY
    assert theory.get("picky").step_size is None and "UNCONFIRMED" in theory.get("picky").step_size_note
    assert theory.get("picky-explicit").status is Status.DERIVED
    assert theory.get("picky-explicit").success_probability == sp.Rational(1, 2)

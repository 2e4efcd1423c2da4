"""Structured conditions (workflows/conditions.py): pure, no database."""

from __future__ import annotations

import time

import pytest

from workflows import conditions
from workflows.conditions import ConditionError, evaluate, pattern_problem

DATA = {"input": {"x": "y", "n": 5, "flag": True, "tags": ["a", "b"], "profile": {"city": "Pune"},
                  "items": [{"id": 1}], "none": None},
        "steps": {"fetch": {"output": {"status_code": 200}}}}


def holds(field, operator, value=None, **extra):
    condition = {"field": field, "operator": operator, **({} if value is None else {"value": value}), **extra}
    return evaluate(condition, DATA)


@pytest.mark.parametrize("field,operator,value,expected", [
    ("x", "eq", "y", True), ("x", "eq", "z", False), ("x", "ne", "z", True), ("missing", "ne", "z", True),
    ("missing", "eq", "y", False), ("flag", "eq", 1, False), ("flag", "eq", True, True), ("n", "eq", 5.0, True),
    ("n", "gt", 4, True), ("n", "gte", 5, True), ("n", "lt", 5, False), ("n", "lte", 5, True),
    ("x", "gt", "a", True), ("missing", "gt", 1, False),
    ("x", "in", ["y", "z"], True), ("x", "in", "xyz", True), ("n", "in", [1, 2], False),
    ("tags", "contains", "a", True), ("tags", "contains", "c", False), ("x", "contains", "y", True),
    ("profile", "contains", "city", True), ("n", "contains", 5, False),
    ("profile.city", "eq", "Pune", True), ("items.0.id", "eq", 1, True),
    ("input.profile.city", "eq", "Pune", True), ("steps.fetch.output.status_code", "eq", 200, True),
    ("x", "matches", "^y$", True), ("profile.city", "matches", "^p", False), ("n", "matches", r"^\d$", True),
    ("tags", "matches", "a", False),
])
def test_operators(field, operator, value, expected):
    assert holds(field, operator, value) is expected


def test_exists_and_its_negation():
    assert holds("none", "exists") is True  # present, though null
    assert holds("missing", "exists") is False
    assert holds("missing", "exists", False) is True
    assert holds("x", "exists", False) is False


def test_comparing_unlike_types_is_an_error_not_an_answer():
    with pytest.raises(ConditionError, match="n is a number; gt compares it with a string"):
        holds("n", "gt", "4")
    with pytest.raises(ConditionError, match="in needs a list or a string"):
        holds("x", "in", 3)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*b", "(a|aa)*b", "(?:x+y?)+z", r"(a)\1", "((ab)+)+",
                                     "(?=(a+)+)b*"])
def test_patterns_that_backtrack_without_end_are_refused(pattern):
    assert pattern_problem(pattern)


@pytest.mark.parametrize("pattern", [r"^[^@]+@example\.com$", r"^\d{3}-\d{4}$", "(ab)+c", "(?:a|b)+",
                                     r"^ORD-[A-Z0-9]+$", "colou?r"])
def test_ordinary_patterns_are_accepted(pattern):
    assert pattern_problem(pattern) is None


def test_patterns_and_subjects_are_bounded():
    assert "longer than" in pattern_problem("a" * (conditions.PATTERN_MAX_LENGTH + 1))
    with pytest.raises(ConditionError, match="at most 1000"):
        evaluate({"field": "s", "operator": "matches", "value": "a"}, {"input": {"s": "a" * 1001}})
    with pytest.raises(ConditionError, match="backtrack"):  # a template may have rendered the pattern
        evaluate({"field": "s", "operator": "matches", "value": "(a+)+$"}, {"input": {"s": "a"}})


def test_the_subject_bound_shrinks_with_the_quantifiers_and_too_many_are_refused():
    assert conditions.subject_limit("^ORD-[0-9]{6}$") == conditions.SUBJECT_MAX_LENGTH
    assert conditions.subject_limit(".*x") == conditions.SUBJECT_MAX_LENGTH
    limits = [conditions.subject_limit(".*" * k + "x") for k in range(2, 7)]
    assert limits == sorted(limits, reverse=True) and limits[-1] >= 20
    with pytest.raises(ConditionError, match="at most 136 are matched against this pattern"):
        evaluate({"field": "s", "operator": "matches", "value": ".*.*.*x"}, {"input": {"s": "a" * 137}})
    assert "at most 6 variable-length quantifiers" in pattern_problem("a*" * 7)


@pytest.mark.parametrize("pattern", [".*.*x", ".*.*.*x", r"\w+\w+\w+\w+!", "(.*)(.*)(.*)(.*)(.*)(.*)!",
                                     r"^[\w.+-]+@[\w-]+\.[\w.]+$"])
def test_the_worst_accepted_pattern_on_its_longest_subject_is_quick(pattern):
    """Polynomial backtracking (k quantifiers fighting over one run of characters) on the longest
    subject it is allowed: bounded, not the 15 s of `\\w+\\w+\\w+\\w+!` on 200 characters."""
    assert pattern_problem(pattern) is None
    subject = "a" * conditions.subject_limit(pattern)
    started = time.monotonic()
    assert evaluate({"field": "s", "operator": "matches", "value": pattern}, {"input": {"s": subject}}) is False
    assert time.monotonic() - started < 2  # measured ~0.3 s at worst; generous for a loaded machine

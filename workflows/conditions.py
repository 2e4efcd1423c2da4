"""Structured conditions: `{"field": "customer.plan", "operator": "eq", "value": "pro"}`, for users who
would rather pick a field and an operator than write a template expression.

Pure functions over plain JSON. `field` is a dotted path into the run's input (`customer.plan`); a
path starting with `input.` or `steps.<key>.output` reads the run's data as templates see it.
`matches` runs Python's `re` on bounded sizes only, and refuses at save the pattern shapes that
backtrack exponentially (a quantifier inside a repeated group, a repeated alternation,
backreferences); what is left backtracks polynomially, so the subject's length is bounded by the
pattern's quantifiers (subject_limit), and a user's pattern or data cannot hold a worker.
"""

from __future__ import annotations

import json
import math
import re
from re import _constants as sre_constants  # noqa: PLC2701  (the parser's opcodes)
from re import _parser as sre_parse  # noqa: PLC2701  (the stdlib's own parser: what `re` would compile)
from typing import Any

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists", "matches")
PATTERN_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH = 1000
# Without nested repeats a backtracking search costs at most about n^(k+1)/(k+1)! steps for a subject
# of n characters and k variable-length quantifiers (measured: ~6 ns a step; `\w+\w+\w+\w+!` on 200
# characters took 15 s). A pattern is run only on subjects short enough to stay under this many
# steps (under ~0.3 s measured): 1000 characters for k <= 1, 447 for k = 2, 136 for k = 3, 68 for
# k = 4, and 32 for k = 6, the most a pattern may have.
STEP_BUDGET = 15_000_000
MAX_VARIABLE_QUANTIFIERS = 6

_MISSING = object()

SCHEMA = {
    "type": "object",
    "title": "Field condition",
    "required": ["field", "operator"],
    "properties": {
        "field": {"type": "string", "minLength": 1, "maxLength": 500, "title": "Field",
                  "description": "A dotted path into the run's input (customer.plan); input.<path> or "
                                 "steps.<key>.output.<path> read the run's data as templates do."},
        "operator": {"type": "string", "enum": list(OPERATORS), "title": "Operator",
                     "description": "eq, ne: equal or not; gt, gte, lt, lte: compare two numbers or two "
                                    "strings; in: the field is one of value (a list) or part of value (a "
                                    "string); contains: the field (a list, string or object) contains "
                                    "value; exists: the field is present (value false: absent); matches: "
                                    "the field (a string or a number) matches the regular expression value, "
                                    f"searched in at most {SUBJECT_MAX_LENGTH} characters (fewer for a "
                                    "pattern with several +, * or {m,n}: a longer field fails the step)."},
        "value": {"title": "Value", "description": "What the field is compared with (not used by exists)."},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"operator": {"enum": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains",
                                                     "matches"]}}, "required": ["operator"]},
         "then": {"required": ["value"]}},
        {"if": {"properties": {"operator": {"const": "in"}}, "required": ["operator"]},
         "then": {"properties": {"value": {"type": ["array", "string"]}}}},
        {"if": {"properties": {"operator": {"enum": ["gt", "gte", "lt", "lte"]}}, "required": ["operator"]},
         "then": {"properties": {"value": {"type": ["number", "string"]}}}},
        {"if": {"properties": {"operator": {"const": "exists"}}, "required": ["operator"]},
         "then": {"properties": {"value": {"type": "boolean"}}}},
        {"if": {"properties": {"operator": {"const": "matches"}}, "required": ["operator"]},
         "then": {"properties": {"value": {"type": "string", "minLength": 1, "maxLength": PATTERN_MAX_LENGTH}}}},
    ],
}


class ConditionError(Exception):
    """A structured condition that cannot be decided on this data (say, comparing a number with a
    string): no retry can help."""


def _get(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def lookup(path: str, data: dict) -> Any:
    """The value at `path` (see the module's docstring), or _MISSING."""
    parts = path.split(".")
    if parts[0] in ("input", "steps") and len(parts) > 1:
        return _get(data, parts)
    return _get(data.get("input"), parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # JSON's true is not 1
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return a == b


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", dict: "an object", list: "a list"}.get(
        type(value), "a number" if _is_number(value) else type(value).__name__)


def pattern_problem(pattern: str) -> str | None:
    """None if `pattern` may be run on user data, else why not."""
    if len(pattern) > PATTERN_MAX_LENGTH:
        return f"the pattern is longer than {PATTERN_MAX_LENGTH} characters"
    try:
        parsed = sre_parse.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"not a valid regular expression: {exc}"
    risky = _risky(parsed, repeated=False)
    if risky is None and _variable_quantifiers(parsed) > MAX_VARIABLE_QUANTIFIERS:
        return (f"at most {MAX_VARIABLE_QUANTIFIERS} variable-length quantifiers (+, *, {{m,n}}) in a pattern: "
                "each multiplies the matching work")
    return risky


def subject_limit(pattern: str) -> int:
    """The longest subject `pattern` (one pattern_problem accepts) is matched against."""
    k = _variable_quantifiers(sre_parse.parse(pattern))
    n = SUBJECT_MAX_LENGTH
    while n > 1 and math.comb(n + k, k + 1) > STEP_BUDGET:  # ~ n^(k+1)/(k+1)!
        n -= 1
    return n


def _variable_quantifiers(items) -> int:
    count = 0
    for op, arg in items:
        if op in _REPEATS:
            low, high, body = arg
            count += (high > 1 and high > low) + _variable_quantifiers(body)
        elif op == sre_constants.SUBPATTERN:
            count += _variable_quantifiers(arg[-1])
        elif op == sre_constants.BRANCH:
            count += sum(_variable_quantifiers(b) for b in arg[1])
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            count += _variable_quantifiers(arg[1])
        elif op == sre_constants.ATOMIC_GROUP:
            count += _variable_quantifiers(arg)
    return count


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _risky(items, *, repeated: bool) -> str | None:
    for op, arg in items:
        if op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
            return "backreferences are not allowed"
        if op in _REPEATS:
            low, high, body = arg
            if high > 1 and repeated:
                return "a quantifier inside a repeated group can backtrack without end; simplify the pattern"
            found = _risky(body, repeated=repeated or high > 1)
        elif op == sre_constants.SUBPATTERN:
            found = _risky(arg[-1], repeated=repeated)
        elif op == sre_constants.BRANCH:
            if repeated:
                return "a repeated alternation (a|b)+ can backtrack without end; use a character class [ab]+"
            found = next((p for p in (_risky(b, repeated=repeated) for b in arg[1]) if p), None)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _risky(arg[1], repeated=repeated)
        elif op == sre_constants.ATOMIC_GROUP:
            found = _risky(arg, repeated=repeated)
        else:
            found = None
        if found:
            return found
    return None


def problems(condition: dict) -> list[tuple[str, str]]:
    """What the schema cannot say about a condition, as (field, message): a `matches` pattern that
    does not compile or could backtrack without end. A template value is checked when rendered."""
    value = condition.get("value")
    if condition.get("operator") == "matches" and isinstance(value, str) and "{{" not in value and "{%" not in value:
        problem = pattern_problem(value)
        if problem:
            return [("value", problem)]
    return []


def evaluate(condition: dict, data: dict) -> bool:
    """Whether the condition holds over the run's data. ConditionError when it cannot be decided."""
    field, operator, expected = condition["field"], condition["operator"], condition.get("value")
    actual = lookup(field, data)
    if operator == "exists":
        return (actual is not _MISSING) is (expected is not False)
    if actual is _MISSING:
        return operator == "ne"  # a missing field equals nothing, is in nothing and matches nothing
    if operator == "eq":
        return _equal(actual, expected)
    if operator == "ne":
        return not _equal(actual, expected)
    if operator in ("gt", "gte", "lt", "lte"):
        if not ((_is_number(actual) and _is_number(expected)) or (isinstance(actual, str) and isinstance(expected, str))):
            raise ConditionError(f"{field} is {_kind(actual)}; {operator} compares it with {_kind(expected)}: "
                                 "both must be numbers or both strings")
        return {"gt": actual > expected, "gte": actual >= expected,
                "lt": actual < expected, "lte": actual <= expected}[operator]
    if operator == "in":
        if isinstance(expected, list):
            return any(_equal(actual, item) for item in expected)
        if isinstance(expected, str):
            return isinstance(actual, str) and actual in expected
        raise ConditionError(f"in needs a list or a string as value, not {_kind(expected)}")
    if operator == "contains":
        if isinstance(actual, list):
            return any(_equal(item, expected) for item in actual)
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, dict):
            return isinstance(expected, str) and expected in actual
        return False
    if operator == "matches":
        if not isinstance(expected, str):
            raise ConditionError(f"matches needs a regular expression (a string) as value, not {_kind(expected)}")
        problem = pattern_problem(expected)
        if problem:
            raise ConditionError(f"matches: {problem}")
        subject = actual if isinstance(actual, str) else json.dumps(actual) if _is_number(actual) else None
        if subject is None:
            return False
        limit = subject_limit(expected)
        if len(subject) > limit:
            raise ConditionError(f"matches: {field} is {len(subject)} characters long; at most {limit} are "
                                 "matched against this pattern (fewer quantifiers allow longer subjects, up to "
                                 f"{SUBJECT_MAX_LENGTH})")
        return re.search(expected, subject) is not None
    raise ConditionError(f"unknown operator {operator!r}; operators: {', '.join(OPERATORS)}")

"""What counts as a JSON value here, and how deep JSON may nest: one rule for step outputs, rendered
templates and request bodies. Pure functions, no I/O.

Strict JSON: str, int, finite float, bool, None, lists (tuples too) and objects with string keys.
No NaN or infinity (PostgreSQL's jsonb refuses them), no ranges, sets or template objects.
"""

from __future__ import annotations

import json
import math
from typing import Any


def depth(value: Any, *, limit: int) -> int:
    """How deep `value` nests (a scalar: 0, [1]: 1), counting no further than `limit` + 1; iterative,
    so a value nested deeper than Python's recursion limit is measured without a RecursionError."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            level += 1
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((v, level) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def problem(value: Any, *, max_depth: int) -> str | None:
    """None if `value` is strict JSON nested at most `max_depth` deep, else what is wrong and where."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, level = stack.pop()
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{path or 'the value'} is {item}, which JSON cannot hold"
            continue
        if isinstance(item, (dict, list, tuple)):  # a tuple is stored as a JSON array
            if level + 1 > max_depth:
                return f"{path or 'the value'} nests deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"{path or 'the value'} has a key {key!r} that is not a string"
                    stack.append((child, f"{path}.{key}" if path else key, level + 1))
            else:
                stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(item))
            continue
        return f"{path or 'the value'} is a {type(item).__name__}, which is not JSON"
    return None


def depth_error(max_depth: int) -> str:
    return f"nests deeper than FLOWPILOT_JSON_MAX_DEPTH ({max_depth})"


def loads(text: str | bytes, *, max_depth: int) -> Any:
    """json.loads, but JSON nested deeper than `max_depth` (or than the parser can recurse) is a
    ValueError naming the bound, never a RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(depth_error(max_depth)) from None
    if depth(value, limit=max_depth) > max_depth:
        raise ValueError(depth_error(max_depth))
    return value

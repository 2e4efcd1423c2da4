"""Pure reshaping of JSON values: the operations of the `data_transform` step, with no I/O.

A path is a dotted list of object keys (`customer.address.city`); paths walk objects only, and
lists are reshaped with `map` and `filter`. A path that is missing is simply absent: `pick` leaves
it out, `rename` and `omit` do nothing, `default` sets it. Moving or dropping a nested path leaves
its parent object in place, even if empty. No operation changes its argument.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import templating

TYPES = ("pick", "omit", "rename", "set", "merge", "map", "filter", "default")
_MISSING = object()


class TransformError(Exception):
    """A transform that cannot apply to this value; names the transform's position, type and field."""

    def __init__(self, message: str, *, index: int, type: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.index = index
        self.type = type
        self.field = field

    def __str__(self) -> str:
        return f"transforms[{self.index}] ({self.type}): {self.message}"


class _Problem(Exception):
    """Raised by one operation; `apply` adds which transform it was."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return "a string" if isinstance(value, str) else type(value).__name__


def _parts(path: str) -> list[str]:
    return path.split(".") if path else []


def _get(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _object(value: Any, what: str = "the value") -> dict:
    if not isinstance(value, dict):
        raise _Problem(f"{what} is {_kind(value)}, not an object")
    return value


def _put(root: dict, parts: list[str], new: Any, *, field: str) -> None:
    """Set root[a][b]... = new in place, creating missing objects on the way."""
    if not parts:
        raise _Problem("the path is empty", field=field)
    target = root
    for i, part in enumerate(parts[:-1]):
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise _Problem(f"cannot set {'.'.join(parts)!r}: {'.'.join(parts[:i + 1])!r} is {_kind(nxt)}, "
                           "not an object", field=field)
        target = nxt
    target[parts[-1]] = new


def _drop(root: dict, parts: list[str]) -> None:
    parent = _get(root, parts[:-1])
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)


def pick(value: Any, fields: list[str]) -> dict:
    """Only the given paths, nested as they were; missing paths are absent."""
    source, out = _object(value), {}
    for path in fields:
        found = _get(source, _parts(path))
        if found is not _MISSING:
            _put(out, _parts(path), copy.deepcopy(found), field="fields")
    return out


def omit(value: Any, fields: list[str]) -> dict:
    """Everything but the given paths."""
    out = copy.deepcopy(_object(value))
    for path in fields:
        _drop(out, _parts(path))
    return out


def rename(value: Any, source: str, target: str) -> dict:
    """Move `source` to `target` (creating objects on the way); a missing `source` changes nothing."""
    out = copy.deepcopy(_object(value))
    found = _get(out, _parts(source))
    if found is not _MISSING:
        _drop(out, _parts(source))
        _put(out, _parts(target), found, field="to")
    return out


def set_value(value: Any, field: str, new: Any) -> dict:
    out = copy.deepcopy(_object(value))
    _put(out, _parts(field), copy.deepcopy(new), field="field")
    return out


def default(value: Any, field: str, new: Any) -> dict:
    """Set `field` only if it is missing (a present null is kept)."""
    if _get(_object(value), _parts(field)) is not _MISSING:
        return copy.deepcopy(value)
    return set_value(value, field, new)


def deep_merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: objects merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = copy.deepcopy(base)
        for key, item in over.items():
            out[key] = deep_merge(out[key], item) if key in out else copy.deepcopy(item)
        return out
    return copy.deepcopy(over)


def merge(value: Any, over: Any) -> dict:
    return deep_merge(_object(value), _object(over, "value"))


def _list_at(value: Any, field: str) -> list:
    found = _get(value, _parts(field))
    where = repr(field) if field else "the value"
    if found is _MISSING:
        raise _Problem(f"{where} is missing, not a list", field="field")
    if not isinstance(found, list):
        raise _Problem(f"{where} is {_kind(found)}, not a list", field="field")
    return found


def _replace(value: Any, field: str, new: list) -> Any:
    if not field:
        return new
    out = copy.deepcopy(value)
    _put(out, _parts(field), new, field="field")
    return out


def map_items(value: Any, field: str, template: Any) -> Any:
    """Each item of the list at `field` (the value itself if empty) becomes `template` rendered
    with `item` and `index`, in the templating sandbox."""
    items = _list_at(value, field)
    mapped = []
    for index, item in enumerate(items):
        try:
            mapped.append(templating.render_config(template, {"item": item, "index": index}))
        except templating.TemplateError as exc:
            where = f"template.{exc.field}" if exc.field else "template"
            raise _Problem(f"item {index}: {where}: {exc.message}", field="template") from None
    return _replace(value, field, mapped)


def filter_items(value: Any, field: str, condition: str) -> Any:
    """Keep the items of the list at `field` for which `condition` (over `item`, `index`) is true."""
    items = _list_at(value, field)
    kept = []
    for index, item in enumerate(items):
        try:
            keep = templating.evaluate(condition, {"item": item, "index": index}, field="condition")
        except templating.TemplateError as exc:
            raise _Problem(f"item {index}: condition: {exc.message}", field="condition") from None
        if keep:
            kept.append(copy.deepcopy(item))
    return _replace(value, field, kept)


_OPERATIONS: dict[str, Callable[[Any, dict], Any]] = {
    "pick": lambda v, t: pick(v, t["fields"]),
    "omit": lambda v, t: omit(v, t["fields"]),
    "rename": lambda v, t: rename(v, t["from"], t["to"]),
    "set": lambda v, t: set_value(v, t["field"], t["value"]),
    "merge": lambda v, t: merge(v, t["value"]),
    "map": lambda v, t: map_items(v, t.get("field", ""), t["template"]),
    "filter": lambda v, t: filter_items(v, t.get("field", ""), t["condition"]),
    "default": lambda v, t: default(v, t["field"], t["value"]),
}


def apply(value: Any, transforms: list[dict]) -> Any:
    """Run the transforms in order; raises TransformError naming the one that could not apply."""
    for index, transform in enumerate(transforms):
        kind = transform.get("type", "")
        operation = _OPERATIONS.get(kind)
        if operation is None:
            raise TransformError(f"unknown type; known types: {', '.join(TYPES)}", index=index, type=str(kind),
                                 field="type")
        try:
            value = operation(value, transform)
        except _Problem as exc:
            raise TransformError(exc.message, index=index, type=kind, field=exc.field) from None
        except KeyError as exc:
            raise TransformError(f"{exc.args[0]!r} is required", index=index, type=kind,
                                 field=str(exc.args[0])) from None
    return value

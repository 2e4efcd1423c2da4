"""Search fields: a workflow's templates over a run's input and step outputs (`{"phone": "{{ input.phone }}"}`)
whose values are kept, indexed, so that runs can be found by what they are about (?search.phone=+91123).

Pure: the rules of a definition's search fields (checked when a workflow is saved or a code workflow
registered), what a field's value is for a run's data, and the filters a request gives. The engine
stores the values (workflows/engine/search_index.py); docs/adr/0028-search-by-business-data.md says why so.

Secrets never reach a value: a search field's template sees `input` and `steps.<key>.output` only (no
`secrets`, `context` or anything else: refused when saved), step outputs are already redacted at the
one seam (engine/invoke.py), and a value that still holds the redaction mark is not stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError

from . import bounds, templating
from .errors import InvalidInput
from .secrets import REDACTED

FIELD = "search_fields"
FILTER_PREFIX = "search."
_NAME = re.compile(bounds.SEARCH_FIELD_NAME_PATTERN)
ROOTS = ("input", "steps")
EXAMPLE = "{{ input.phone }} or {{ steps.<key>.output.id }}"


@dataclass(frozen=True)
class SearchField:
    """One search field of a definition: its name, its template, and the steps whose outputs it reads
    (none: it is known when the run starts; else once one of them completes)."""

    name: str
    template: str
    steps: frozenset[str]


def problems(fields: Any, *, step_keys: Iterable[str] | None = None) -> dict[str, list[str]]:
    """What is wrong with a definition's search fields, by field path (search_fields.<name>); empty
    when they can be saved. `step_keys`: the workflow's steps, which `steps.<key>` must name."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        return {FIELD: ['must be an object: {"<name>": "<template>"}']}
    found: dict[str, list[str]] = {}
    if len(fields) > bounds.SEARCH_FIELDS_MAX:
        found[FIELD] = [f"at most {bounds.SEARCH_FIELDS_MAX} search fields; this workflow has {len(fields)}"]
    keys = None if step_keys is None else set(step_keys)
    for name, template in fields.items():
        path = f"{FIELD}.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            found.setdefault(path, []).append(
                f"a search field's name has 1 to {bounds.SEARCH_FIELD_NAME_MAX_LENGTH} characters: "
                f"{bounds.STEP_KEY_HELP}")
            continue
        problem = template_problem(template, step_keys=keys)
        if problem:
            found.setdefault(path, []).append(problem)
    return found


def template_problem(template: Any, *, step_keys: set[str] | None = None) -> str | None:
    """Why one search field's template cannot be saved, or None."""
    if not isinstance(template, str) or not template.strip():
        return f"must be a template over the run's data, e.g. {EXAMPLE}"
    if len(template) > bounds.SEARCH_TEMPLATE_MAX_LENGTH:
        return f"is {len(template)} characters; at most {bounds.SEARCH_TEMPLATE_MAX_LENGTH}"
    if not templating.is_template(template):
        return f"is the same text for every run; write a template over the run's data, e.g. {EXAMPLE}"
    error = templating.syntax_error(template)
    if error:
        return error
    try:
        paths = templating.variable_paths(template)
    except TemplateSyntaxError as exc:  # syntax_error said it parses; kept for safety
        return f"template does not parse: {exc.message}"
    if not paths:
        return f"reads nothing of the run; write a template over the run's data, e.g. {EXAMPLE}"
    for path in paths:
        root = path[0]
        if root not in ROOTS:
            return (f"reads {root!r}: a search field reads the run's input and its steps' outputs only "
                    f"(input.<field>, steps.<key>.output), never secrets")
        if root == "steps":
            if len(path) < 3 or path[2] != "output":
                return "reads a step as steps.<key>.output (its output only)"
            if step_keys is not None and path[1] not in step_keys:
                return f"reads step {path[1]!r}, which this workflow does not have"
    return None


def parse(fields: Any) -> tuple[SearchField, ...]:
    """A stored definition's search fields, each with the steps it reads. Stored values are not
    refused here (a version saved before a rule existed still runs): a field that breaks a rule
    now is left out."""
    if not isinstance(fields, Mapping):
        return ()
    parsed = []
    for name, template in list(fields.items())[:bounds.SEARCH_FIELDS_MAX]:
        if not isinstance(name, str) or not _NAME.match(name) or template_problem(template) is not None:
            continue
        steps = frozenset(str(p[1]) for p in templating.variable_paths(template) if p[0] == "steps")
        parsed.append(SearchField(name=name, template=template, steps=steps))
    return tuple(parsed)


@dataclass(frozen=True)
class Rendered:
    """A field's value for a run (None: none yet, or not stored) and, when it is not stored although
    the data was there, why (a warning in the run's log)."""

    value: str | None
    problem: str | None = None


def render(field: SearchField, data: dict) -> Rendered:
    """The text stored for `field` over `data` ({"input": ..., "steps": {key: {"output": ...}}}).
    A string as is, a number or boolean as JSON; nothing for null, an empty string or data not there
    yet (an undefined variable); refused (not stored, with the reason) for an object or a list, a
    value holding a redacted secret, or one longer than bounds.SEARCH_VALUE_MAX_LENGTH: a truncated
    value would answer an exact search wrongly."""
    try:
        value = templating.render(field.template, data, field=f"{FIELD}.{field.name}")
    except templating.TemplateError as exc:
        if templating.missing_path(field.template, data) is not None:
            return Rendered(None)  # the data is not there (yet): no value, and nothing to warn about
        return Rendered(None, f"search field {field.name!r}: {exc.message}")
    if value is None or value == "":
        return Rendered(None)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = value
    else:
        kind = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else "not plain"
        return Rendered(None, f"search field {field.name!r}: the value is {kind}; a search value is a text, "
                              "a number or a boolean")
    if "\x00" in text:
        return Rendered(None, f"search field {field.name!r}: the value holds the NUL character; not stored")
    if REDACTED in text:
        return Rendered(None, f"search field {field.name!r}: the value holds a redacted secret; not stored")
    if len(text) > bounds.SEARCH_VALUE_MAX_LENGTH:
        return Rendered(None, f"search field {field.name!r}: the value is {len(text)} characters; at most "
                              f"{bounds.SEARCH_VALUE_MAX_LENGTH} are stored")
    return Rendered(text)


def parse_filters(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """The search filters of a request, from (name, value) pairs whose name is `search.<field>`
    (other names are ignored). Each is an exact match; several are AND-ed. InvalidInput (400) for a
    bad name, an empty or too long value, a field given twice with two values, or more than
    bounds.SEARCH_FILTERS_MAX of them."""
    found: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in pairs:
        if not (isinstance(key, str) and key.startswith(FILTER_PREFIX)):
            continue
        name = key[len(FILTER_PREFIX):]
        if not _NAME.match(name):
            errors.setdefault(key, []).append(f"search.<name>: the name has 1 to {bounds.SEARCH_FIELD_NAME_MAX_LENGTH} "
                                              f"characters: {bounds.STEP_KEY_HELP}")
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = json.dumps(value)
        if not isinstance(value, str) or not value:
            errors.setdefault(key, []).append("give the value to look for (a text: an exact match)")
        elif len(value) > bounds.SEARCH_VALUE_MAX_LENGTH:
            errors.setdefault(key, []).append(f"at most {bounds.SEARCH_VALUE_MAX_LENGTH} characters")
        elif "\x00" in value:
            errors.setdefault(key, []).append("contains the NUL character (\\u0000), which no value holds")
        elif name in found and found[name] != value:
            errors.setdefault(key, []).append("given twice; give each search field once")
        else:
            found[name] = value
    if len(found) > bounds.SEARCH_FILTERS_MAX:
        errors.setdefault("search", []).append(
            f"at most {bounds.SEARCH_FILTERS_MAX} search filters in one request; this one has {len(found)}")
    if errors:
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise InvalidInput(f"Invalid input: {summary}", fields=errors)
    return found


def query_pairs(params) -> list[tuple[str, Any]]:
    """(name, value) of every value of a QueryDict-like mapping (a name given twice counts twice)."""
    if hasattr(params, "lists"):
        return [(key, value) for key, values in params.lists() for value in values]
    return list(params.items())

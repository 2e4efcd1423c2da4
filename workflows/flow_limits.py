"""Flow control: a workflow's (or an HTTP-calling step's) `limits`, as saved and as runs read them.

    {"concurrency": {"key": "<template>", "max": N, "name": "<shared name>"},
     "rate": {"key": "<template>", "limit": N, "per_seconds": S, "burst": B, "name": "<shared name>"},
     "debounce": {"key": "<template>", "seconds": S},
     "priority": "<template giving an int>"}

Every part is optional. A workflow may set all four; a step (of a type that calls hosts) only
`concurrency` and `rate`. Without `name`, a limit belongs to its workflow (or its step); with one, to
every workflow of the same owner that names it (a named limit: "sms-provider").

Pure: the rules of a `limits` value (checked when a workflow is saved, imported or registered from
code), the parsed form runs read (stored values are parsed leniently: a version saved before a rule
existed still runs), and the arithmetic of a rate limit (a generic cell rate algorithm: one instant
per bucket, so taking a slot is one row's UPDATE). Enforcement is the engine's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateSyntaxError

from . import bounds, templating

FIELD = "limits"
WORKFLOW_PARTS = ("concurrency", "rate", "debounce", "priority")
STEP_PARTS = ("concurrency", "rate")
NAME_MAX_LENGTH = 100
_NAME = re.compile(rf"^[A-Za-z0-9_][A-Za-z0-9_.:-]{{0,{NAME_MAX_LENGTH - 1}}}$")
NAME_HELP = "letters, digits, '_', '.', ':' and '-', starting with a letter, digit or '_'"
TEMPLATE_MAX_LENGTH = 500
# What a key or a priority template may read: a workflow's, the run's input; a step's, its steps' outputs too.
WORKFLOW_ROOTS = ("input",)
STEP_ROOTS = ("input", "steps")
# The range a priority is clamped to when a run computes it (higher first).
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000


@dataclass(frozen=True)
class Concurrency:
    max: int
    key: str = ""  # a template; "" : one key for all
    name: str = ""  # shared by the owner's workflows naming it; "" : this workflow's (or step's) own


@dataclass(frozen=True)
class Rate:
    limit: int  # at most `limit` per `per_seconds`...
    per_seconds: float
    burst: int  # ...and at most `burst` at once after a quiet time (default 1: evenly spaced). In any
    # window of per_seconds at most limit + burst - 1 go: with the default, exactly `limit`.
    key: str = ""
    name: str = ""

    @property
    def interval(self) -> float:
        """Seconds between two slots at the steady rate."""
        return self.per_seconds / self.limit


@dataclass(frozen=True)
class Debounce:
    seconds: float
    key: str = ""


@dataclass(frozen=True)
class Limits:
    concurrency: Concurrency | None = None
    rate: Rate | None = None
    debounce: Debounce | None = None
    priority: str = ""  # a template giving an int; "" : every run 0

    def __bool__(self) -> bool:
        return bool(self.concurrency or self.rate or self.debounce or self.priority)


NONE = Limits()


# --- the rules, when saved -----------------------------------------------------------------------

def problems(value: Any, *, step_keys=None, step: bool = False, path: str = FIELD) -> dict[str, list[str]]:
    """What is wrong with a `limits` value, by field path (limits.rate.limit, ...); empty when it can
    be saved. `step`: a step's limits (concurrency and rate only; keys may read steps' outputs too);
    `step_keys`: the workflow's steps, which `steps.<key>` must name."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, Mapping):
        return {path: ['must be an object: {"concurrency": {...}, "rate": {...}, "debounce": {...}, '
                       '"priority": "<template>"}']}
    parts = STEP_PARTS if step else WORKFLOW_PARTS
    found: dict[str, list[str]] = {}

    def add(where: str, message: str) -> None:
        found.setdefault(f"{path}.{where}" if where else path, []).append(message)

    for name in value:
        if name not in parts:
            add(str(name), f"unknown; a {'step' if step else 'workflow'}'s limits are {', '.join(parts)}")
    roots = STEP_ROOTS if step else WORKFLOW_ROOTS
    keys = None if step_keys is None else set(step_keys)
    if "concurrency" in value:
        part = value["concurrency"]
        if _object(part, "concurrency", ("key", "max", "name"), add):
            _integer(part, "concurrency.max", "max", 1, bounds.max_concurrency(), add, required=True)
            _key_and_name(part, "concurrency", roots, keys, add)
    if "rate" in value:
        part = value["rate"]
        if _object(part, "rate", ("key", "limit", "per_seconds", "burst", "name"), add):
            _integer(part, "rate.limit", "limit", 1, bounds.max_rate_limit(), add, required=True)
            _number(part, "rate.per_seconds", "per_seconds", bounds.MIN_RATE_PERIOD_SECONDS,
                    bounds.max_rate_period(), add, required=True)
            _integer(part, "rate.burst", "burst", 1, bounds.max_rate_limit(), add, required=False)
            _key_and_name(part, "rate", roots, keys, add)
    if "debounce" in value and not step:
        part = value["debounce"]
        if _object(part, "debounce", ("key", "seconds"), add):
            _number(part, "debounce.seconds", "seconds", bounds.MIN_DEBOUNCE_SECONDS, bounds.max_debounce(), add,
                    required=True)
            if "key" in part:
                problem = template_problem(part["key"], roots=roots, step_keys=keys)
                if problem:
                    add("debounce.key", problem)
    if "priority" in value and not step:
        problem = template_problem(value["priority"], roots=roots, step_keys=keys, constant_ok=False)
        if problem:
            add("priority", problem)
    return found


def _object(part: Any, where: str, allowed: tuple[str, ...], add) -> bool:
    if not isinstance(part, Mapping):
        add(where, "must be an object")
        return False
    for name in part:
        if name not in allowed:
            add(f"{where}.{name}", f"unknown; {where} takes {', '.join(allowed)}")
    return True


def _integer(part: Mapping, where: str, name: str, low: int, high: int, add, *, required: bool) -> None:
    if name not in part:
        if required:
            add(where, "is required")
        return
    number = part[name]
    if isinstance(number, bool) or not isinstance(number, int):
        add(where, "must be a whole number")
    elif not low <= number <= high:
        add(where, f"must be between {low} and {high}")


def _number(part: Mapping, where: str, name: str, low: float, high: float, add, *, required: bool) -> None:
    if name not in part:
        if required:
            add(where, "is required")
        return
    number = part[name]
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        add(where, "must be a number of seconds")
    elif not low <= number <= high:
        add(where, f"must be between {low:g} and {high:g} seconds")


def _key_and_name(part: Mapping, where: str, roots, keys, add) -> None:
    if "key" in part:
        problem = template_problem(part["key"], roots=roots, step_keys=keys)
        if problem:
            add(f"{where}.key", problem)
    if "name" in part and (not isinstance(part["name"], str) or not _NAME.match(part["name"])):
        add(f"{where}.name", f"a limit's name has 1 to {NAME_MAX_LENGTH} characters: {NAME_HELP}")


def template_problem(template: Any, *, roots=WORKFLOW_ROOTS, step_keys: set[str] | None = None,
                     constant_ok: bool = True) -> str | None:
    """Why a key (or priority) template cannot be saved, or None. A constant text is a key shared by
    every run ("sms-provider"); a priority must read the run's data."""
    if not isinstance(template, str):
        return "must be a text (a template over the run's data, or a constant)"
    if len(template) > TEMPLATE_MAX_LENGTH:
        return f"is {len(template)} characters; at most {TEMPLATE_MAX_LENGTH}"
    if not templating.is_template(template):
        return None if constant_ok and template else "must be a template over the run's data, e.g. {{ input.tier }}"
    error = templating.syntax_error(template)
    if error:
        return error
    try:
        paths = templating.variable_paths(template)
    except TemplateSyntaxError as exc:  # syntax_error said it parses; kept for safety
        return f"template does not parse: {exc.message}"
    for found in paths:
        if found[0] not in roots:
            return f"reads {found[0]!r}: it may read {' and '.join(r + '.<...>' for r in roots)} only"
        if found[0] == "steps" and step_keys is not None and (len(found) < 2 or found[1] not in step_keys):
            return f"reads step {found[1] if len(found) > 1 else ''!r}, which this workflow does not have"
    return None


# --- the parsed form, when runs read it ---------------------------------------------------------

def parse(value: Any, *, step: bool = False) -> Limits:
    """A stored `limits` value as runs read it. Lenient: a part that breaks a rule now is left out,
    and numbers are clamped to today's bounds."""
    if not isinstance(value, Mapping) or not value:
        return NONE
    return Limits(
        concurrency=_parse_concurrency(value.get("concurrency")),
        rate=_parse_rate(value.get("rate")),
        debounce=None if step else _parse_debounce(value.get("debounce")),
        priority="" if step or not isinstance(value.get("priority"), str) else value["priority"],
    )


def _text(part: Mapping, name: str) -> str:
    found = part.get(name)
    return found if isinstance(found, str) else ""


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(min(max(value, low), high))


def _seconds(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(min(max(value, low), high))


def _parse_concurrency(part: Any) -> Concurrency | None:
    if not isinstance(part, Mapping) or (high := _int(part.get("max"), 1, bounds.max_concurrency())) is None:
        return None
    return Concurrency(max=high, key=_text(part, "key"), name=_text(part, "name"))


def _parse_rate(part: Any) -> Rate | None:
    if not isinstance(part, Mapping) or (limit := _int(part.get("limit"), 1, bounds.max_rate_limit())) is None:
        return None
    period = _seconds(part.get("per_seconds"), bounds.MIN_RATE_PERIOD_SECONDS, bounds.max_rate_period())
    if period is None:
        return None
    burst = _int(part.get("burst"), 1, bounds.max_rate_limit()) or 1
    return Rate(limit=limit, per_seconds=float(period), burst=burst, key=_text(part, "key"), name=_text(part, "name"))


def _parse_debounce(part: Any) -> Debounce | None:
    if not isinstance(part, Mapping):
        return None
    seconds = _seconds(part.get("seconds"), bounds.MIN_DEBOUNCE_SECONDS, bounds.max_debounce())
    return None if seconds is None else Debounce(seconds=float(seconds), key=_text(part, "key"))


def priority_of(value: Any) -> int:
    """A rendered priority as the int runs are ordered by (clamped; 0 for anything not a number)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return 0
    return _int(value, PRIORITY_MIN, PRIORITY_MAX) or 0


# --- whose limit ------------------------------------------------------------------------------------

SCOPE_MAX_LENGTH = 250  # RateBucket.scope, LimitLock.scope and the limit_scope columns


def scope(*, owner_id, name: str, workflow_id, step_key: str = "") -> str:
    """Whose limit a limit is (its RateBucket / lock / limit_scope value): a named limit is its owner's,
    shared by every workflow (and step) of theirs naming it ("named:<owner id>:<name>"); an unnamed one
    is its step's ("step:<workflow id>:<key>"), or its workflow's ("workflow:<id>")."""
    if name:
        found = f"named:{owner_id}:{name}"
    elif step_key:
        found = f"step:{workflow_id}:{step_key}"
    else:
        found = f"workflow:{workflow_id}"
    return found[:SCOPE_MAX_LENGTH]


# --- a rate limit's arithmetic ------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    at: datetime  # when the taker may go (now, or later: it waits until then)
    tat: datetime  # the bucket's new theoretical arrival time, to store


def reserve(rate: Rate, tat: datetime | None, now: datetime) -> Slot:
    """The next slot of a rate-limited bucket whose stored theoretical arrival time is `tat` (None: a
    new bucket), taken at `now` (GCRA: at most `burst` at once, then one every `interval` seconds).
    A taker whose slot is later waits for it rather than failing; its slot is reserved, so takers
    queue in order and the limit holds however many ask at once."""
    interval = timedelta(seconds=rate.interval)
    tolerance = interval * (rate.burst - 1)
    base = now if tat is None or tat < now else tat
    at = max(now, base - tolerance)
    return Slot(at=at, tat=base + interval)

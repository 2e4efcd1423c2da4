"""Bounds on what one template or condition may do, so a hostile one cannot hurt anybody else.

- Time: evaluation runs under a trace function that stops it at FLOWPILOT_TEMPLATE_MAX_SECONDS, or
  at the step's deadline if that comes first (`step_deadline`). Python-level work (the template's own
  code, loops, filters written in Python) is interrupted between lines; a C-level call cannot be,
  which is why every operation that can make a value bigger than its inputs is checked first:
- Size: no value a template makes may exceed FLOWPILOT_TEMPLATE_MAX_CHARS characters (a list or an
  object counts as its text). Filters and methods that amplify (center, indent, wordwrap, format,
  join, replace, `*`, `+`, `%`, `~`, ...) are refused BEFORE they allocate; every other filter,
  call and operator result is checked after.
- Nesting: a template whose syntax tree nests deeper than FLOWPILOT_TEMPLATE_MAX_DEPTH is refused
  when parsed (a RecursionError while parsing says the same).

BoundExceeded is what breaks a bound; it is no TypeError or ValueError, so no filter swallows it.
"""

from __future__ import annotations

import contextvars
import operator
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from django.conf import settings
from jinja2 import nodes
from jinja2.environment import Template
from jinja2.filters import make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_environment

MAX_POWER_BITS = 256  # JSON numbers past 2**53 lose precision anyway


class BoundExceeded(Exception):
    """A template broke one of the bounds; the message names the bound (its setting)."""


def max_chars() -> int:
    return settings.FLOWPILOT_TEMPLATE_MAX_CHARS


def _refuse_over(estimate: int, what: str) -> None:
    limit = max_chars()
    if estimate > limit:
        raise BoundExceeded(f"{what} would make {estimate} characters, more than "
                            f"FLOWPILOT_TEMPLATE_MAX_CHARS ({limit})")


def size(value: Any, *, limit: int | None = None) -> int:
    """About how many characters `value` takes as text; stops counting past `limit` (iterative)."""
    limit = max_chars() if limit is None else limit
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, range):
            total += len(item) * (len(str(max(abs(item.start), abs(item.stop)))) + 2)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
    return total


def check(value: Any, what: str) -> Any:
    """`value`, or BoundExceeded when it is bigger than the bound."""
    _refuse_over(size(value, limit=max_chars()), what)
    return value


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


_FORMAT_NUMBER = re.compile(r"\d+")


def format_size(fmt: Any, args: Any = (), kwargs: Any = None) -> int:
    """An upper bound, roughly, of what `fmt % args` or `fmt.format(...)` makes: widths and
    precisions written in the format, `*` widths taken from the arguments, and the arguments."""
    text = str(fmt)
    values = list(args if isinstance(args, (list, tuple)) else [args]) + list((kwargs or {}).values())
    if isinstance(args, dict):
        values += list(args.values())
    estimate = len(text) + sum(size(v) for v in values)
    estimate += sum(int(n) for n in _FORMAT_NUMBER.findall(text) if len(n) < 20) or 0
    if any(len(n) >= 20 for n in _FORMAT_NUMBER.findall(text)):
        estimate += 10 ** 19
    if "*" in text:
        estimate += sum(abs(v) for v in values if isinstance(v, int))
    return estimate


def _wrap_size(value: Any, width: Any, wrapstring: Any) -> int:
    text = str(value)
    lines = len(text) // max(_int(width, 1), 1) + 1 + text.count("\n")
    return len(text) + lines * len(str(wrapstring if wrapstring is not None else "\n"))


def _replace_size(text: Any, old: Any, new: Any, count: Any = None) -> int:
    text, old, new = str(text), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if count is not None and _int(count, -1) >= 0:
        hits = min(hits, _int(count))
    return len(text) + hits * max(len(new) - len(old), 0)


def _join_size(items: Any, separator: Any) -> int:
    items = list(items) if not isinstance(items, (list, tuple, str)) else items
    return size(items) + len(str(separator)) * max(len(items) - 1, 0)


# What an amplifying filter would make, from its arguments (the same arguments the filter gets,
# including the environment or eval context Jinja passes first to some of them).
_FILTER_ESTIMATES = {
    "center": lambda value, width=80: max(len(str(value)), _int(width)),
    "indent": lambda s, width=4, *a, **k: len(str(s)) + (str(s).count("\n") + 1) * (
        len(width) if isinstance(width, str) else _int(width)),
    "wordwrap": lambda env, s, width=79, break_long_words=True, wrapstring=None, *a, **k: _wrap_size(
        s, width, wrapstring),
    "format": lambda value, *args, **kwargs: format_size(value, args, kwargs),
    "join": lambda ctx, value, d="", attribute=None: _join_size(value, d),
    "replace": lambda ctx, s, old, new, count=None: _replace_size(s, old, new, count),
    "batch": lambda value, linecount, fill_with=None: _int(linecount),
    "slice": lambda value, slices, fill_with=None: _int(slices),
    "tojson": lambda ctx, value, indent=None: size(value) * (1 + max(_int(indent), 0)),
}

# The same for str methods called from a template ('x'.center(10**9)).
_METHOD_ESTIMATES = {
    "center": lambda s, width, *a: max(len(s), _int(width)),
    "ljust": lambda s, width, *a: max(len(s), _int(width)),
    "rjust": lambda s, width, *a: max(len(s), _int(width)),
    "zfill": lambda s, width: max(len(s), _int(width)),
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t") * max(_int(tabsize), 0),
    "replace": lambda s, old, new, count=-1: _replace_size(s, old, new, count),
    "join": lambda s, items: _join_size(items, s),
    "format": lambda s, *args, **kwargs: format_size(s, args, kwargs),
    "format_map": lambda s, mapping: format_size(s, (), mapping),
}


def _bounded_filter(name: str, fn):
    estimate = _FILTER_ESTIMATES.get(name)

    @wraps(fn)  # keeps Jinja's pass_environment / pass_eval_context marks
    def bounded(*args, **kwargs):
        if estimate is not None:
            try:
                guess = estimate(*args, **kwargs)
            except TypeError:  # arguments the filter will refuse itself
                guess = 0
            _refuse_over(guess, f"|{name}")
        return check(fn(*args, **kwargs), f"|{name}")

    return bounded


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    """Jinja's sum, but lists and strings are added one by one under the size bound (a C-level sum
    of lists is quadratic and cannot be interrupted)."""
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        total = environment.call_binop(None, "+", total, item)
    return total


def _bounded_join(parts: Iterator) -> str:
    """`"".join` for the buffers Jinja joins (macros, {% set %} blocks, ~), under the size bound."""
    out, total, limit = [], 0, max_chars()
    for part in parts:
        text = part if isinstance(part, str) else str(check(part, "~"))
        total += len(text)
        if total > limit:
            _refuse_over(total, "joining the text")
        out.append(text)
    return "".join(out)


def _str_join(seq) -> str:
    return _bounded_join(iter(seq))


class _BoundedTemplate(Template):
    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        # The compiled code imports these from jinja2.runtime; `~` and markup joins go through them.
        namespace["str_join"] = _str_join
        namespace["markup_join"] = _str_join
        return super()._from_namespace(environment, namespace, globals)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with every operator, call and filter result under the size bound."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = _BoundedTemplate
    concat = staticmethod(_bounded_join)

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, fn) for name, fn in self.filters.items()}
        self.filters["sum"] = _sum

    def call_binop(self, context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(left, (int, float)) and isinstance(right, (int, float)):
                if abs(right) > 1 and abs(left) > 1 and \
                        abs(right) * max(int(abs(left)), 2).bit_length() > MAX_POWER_BITS:
                    raise BoundExceeded(f"the result of ** would be larger than {MAX_POWER_BITS} bits")
            return operator.pow(left, right)
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    _refuse_over(size(seq) * times, "*")
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                raise BoundExceeded(f"the result of * would be larger than {MAX_POWER_BITS} bits")
            return operator.mul(left, right)
        if op == "%":
            if isinstance(left, str):
                _refuse_over(format_size(left, right), "%")
            return check(operator.mod(left, right), "%")
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _refuse_over(size(left) + size(right), "+")
        return operator.add(left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        # Jinja's sandbox hands str.format over wrapped (functools.update_wrapper): look through it.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        estimate = _METHOD_ESTIMATES.get(getattr(__obj, "__name__", "")) if isinstance(owner, str) else None
        if estimate is not None:
            try:
                guess = estimate(owner, *args, **kwargs)
            except TypeError:
                guess = 0
            _refuse_over(guess, f".{__obj.__name__}()")
        return check(super().call(__context, __obj, *args, **kwargs), "a call")


# --- nesting -------------------------------------------------------------------------------------

def max_depth() -> int:
    return settings.FLOWPILOT_TEMPLATE_MAX_DEPTH


def depth_error() -> str:
    return f"nests deeper than FLOWPILOT_TEMPLATE_MAX_DEPTH ({max_depth()})"


def tree_depth(tree: nodes.Node) -> int:
    """How deep a Jinja syntax tree nests (iterative: a deep tree is measured, not recursed)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.iter_child_nodes())
    return deepest


# Filters whose work is a C-level call bounded by the size checks (no Python loop to watch).
_PLAIN_FILTERS = frozenset({
    "abs", "capitalize", "center", "count", "d", "default", "e", "escape", "first", "float", "forceescape",
    "format", "indent", "int", "join", "last", "length", "list", "lower", "replace", "reverse", "round",
    "safe", "string", "striptags", "title", "tojson", "trim", "truncate", "upper", "urlencode", "wordcount",
})


# A template this small, with no loop and only plain filters, does bounded work without the watch.
_UNWATCHED_NODES = 100


def needs_watch(tree: nodes.Node) -> bool:
    """Whether evaluating `tree` could take long: loops, macros, a filter that is not plain, or many
    operations. Other templates (most) run without the time watch, which costs 4-5 times the rendering."""
    count = 0
    for node in tree.find_all(nodes.Node):
        count += 1
        if count > _UNWATCHED_NODES or isinstance(node, (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock)):
            return True
        if isinstance(node, nodes.Filter) and node.name not in _PLAIN_FILTERS:
            return True
    return False


# --- time ----------------------------------------------------------------------------------------

# A template's own code and the stdlib loops its filters run (textwrap, pprint) are checked on every
# line; any other frame when it is called or resumed (a generator filter: per item). Line events
# everywhere cost 5-20 times the rendering; C-level work is bounded by the size checks instead.
_LOOPING_CODE = ("<template>", "textwrap.py", "pprint.py")

_step_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("template_step_deadline",
                                                                              default=None)


@contextmanager
def step_deadline(at: float):
    """Templates evaluated inside stop at monotonic time `at` (the step's timeout) at the latest."""
    token = _step_deadline.set(at)
    try:
        yield
    finally:
        _step_deadline.reset(token)


@contextmanager
def time_limit(*, watch: bool = True):
    """Stop the Python code run inside (this thread only) at the template time bound or the step's
    deadline, whichever comes first, with BoundExceeded naming it. Without `watch`, only refuse to
    start past the deadline."""
    seconds = settings.FLOWPILOT_TEMPLATE_MAX_SECONDS
    own = time.monotonic() + seconds
    outer = _step_deadline.get()
    at = min(own, outer) if outer is not None else own
    bound = "the step's timeout" if outer is not None and outer < own else \
        f"FLOWPILOT_TEMPLATE_MAX_SECONDS ({seconds:g} s)"

    def trace(frame, event, arg):
        if time.monotonic() > at:
            raise BoundExceeded(f"evaluation took longer than {bound}")
        return trace if frame.f_code.co_filename.endswith(_LOOPING_CODE) else None

    if not watch:
        if time.monotonic() > at:
            raise BoundExceeded(f"evaluation took longer than {bound}")
        yield
        return
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(previous)

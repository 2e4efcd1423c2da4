"""Templates and conditions over a run's data, in Jinja2's immutable sandbox, never eval.

Templates see plain JSON only: `input`, `steps.<key>.output`, `execution`. A string that is exactly
one `{{ expression }}` keeps the expression's type (a number stays a number, an object an object);
any other string renders to text. Work and output are bounded: big ranges, powers and repetitions
fail with a clear error instead of eating the worker.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError

from . import json_values, template_limits

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


class TemplateError(Exception):
    """A template that cannot be parsed or rendered; `field` names where it sits in the config."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


_env = template_limits.BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.globals = {"range": _env.globals["range"], "dict": dict}


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _expression(text: str) -> str | None:
    """The expression of a string that is exactly one {{ expression }} (its value keeps its type),
    else None: the one rule for rendering and for the save-time check alike."""
    match = _SINGLE_EXPRESSION.match(text)
    return match.group("expr") if match and "{{" not in match.group("expr") else None


def _condition_source(condition: str) -> str:
    """A condition, bare (`input.amount > 100`) or wrapped in {{ }}, as the template evaluating it."""
    expr = _expression(condition)
    return "{{ " + (condition if expr is None else expr) + " }}"


def _tree(text: str) -> nodes.Template:
    """The syntax tree of a template (TemplateSyntaxError if it does not parse or nests too deeply)."""
    expr = _expression(text)
    try:
        tree = _env.parse("{{ " + expr + " }}" if expr is not None else text)
    except RecursionError:
        raise TemplateSyntaxError(template_limits.depth_error(), 1) from None
    if template_limits.tree_depth(tree) > template_limits.max_depth():
        raise TemplateSyntaxError(template_limits.depth_error(), 1)
    return tree


@lru_cache(maxsize=512)
def _compiled(text: str) -> tuple[Template | TemplateExpression, bool]:
    """What renders `text` (an expression keeping its value's type, or a text template), and whether
    it runs under the time watch. Saving a template compiles it here too: what saves is what renders."""
    tree = _tree(text)
    watch = template_limits.needs_watch(tree)
    with template_limits.time_limit(watch=watch):  # Jinja folds constants (runs filters) while compiling
        return _compile(tree, expression=_expression(text) is not None), watch


def _compile(tree: nodes.Template, *, expression: bool) -> Template | TemplateExpression:
    try:
        if not expression:
            return _env.from_string(tree)
        body = tree.body
        if not (len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1):
            raise TemplateSyntaxError("not one expression", 1)
        assign = nodes.Template([nodes.Assign(nodes.Name("result", "store"), body[0].nodes[0])], lineno=1)
        return TemplateExpression(_env.from_string(assign), False)
    except (RecursionError, SyntaxError, MemoryError):  # Python's own compiler on a deep expression
        raise TemplateSyntaxError(template_limits.depth_error(), 1) from None


def syntax_error(text: str) -> str | None:
    """None if `text` parses as a template (or a bare condition), else what is wrong with it."""
    if not is_template(text):
        return None
    try:
        _compiled(text)
    except TemplateSyntaxError as exc:
        return f"template does not parse: {exc.message} (line {exc.lineno})"
    except template_limits.BoundExceeded as exc:
        return f"template does not compile: {exc}"
    return None


def condition_syntax_error(text: str) -> str | None:
    try:
        _compiled(_condition_source(text))
    except TemplateSyntaxError as exc:
        return f"condition does not parse: {exc.message}"
    except template_limits.BoundExceeded as exc:
        return f"condition does not compile: {exc}"
    return None


def render(text: str, data: dict, *, field: str = "") -> Any:
    """Render one string. Exactly one {{ expression }} keeps its value's type; otherwise text.
    The value must be JSON and within the bounds of workflows/template_limits.py."""
    if not is_template(text):
        return text
    try:
        if "secrets" in data and "secrets" in text and _misuses_secrets(_tree(text)):
            raise TemplateError(SECRET_MISUSE, field=field)
        compiled, watch = _compiled(text)
        with template_limits.time_limit(watch=watch):
            if isinstance(compiled, TemplateExpression):
                value = compiled(**data)
                if isinstance(value, Undefined):
                    value._fail_with_undefined_error()
            else:
                value = _text(compiled, data)
        problem = json_values.problem(value, max_depth=settings.FLOWPILOT_JSON_MAX_DEPTH)
        if problem:
            raise TemplateError(problem, field=field)
        template_limits.check(value, "the rendered value")
        return value
    except TemplateError:
        raise
    except UndefinedError as exc:
        missing = _missing_path(text, data)
        what = f"undefined variable {missing!r}" if missing else str(exc.message)
        raise TemplateError(what, field=field) from None
    except template_limits.BoundExceeded as exc:
        raise TemplateError(f"bound exceeded: {exc}", field=field) from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed: {exc}", field=field) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template does not parse: {exc.message}", field=field) from None
    except RecursionError:
        raise TemplateError("bound exceeded: calls nest too deeply (RecursionError)", field=field) from None
    except Exception as exc:  # noqa: BLE001  (a template's own error, never the caller's crash)
        raise TemplateError(f"{type(exc).__name__}: {exc}", field=field) from None


def _text(template: Template, data: dict) -> str:
    chunks, size, limit = [], 0, template_limits.max_chars()
    for chunk in template.generate(**data):
        size += len(chunk)
        if size > limit:
            raise template_limits.BoundExceeded(f"the rendered text exceeds FLOWPILOT_TEMPLATE_MAX_CHARS ({limit})")
        chunks.append(chunk)
    return "".join(chunks)


SECRET_MISUSE = ("filters cannot be applied to secrets: {{ secrets.NAME }} may only be written whole into "
                 "the text (no filter, operation, attribute, index, slice, test or assignment)")
# What a secret may pass through on its way into the text: joined (~) with other text, inside an
# {% if %} or a non-recursive {% for %}. Anything else (a filter, a call, a comparison, {% set %},
# a macro, a block or {% filter %} that yields a string to transform) could derive a value from it.
_WHOLE_INTO_TEXT = (nodes.Concat, nodes.Output, nodes.If, nodes.For, nodes.Template)


def _misuses_secrets(tree: nodes.Template) -> bool:
    """True if `secrets` is used otherwise than as {{ secrets.NAME }} (or secrets['NAME']) written
    whole into the text: each derived value would be a form of the secret that redaction misses."""

    def written_whole(name: nodes.Name, ancestors: tuple) -> bool:
        if not ancestors:
            return False
        ref, rest = ancestors[-1], ancestors[:-1]
        if not (isinstance(ref, nodes.Getattr) or (isinstance(ref, nodes.Getitem) and isinstance(ref.arg, nodes.Const)
                                                    and isinstance(ref.arg.value, str))) or ref.node is not name:
            return False
        while rest and isinstance(rest[-1], nodes.Concat):
            rest = rest[:-1]
        return bool(rest) and isinstance(rest[-1], nodes.Output) and all(
            isinstance(node, _WHOLE_INTO_TEXT) and not (isinstance(node, nodes.For) and node.recursive)
            for node in rest)

    def walk(node: nodes.Node, ancestors: tuple) -> bool:
        if isinstance(node, nodes.Name) and node.name == "secrets":
            return not written_whole(node, ancestors)
        return any(walk(child, (*ancestors, node)) for child in node.iter_child_nodes())

    return walk(tree, ())


def render_config(config: Any, data: dict, *, field: str = "", raw: tuple[str, ...] = (),
                  placeholders: tuple[str, ...] = ()) -> Any:
    """Render every string inside a JSON value; `field` paths name where an error is (e.g. body.phone).

    `raw` lists field paths left as they are, for a handler that renders them itself (per item of a
    list, say); "[]" matches any list index: "transforms[].template". `placeholders` lists the
    (string) fields that also take `{field}` placeholders from the input (render_placeholders).
    """
    if raw and _is_raw(field, raw):
        return config
    if isinstance(config, dict):
        return {k: render_config(v, data, field=f"{field}.{k}" if field else str(k), raw=raw,
                                 placeholders=placeholders)
                for k, v in config.items()}
    if isinstance(config, list):
        return [render_config(v, data, field=f"{field}[{i}]", raw=raw, placeholders=placeholders)
                for i, v in enumerate(config)]
    if isinstance(config, str):
        if placeholders and _is_raw(field, placeholders):
            return render_placeholders(config, data, field=field)
        return render(config, data, field=field)
    return config


# `{name}` or `{a.b.0}` as str.format users write it, not part of a `{{` or `}}`.
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}(?!\})")
# The template language's own parts of a text: placeholders are looked for only outside them.
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLACEHOLDER_VALUES = "placeholder_values__"  # what the rewritten text reads the values from
_ABSENT = object()


def has_placeholders(text: Any) -> bool:
    return isinstance(text, str) and any(
        _PLACEHOLDER.search(part) for part in _TAG.split(text))


def _input_value(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _ABSENT
    return value


def render_placeholders(text: str, data: dict, *, field: str = "") -> str:
    """Render a text that takes `{field}` placeholders from `data["input"]` ("Processing {order_id}",
    {customer.email}) besides {{ }} templates. A placeholder of a missing field stays as written.

    Each placeholder outside a template tag becomes an expression reading its value (a string; JSON
    for other values), and the text is rendered once: a value is never interpolated or rendered again,
    whatever braces it holds, and a `{` inside a `{{ }}` is the template's own.
    """
    values: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        found = _input_value(data.get("input"), match.group(1))
        name = f"p{len(values)}"
        values[name] = match.group(0) if found is _ABSENT else (
            found if isinstance(found, str) else json.dumps(found, ensure_ascii=False, default=str))
        return "{{ " + _PLACEHOLDER_VALUES + "." + name + " }}"

    parts, end = [], 0
    for tag in _TAG.finditer(text):
        parts.extend((_PLACEHOLDER.sub(replace, text[end:tag.start()]), tag.group(0)))
        end = tag.end()
    parts.append(_PLACEHOLDER.sub(replace, text[end:]))
    if not values:
        return render(text, data, field=field)
    value = render("".join(parts), {**data, _PLACEHOLDER_VALUES: values}, field=field)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _is_raw(field: str, raw: tuple[str, ...]) -> bool:
    generic = re.sub(r"\[\d+\]", "[]", field)
    return generic in raw


def evaluate(condition: str, data: dict, *, field: str = "when") -> bool:
    """A condition: a bare expression (`input.amount > 100`) or one wrapped in {{ }}."""
    return bool(render(_condition_source(condition), data, field=field))


def template_errors(config: Any, *, field: str = "") -> list[tuple[str, str]]:
    """(field, message) for each string of a config that does not parse: the save-time check."""
    if isinstance(config, dict):
        return [e for k, v in config.items() for e in template_errors(v, field=f"{field}.{k}" if field else str(k))]
    if isinstance(config, list):
        return [e for i, v in enumerate(config) for e in template_errors(v, field=f"{field}[{i}]")]
    if isinstance(config, str):
        error = syntax_error(config)
        return [(field, error)] if error else []
    return []


def secret_names(config: Any) -> set[str]:
    """The credential names a config refers to as {{ secrets.NAME }} (resolved only if referred to)."""
    if isinstance(config, dict):
        return set().union(*(secret_names(v) for v in config.values())) if config else set()
    if isinstance(config, list):
        return set().union(*(secret_names(v) for v in config)) if config else set()
    if not (is_template(config) and "secrets" in config):
        return set()
    try:
        tree = _tree(config)
    except TemplateSyntaxError:
        return set()
    return {str(path[1]) for path in _paths(tree) if path[0] == "secrets" and len(path) > 1}


def variable_paths(text: str) -> list[list]:
    """The variable paths a template reads (["input", "phone"], ["steps", "crm", "output", "id"]), in
    source order; TemplateSyntaxError if it does not parse. A plain string reads none."""
    if not is_template(text):
        return []
    return _paths(_tree(text))


def missing_path(text: str, data: dict) -> str | None:
    """The first variable path of `text` that `data` does not have ("input.phone"), or None."""
    return _missing_path(text, data)


def _missing_path(text: str, data: dict) -> str | None:
    """The first dotted variable path in `text` that the data does not have (for a clear message)."""
    try:
        tree = _tree(text)
    except TemplateSyntaxError:
        return None
    for path in _paths(tree):
        value: Any = data
        for i, part in enumerate(path):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value):
                value = value[part]
            else:
                return ".".join(str(p) for p in path[: i + 1])
    return None


def _paths(tree: nodes.Node) -> list[list]:
    """Variable paths like ['steps', 'create', 'output', 'id'] in source order, outermost chains only."""
    found: list[list] = []

    def chain(node) -> list | None:
        if isinstance(node, nodes.Name):
            return [node.name]
        if isinstance(node, nodes.Getattr):
            base = chain(node.node)
            return base + [node.attr] if base is not None else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = chain(node.node)
            return base + [node.arg.value] if base is not None else None
        return None

    def walk(node) -> None:
        path = chain(node) if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)) else None
        if path is not None and path[0] not in _env.globals:
            found.append(path)
            return
        for child in node.iter_child_nodes():
            walk(child)

    walk(tree)
    return found

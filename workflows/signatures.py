"""Error signatures: one failure's message with its variable parts stripped, so that failures that
differ only in numbers, ids or values group together ("which error fails create_patient most?").

Pure functions, no ORM. `states.transition_rows` stores `signature(message)` with every error it
writes (TaskExecution.error_signature), so grouping is plain SQL on an indexed column.
"""

from __future__ import annotations

import hashlib
import re

MAX_PATTERN = 500  # the pattern shown for a group is cut here (the hash covers all of it)

_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^/\s?#'\"<>]+)([^\s?#'\"<>]*)(\?[^\s#'\"<>]*)?(#\S*)?", re.I)
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`[^`\n]*`")
_UUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I)
_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I)
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_SPACE = re.compile(r"\s+")


def _variables(text: str) -> str:
    text = _UUID.sub("<uuid>", text)
    text = _TIME.sub("<time>", text)
    text = _EMAIL.sub("<email>", text)
    text = _HEX.sub("<hex>", text)
    return _NUMBER.sub("<n>", text)


def _values(text: str) -> str:
    """Text outside urls: quoted values keep their quotes only, then the variables."""
    return _variables(_QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[-1], text))


def _url(match: re.Match) -> str:
    scheme, host, path, query, _fragment = match.groups()
    host = _NUMBER.sub("<n>", host) if re.fullmatch(r"[\d.:]+|\[[0-9a-f:]+\](?::\d+)?", host, re.I) else \
        re.sub(r":\d+$", ":<n>", host)
    segments = [_variables(s) if _UUID.search(s) or _HEX.search(s) or re.search(r"\d", s) else s
                for s in path.split("/")]
    return f"{scheme}{host}{'/'.join(segments)}{'?<query>' if query else ''}"


def normalise(message: str) -> str:
    """The message's pattern: urls keep their scheme, host and fixed path segments (a path segment
    with digits or an id, the port, the query and the fragment are replaced); quoted values,
    uuids, timestamps, emails, hex ids and numbers become placeholders; whitespace is collapsed."""
    text = _SPACE.sub(" ", message or "").strip()
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):  # urls first, so that their parts are not taken for values
        out.append(_values(text[last:match.start()]))
        out.append(_url(match))
        last = match.end()
    out.append(_values(text[last:]))
    return "".join(out)


def signature(message: str) -> str:
    """A short stable id of the message's pattern (16 hex characters), what failures group by."""
    return hashlib.sha256(normalise(message).encode()).hexdigest()[:16]


def pattern(message: str) -> str:
    """The pattern shown for a group, at most MAX_PATTERN characters."""
    text = normalise(message)
    return text if len(text) <= MAX_PATTERN else text[:MAX_PATTERN - 1] + "…"

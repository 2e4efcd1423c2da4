"""Small terminal helpers for the ops commands: a plain-text table, a progress bar, `--since` values."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
AGO = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """`2h`, `30m`, `7d` (that long ago) or an ISO date or time; an argparse `type=`."""
    if match := AGO.match(value):
        return (now or timezone.now()) - timedelta(**{UNITS[match[2]]: int(match[1])})
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:  # well formed but impossible, e.g. 2024-02-30
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a duration like 2h, 30m, 7d nor an ISO date or time")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, under a header and a rule."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


class Progress:
    """A textual progress bar on a command's stderr: redrawn in place on a terminal, one line per item
    when the output is a file or a pipe (so that logs stay readable)."""

    def __init__(self, out, total: int, *, width: int = 30):
        self.out, self.total, self.width, self.done = out, total, width, 0
        self.live = bool(getattr(out, "isatty", lambda: False)())
        self._drawn = 0

    def advance(self, label: str = "") -> None:
        self.done += 1
        filled = self.width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}".rstrip()
        if not self.live:
            self._write(line, ending="\n")
            return
        self._write("\r" + line.ljust(self._drawn), ending="\n" if self.done >= self.total else "")
        self._drawn = len(line)
        self.out.flush()

    def _write(self, text: str, *, ending: str) -> None:
        # A command's stderr is styled as an error by default; a progress bar is not one.
        self.out.write(text, style_func=lambda s: s, ending=ending)

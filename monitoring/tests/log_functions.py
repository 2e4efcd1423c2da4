"""A step function that writes an ordinary Python log line (registered in the test process and in
the workers of the log format test)."""

from __future__ import annotations

import logging

from workflows.steps import step_function

log = logging.getLogger("flowpilot.tests.steps")


@step_function("log_a_line")
def log_a_line(text: str = "hello") -> dict:
    log.warning("a line from inside the step: %s", text)
    return {"logged": text}

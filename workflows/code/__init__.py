"""Workflows written in Python, run by the same engine as designed ones (docs/adr/0010).

    from workflows.code import workflow, step, get_context, goto, complete, fail, sleep, wait, Retry, engine
    from workflows.code import WorkflowRun, WorkflowStatus    # code runs as a model (runs.py)
"""

from ..engine.executors import SynchronousExecutor
from .engine import Engine, Run, engine
from .registry import CodeWorkflowError, Retry, UnknownCodeWorkflow, action, event_workflow, step, workflow
from .results import complete, fail, goto, sleep, wait, wait_for_event
from .runs import WorkflowRun, WorkflowStatus
from .runtime import CodeEvent, get_context

__all__ = [
    "CodeEvent", "CodeWorkflowError", "Engine", "Retry", "Run", "SynchronousExecutor", "UnknownCodeWorkflow",
    "WorkflowRun", "WorkflowStatus",
    "action", "complete", "engine", "event_workflow", "fail", "get_context", "goto", "sleep", "step", "wait",
    "wait_for_event", "workflow",
]

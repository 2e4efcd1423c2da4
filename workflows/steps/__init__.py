"""Step types. Importing this package registers the built-in ones."""

from . import delay, http_request, log, python, slack  # noqa: F401  (registration)
from . import conditional, sub_workflow, wait_for_signal  # noqa: F401  (registration)
from . import data_transform, file, send_email, sql  # noqa: F401  (registration)
from .base import RunChildren, StepContext, StepError, StepType, Wait
from .python import step_function
from .registry import register, step_type

__all__ = ["RunChildren", "StepContext", "StepError", "StepType", "Wait", "register", "step_function", "step_type"]

"""Services: every write the API, the admin, the commands and the triggers make goes through here.

definitions.py: workflows and their graphs (save, check, activate, delete); executions.py: runs
(start, retry, cancel, signal, bulk retry); overrides.py: edit and resume (a retry's overrides);
reruns.py: rerun a finished run from a step (one or in bulk); replays.py: a finished run replayed as a
dry run; test_runs.py: a test run with the workflow's pinned data. Shared reads are workflows/selectors.py.
"""

from .definitions import (
    UPSTREAM,
    WORKFLOW_FIELDS,
    check_editable,
    check_storable,
    step_add,
    step_delete,
    step_get,
    step_key_from_name,
    step_update,
    version_publish,
    workflow_activate,
    workflow_archive,
    workflow_create,
    workflow_duplicate,
    workflow_delete,
    workflow_update,
    workflow_validate,
)
from .executions import (
    BulkRetry,
    RETRY_VERSIONS,
    execution_cancel,
    execution_retry,
    executions_retry,
    retry_takeover,
    execution_signal,
    StartItem,
    execution_start,
    executions_retry_failed,
    executions_start,
)
from .pausing import BulkPause, execution_pause, execution_unpause, executions_pause, workflow_pause, workflow_unpause
from .replays import REPLAY_VERSIONS, execution_replay
from .test_runs import execution_test_run
from .reruns import BulkRerun, RERUN_STATUSES, execution_rerun, executions_rerun

__all__ = [
    "BulkPause", "execution_pause", "execution_unpause", "executions_pause", "workflow_pause", "workflow_unpause",
    "BulkRerun", "RERUN_STATUSES", "execution_rerun", "executions_rerun",
    "REPLAY_VERSIONS", "execution_replay", "execution_test_run",
    "BulkRetry", "RETRY_VERSIONS", "executions_retry", "retry_takeover", "workflow_duplicate", "workflow_archive",
    "StartItem", "UPSTREAM", "WORKFLOW_FIELDS", "check_editable", "check_storable", "execution_cancel", "execution_retry",
    "execution_signal", "execution_start", "executions_retry_failed", "executions_start", "step_add", "step_delete",
    "step_get", "step_key_from_name", "step_update", "version_publish",
    "workflow_activate", "workflow_create", "workflow_delete", "workflow_update", "workflow_validate",
]

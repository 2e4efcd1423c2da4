from workflows.tests.conftest import (  # noqa: F401 (fixtures)
    api,
    fresh_definition_cache,
    other_user,
    sync_executor,
    user,
)
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401 (fixtures)

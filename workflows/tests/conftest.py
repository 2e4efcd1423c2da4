import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from workflows.engine.executors import SynchronousExecutor, set_executor
from workflows.tests.embedded import embedded  # noqa: F401 (a fixture: `make run` as a subprocess)


@pytest.fixture(autouse=True)
def fresh_definition_cache():
    """Rolled-back test transactions reuse primary keys (SQLite); production versions never change."""
    from workflows.engine.definition import for_version, version_id

    for_version.cache_clear()
    version_id.cache_clear()
    yield
    for_version.cache_clear()
    version_id.cache_clear()


@pytest.fixture(autouse=True)
def sync_executor(request):
    """Steps run in this process when drained, unless the test runs real workers (e2e)."""
    if request.node.get_closest_marker("e2e"):
        set_executor(None)
        yield None
        return
    executor = SynchronousExecutor()
    set_executor(executor)
    yield executor
    set_executor(None)


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("mallory")


@pytest.fixture
def api(user, settings):
    # Tests make bursts of requests as one user, and the counters outlive a test (Redis; and a
    # rolled-back SQLite test reuses the user's id): throttling has its own test (accounts/tests).
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    client = APIClient()
    client.force_authenticate(user)
    return client

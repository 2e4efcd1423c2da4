"""What the triggers tests share: the workflows app's fixtures, an emptied cache (webhook rate limits and
listeners live there), one active workflow to hang triggers on, and creating a trigger over the API."""

import pytest
from django.core.cache import cache

from workflows.tests.conftest import api, fresh_definition_cache, other_user, sync_executor, user  # noqa: F401
from workflows.tests.factories import active_workflow, step


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def workflow(user):  # noqa: F811 (the fixture `user`)
    return active_workflow(user, [step("hello", "log", config={"message": "hi {{ input.name }}"})], name="hooked")


def create(api, workflow, **body):  # noqa: F811 (the fixture `api`)
    """A trigger of `workflow` created over the API: its representation."""
    response = api.post(f"/api/v1/workflows/{workflow.pk}/triggers/", body, format="json")
    assert response.status_code == 201, response.data
    return response.data

import pytest
from rest_framework.test import APIClient

from workflows.tests.conftest import other_user, user  # noqa: F401  (the same users as everywhere)


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client

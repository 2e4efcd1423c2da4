from workflows.tests.conftest import api, fresh_definition_cache, other_user, sync_executor, user  # noqa: F401

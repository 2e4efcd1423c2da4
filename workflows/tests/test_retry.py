import random

import pytest

from workflows.engine.planner.retry import RetryPolicy


def test_backoff_grows_exponentially_within_jitter_bounds_and_caps():
    policy = RetryPolicy(max_retries=10, base_delay=1, backoff_factor=2, max_delay=10)
    assert [policy.delay_bounds(n) for n in range(1, 6)] == [(0.5, 1), (1, 2), (2, 4), (4, 8), (5, 10)]
    rng = random.Random(7)
    for n in range(1, 8):
        low, high = policy.delay_bounds(n)
        assert all(low <= policy.delay(n, rng) <= high for _ in range(50))


def test_no_jitter_gives_exact_delays():
    policy = RetryPolicy(max_retries=3, base_delay=2, backoff_factor=3, max_delay=100, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3)] == [2, 6, 18]


def test_attempt_budget_and_retryability():
    policy = RetryPolicy(max_retries=2)
    assert policy.max_attempts == 3
    assert policy.should_retry(1) and policy.should_retry(2)
    assert not policy.should_retry(3)
    assert not policy.should_retry(1, retryable=False)


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"base_delay": -1}, {"backoff_factor": 0.5},
                                    {"base_delay": 10, "max_delay": 1}])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_step_fields_override_workflow_defaults():
    merged = RetryPolicy.merged({"max_retries": 5, "base_delay": 2.0, "backoff_factor": 2.0, "max_delay": 60.0},
                                {"max_retries": 1, "base_delay": None})
    assert (merged.max_retries, merged.base_delay) == (1, 2.0)

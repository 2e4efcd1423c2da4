"""Taking a slot of a rate limit (workflows/flow_limits.py's `reserve`, a GCRA): one RateBucket row per
limit and key value, locked and updated in the caller's transaction.

    take(scope, key, rate, now) -> Slot

The caller stores the slot with what it was taken for (a run's rate_slot_at) in the same transaction:
a rolled-back transaction gives its slot back, a committed one took it exactly once. Shared by the
run admission's `limits.rate` and a step's (scope "workflow:<id>", "step:<workflow id>:<key>",
"named:<owner id>:<name>": engine/admission.py's `scope` for a workflow's)."""

from __future__ import annotations

from datetime import datetime

from ..flow_limits import Rate, Slot, reserve
from ..models import RateBucket

KEY_MAX_LENGTH = 255


def take(scope: str, key: str, rate: Rate, now: datetime) -> Slot:
    """Reserve the next slot of the bucket (scope, key) at `now`: its row locked until the caller's
    transaction ends (takers of one bucket queue on it; other buckets are not touched). Two queries
    (three the first time a bucket is used)."""
    key = key[:KEY_MAX_LENGTH]
    bucket = RateBucket.objects.select_for_update().filter(scope=scope, key=key).only("id", "tat").first()
    if bucket is None:
        # A new bucket: inserted once (a concurrent first taker's insert wins the same row), then locked.
        RateBucket.objects.bulk_create([RateBucket(scope=scope, key=key, tat=now)], ignore_conflicts=True)
        bucket = RateBucket.objects.select_for_update().only("id", "tat").get(scope=scope, key=key)
    slot = reserve(rate, bucket.tat, now)
    RateBucket.objects.filter(pk=bucket.pk).update(tat=slot.tat)
    return slot

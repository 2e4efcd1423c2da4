"""Webhook replay protection, in the database: a signature is accepted once. The unique constraint
decides between two deliveries of the same signature at the same moment; a Redis restart (or a cache
flush) forgets nothing. Rows are kept as long as their timestamp could still pass, then pruned."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from .models import SeenSignature, Trigger


def first_use(trigger: Trigger, signature: str) -> bool:
    """Record `signature` as used; False when it was used before (a replay)."""
    try:
        with transaction.atomic():
            SeenSignature.objects.create(trigger=trigger, signature=signature)
    except IntegrityError:
        return False
    return True


def forget_before(cutoff: datetime) -> int:
    """Delete the signatures accepted before `cutoff`; answers how many."""
    return SeenSignature.objects.filter(created_at__lt=cutoff).delete()[0]

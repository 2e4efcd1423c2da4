"""One table, for the load test's ceiling: what this stack does for a request that inserts one row."""

from django.db import models


class BareRow(models.Model):
    payload = models.JSONField(default=dict, help_text="What the client sent.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the row was inserted.")

"""List filters for executions (django-filter)."""

from datetime import timezone

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from .. import selectors
from ..models import TriggerSource, WorkflowExecution
from ..engine.planner.compensation import PHASES
from ..engine.planner.states import ExecutionStatus


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, as UTC: Python and ISO allow UTC offsets up to 23:59, PostgreSQL only to 15:59
    (further was a 500). The same instant; and one that UTC cannot hold is a 400."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise forms.ValidationError("out of the range of dates", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.UUIDFilter(field_name="workflow_id")
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    triggered_by = django_filters.ChoiceFilter(choices=TriggerSource.choices)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    idempotency_key = django_filters.CharFilter()
    replay_of = django_filters.UUIDFilter(field_name="replay_of_id", help_text="The replays of this run.")
    is_replay = django_filters.BooleanFilter(method="filter_is_replay",
                                             help_text="true: replays only; false: all but replays.")
    test_run = django_filters.BooleanFilter(help_text="true: test runs with pinned data only; false: all but those.")
    phase = django_filters.ChoiceFilter(choices=[(p, p) for p in PHASES], help_text=(
        "Runs whose compensation is in this phase (compensating, compensated, compensation_failed): runs that "
        "failed and were undone are not dead letters, find them here."))

    class Meta:
        model = WorkflowExecution
        fields = ["workflow", "status", "triggered_by", "created_after", "created_before", "idempotency_key",
                  "replay_of", "is_replay", "test_run", "phase"]

    def filter_is_replay(self, queryset, name, value):
        replays = Q(replay_mocks__isnull=False, test_run=False)
        return queryset.filter(replays) if value else queryset.exclude(replays)

    def filter_queryset(self, queryset):
        """The declared filters, then ?search.<name>=<value> (any number of names, so not declared:
        selectors.search_filters_of checks them, a 400 naming the parameter otherwise)."""
        queryset = super().filter_queryset(queryset)
        return selectors.with_search(queryset, selectors.search_filters_of(self.data))


class WorkflowFilter(django_filters.FilterSet):
    status = django_filters.CharFilter()
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

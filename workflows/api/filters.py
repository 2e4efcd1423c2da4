"""List filters for executions (django-filter)."""

import django_filters

from ..models import TriggerSource, WorkflowExecution
from ..states import ExecutionStatus


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.UUIDFilter(field_name="workflow_id")
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    triggered_by = django_filters.ChoiceFilter(choices=TriggerSource.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    idempotency_key = django_filters.CharFilter()

    class Meta:
        model = WorkflowExecution
        fields = ["workflow", "status", "triggered_by", "created_after", "created_before", "idempotency_key"]


class WorkflowFilter(django_filters.FilterSet):
    status = django_filters.CharFilter()
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

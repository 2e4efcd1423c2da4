"""POST /api/v1/actions/<name>/: one route per @action of the code workflows, each with its own
input serializer (its fields plus workflow_run_id), so each is its own operation in the OpenAPI schema."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from pydantic_core import to_jsonable_python
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..code import registry
from ..code.actions import action_submit
from ..errors import NotFound
from ..models import WorkflowExecution
from . import serializers as s
from .views import _detail


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def input_serializer(target: registry.ActionTarget) -> type[serializers.Serializer]:
    base = target.serializer if isinstance(target.serializer, type) and issubclass(
        target.serializer, serializers.Serializer) else serializers.Serializer
    return type(f"{_camel(target.name)}ActionInputSerializer", (base,), {
        "workflow_run_id": serializers.UUIDField(help_text="The run waiting at the action's step."),
        "__module__": __name__,
    })


def action_view(target: registry.ActionTarget) -> type[APIView]:
    request_serializer = input_serializer(target)

    class ActionView(APIView):
        @extend_schema(
            operation_id=f"actions_{target.name.replace('-', '_')}",
            summary=f"Action {target.name}: resume a {target.workflow} run waiting at step {target.step}",
            description=("The validated fields (all but workflow_run_id) become the step's keyword arguments. "
                         "404: no such run of yours; 409: the run is not waiting at that step."),
            tags=["actions"], request=request_serializer, responses=s.ExecutionDetailSerializer)
        def post(self, request):
            data = request_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
            run_id = fields.pop("workflow_run_id")
            execution = WorkflowExecution.objects.visible_to(request.user).filter(pk=run_id).first()
            if execution is None:
                raise NotFound("no such run")
            action_submit(action=target, execution=execution, data=to_jsonable_python(fields), user=request.user)
            return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    ActionView.__name__ = f"{_camel(target.name)}ActionView"
    return ActionView


def action_urls() -> list:
    return [path(f"actions/{target.name}/", action_view(target).as_view(), name=f"action-{target.name}")
            for target in registry.actions()]

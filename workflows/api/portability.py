"""Export and import of workflow documents (see workflows/portability.py): thin HTTP over it."""

from __future__ import annotations

from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from .. import portability
from .parsers import BoundedJSONParser
from ..models import Workflow
from . import serializers as s
from .views import OwnedViewSetMixin, WorkflowViewSet


class WorkflowDocumentSerializer(serializers.Serializer):
    """The document's shape, for the OpenAPI schema; the import validates it with the API's own serializers."""

    flowpilot_export = serializers.IntegerField(
        help_text=f"Format version; this server reads {portability.EXPORT_FORMAT}.")
    workflow = s.WorkflowInputSerializer()
    triggers = serializers.ListField(child=serializers.DictField(), required=False,
                                     help_text="The workflow's triggers, without secrets: a webhook gets a fresh "
                                               "token and secret when imported.")


class ImportQuerySerializer(serializers.Serializer):
    activate = serializers.BooleanField(required=False, allow_null=True, default=None)
    replace = serializers.UUIDField(required=False, allow_null=True, default=None)


class WorkflowExportView(OwnedViewSetMixin, generics.GenericAPIView):
    queryset = Workflow.objects.all()

    @extend_schema(operation_id="workflows_export", responses=WorkflowDocumentSerializer,
                   description="The workflow as a versioned JSON document (an attachment), for git or another install.")
    def get(self, request, pk=None):
        workflow = self.get_object()
        response = Response(portability.export_workflow(workflow))
        response["Content-Disposition"] = f'attachment; filename="{slugify(workflow.name) or "workflow"}.json"'
        return response


class WorkflowImportView(OwnedViewSetMixin, generics.GenericAPIView):
    queryset = Workflow.objects.all()  # the workflows a ?replace= may name
    parser_classes = [BoundedJSONParser]
    serializer_class = WorkflowDocumentSerializer  # what OPTIONS describes (get_serializer() asserts one)

    @extend_schema(
        operation_id="workflows_import", request=WorkflowDocumentSerializer,
        parameters=[
            OpenApiParameter("activate", bool, description="true: activate it; false: keep it a draft; "
                                                           "absent: the document's status."),
            OpenApiParameter("replace", OpenApiTypes.UUID,
                             description="Id of one of your workflows whose definition the document replaces "
                                         "(answers 200)."),
        ],
        responses={201: s.WorkflowSerializer, 200: OpenApiResponse(s.WorkflowSerializer, "replaced")},
        description="Create a workflow from an export document, validated exactly as POST /workflows/ is.")
    def post(self, request):
        query = ImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        replace = query.validated_data["replace"]
        workflow, warnings = portability.import_workflow_warned(
            owner=request.user, document=request.data, activate=query.validated_data["activate"],
            replace=generics.get_object_or_404(self.get_queryset(), pk=replace) if replace else None)
        return Response(s.WorkflowSerializer(WorkflowViewSet.queryset.get(pk=workflow.pk),
                                             context={"warnings": warnings or None}).data,
                        status=status.HTTP_200_OK if replace else status.HTTP_201_CREATED)

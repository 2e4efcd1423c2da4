"""WebSocket routes (Channels): the live execution monitor (workflows/consumers.py)."""

from django.urls import path

from .consumers import ExecutionConsumer, FeedConsumer, WorkflowConsumer

websocket_urlpatterns = [
    path("ws/executions/", FeedConsumer.as_asgi()),
    path("ws/executions/<uuid:execution_id>/", ExecutionConsumer.as_asgi()),
    path("ws/workflows/<uuid:workflow_id>/", WorkflowConsumer.as_asgi()),
]

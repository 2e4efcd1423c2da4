"""WebSocket consumers of the live monitor: authenticate, check ownership, join one group, forward.

    ws/executions/<execution_id>/   transitions and log lines of one execution
    ws/workflows/<workflow_id>/     transitions of every execution of one workflow
    ws/executions/                  transitions of every execution of the user's workflows

The server only speaks: each message is {"type": "events", "events": [...]} (workflows/live.py
makes the events). A refused connection is accepted and closed at once with a code the browser can
read: 4401 (no authenticated user) or 4404 (no such object, or not yours).
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import live
from .group_sender import sender
from .models import Workflow, WorkflowExecution

UNAUTHENTICATED = 4401
NOT_FOUND = 4404


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Joins the group that group_for() names for the connection's user, or closes with a code."""

    group: str | None = None

    async def group_for(self, user) -> str | None:
        raise NotImplementedError

    async def connect(self) -> None:
        sender.attach(asyncio.get_running_loop())  # this process's live messages are sent on this loop
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self.refuse(UNAUTHENTICATED)
        group = await self.group_for(user)
        if group is None:
            return await self.refuse(NOT_FOUND)
        await self.channel_layer.group_add(group, self.channel_name)
        self.group = group
        await self.accept()

    async def refuse(self, code: int) -> None:
        # Closing before accept() would be an HTTP 403 without the code: accept, then close with it.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Clients have nothing to say: what they send is ignored (not even parsed)."""

    async def live_events(self, message: dict) -> None:
        await self.send_json({"type": "events", "events": message["events"]})


class ExecutionConsumer(LiveConsumer):
    async def group_for(self, user) -> str | None:
        execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        visible = await database_sync_to_async(
            WorkflowExecution.objects.visible_to(user).filter(pk=execution_id).exists)()
        return live.execution_group(execution_id) if visible else None


class WorkflowConsumer(LiveConsumer):
    async def group_for(self, user) -> str | None:
        workflow_id = self.scope["url_route"]["kwargs"]["workflow_id"]
        visible = await database_sync_to_async(Workflow.objects.visible_to(user).filter(pk=workflow_id).exists)()
        return live.workflow_group(workflow_id) if visible else None


class FeedConsumer(LiveConsumer):
    async def group_for(self, user) -> str | None:
        return live.user_group(user.pk)

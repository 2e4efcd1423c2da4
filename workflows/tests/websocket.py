"""A WebSocket test client over asgiref's ApplicationCommunicator.

channels.testing's WebsocketCommunicator does the same, but importing channels.testing imports
daphne (for its live-server test case), which this project does not install.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlparse

from asgiref.testing import ApplicationCommunicator


class WebsocketClient(ApplicationCommunicator):
    def __init__(self, application, path: str, headers: list[tuple[bytes, bytes]] | None = None):
        parsed = urlparse(path)
        super().__init__(application, {"type": "websocket", "path": unquote(parsed.path),
                                       "query_string": parsed.query.encode(), "headers": headers or [],
                                       "subprotocols": []})

    async def connect(self, timeout: float = 2) -> tuple[bool, int | None]:
        """(True, None) when accepted; (False, close code) when refused at the handshake."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def receive_json_from(self, timeout: float = 2):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send" and "text" in response, response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 2) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)

"""WebSocket routes (Channels). The live execution monitor's consumers are added here."""

websocket_urlpatterns: list = []

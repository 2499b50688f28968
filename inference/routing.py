"""Websocket routes, mounted by infyn.asgi under Channels."""

from django.urls import URLPattern, URLResolver, path

from inference.consumers import ChatConsumer

# The chat widget's socket, as clients are told it (resolved against the page's origin).
WEBSOCKET_PATH = "/ws/chat/"

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path(WEBSOCKET_PATH.removeprefix("/"), ChatConsumer.as_asgi(), name="ws-chat"),
]

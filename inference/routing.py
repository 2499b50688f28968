"""Websocket routes, mounted by infyn.asgi under Channels."""

from django.urls import URLPattern, URLResolver, path

from inference.consumers import ChatConsumer
from inference.frames import WEBSOCKET_PATH

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path(WEBSOCKET_PATH.removeprefix("/"), ChatConsumer.as_asgi(), name="ws-chat"),
]

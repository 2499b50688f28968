"""Websocket routes, mounted by infyn.asgi under Channels."""

from django.urls import URLPattern, URLResolver, path

from inference.consumers import ChatConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/chat/", ChatConsumer.as_asgi(), name="ws-chat"),
]

"""Websocket routes, mounted by infyn.asgi under Channels."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []

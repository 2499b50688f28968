"""Helpers for driving the chat endpoints in-process, over Django's ASGI handler."""

import json
from typing import Any

from django.test import AsyncClient


def async_client(raw_key: str) -> AsyncClient:
    # AsyncClient turns keyword arguments into request headers.
    return AsyncClient(AUTHORIZATION=f"Bearer {raw_key}")


async def post_json(client: AsyncClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(path, body, content_type="application/json", **headers)


async def read_stream(response: Any) -> list[Any]:
    """The JSON payloads of an SSE response, with "[DONE]" kept as a string."""
    raw = b"".join([chunk async for chunk in response.streaming_content]).decode()
    events = []
    for block in raw.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events

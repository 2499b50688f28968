"""The JSON frames of infyn's own streaming protocol, shared by the websocket and /v1/chat.

``start`` (the user's message is stored), ``token`` (a piece of the reply), ``done`` (the
assistant's message is stored; usage and the memories used), ``error``.
"""

from typing import Any

from inference.chat.prepare import PreparedChat
from inference.chat.run import ChatOutcome
from infyn.lib.api.error_shape import error_body

# Where the websocket speaks these frames, as clients are told it (resolved against the
# page's origin); inference.routing mounts the consumer there.
WEBSOCKET_PATH = "/ws/chat/"


def start_frame(prepared: PreparedChat) -> dict[str, Any]:
    return {
        "type": "start",
        "thread_id": prepared.thread.external_id,
        "message_id": prepared.user_message.pk,
    }


def token_frame(text: str) -> dict[str, Any]:
    return {"type": "token", "text": text}


def done_frame(prepared: PreparedChat, outcome: ChatOutcome, model: str) -> dict[str, Any]:
    return {
        "type": "done",
        "thread_id": prepared.thread.external_id,
        "message_id": outcome.assistant_message_id,
        "finish_reason": outcome.finish_reason,
        "usage": outcome.usage(),
        "memory": prepared.memory_items(),
        "model": model,
    }


def error_frame(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"type": "error", **error_body(code, message, details)}

"""The chat backend of this process, chosen by ``INFYN_LLM_BACKEND`` and built once.

Its token counter (the model's tokenizer, when the backend has one) is built with it, once:
the chat flow hands it to the context builder, so prompt budgets are counted in the tokens
of the model that will read them. Stored token counts stay memory's own.
"""

import threading

from django.conf import settings

from inference.backends.base import (
    BackendError,
    BackendStreamError,
    BackendUnavailableError,
    ChatBackend,
    ChatError,
    GenerationRequest,
    StreamEvent,
    TextDelta,
    UpstreamUsage,
)
from memory.tokens import APPROXIMATE_COUNTER, PromptTokenCounter

__all__ = [
    "BackendError",
    "BackendStreamError",
    "BackendUnavailableError",
    "ChatBackend",
    "ChatError",
    "GenerationRequest",
    "StreamEvent",
    "TextDelta",
    "UpstreamUsage",
    "chat_backend",
    "chat_token_counter",
    "reset_chat_backend",
]

_backend: ChatBackend | None = None
_counter: PromptTokenCounter = APPROXIMATE_COUNTER
_lock = threading.Lock()


def _build() -> ChatBackend:
    if settings.LLM_BACKEND == "local":
        from inference.backends.local import LocalBackend

        return LocalBackend()
    if settings.LLM_BACKEND == "vllm":
        from inference.backends.vllm import VllmBackend

        return VllmBackend()
    from inference.backends.openai import OpenAIBackend

    return OpenAIBackend()


def chat_backend() -> ChatBackend:
    """The process's backend (built on first use; the local model loads then)."""
    global _backend, _counter
    if _backend is None:
        with _lock:
            if _backend is None:
                backend = _build()
                counter = backend.token_counter()
                _counter = PromptTokenCounter(*counter) if counter else APPROXIMATE_COUNTER
                _backend = backend
    return _backend


def chat_token_counter() -> PromptTokenCounter:
    """How the process's model counts tokens (the backend is built first if need be)."""
    chat_backend()
    return _counter


def reset_chat_backend() -> None:
    """Forget the backend so the next call builds one from current settings (tests)."""
    global _backend, _counter
    with _lock:
        _backend = None
        _counter = APPROXIMATE_COUNTER

"""The chat backend of this process, chosen by ``INFYN_LLM_BACKEND`` and built once.

Building a backend also installs its tokenizer as the context builder's token counter, so
prompt budgets are counted in the tokens of the model that will read them.
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
from memory.tokens import approximate_token_count, set_token_counter

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
    "reset_chat_backend",
]

_backend: ChatBackend | None = None
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
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                backend = _build()
                counter = backend.token_counter()
                if counter is not None:
                    set_token_counter(counter[0], name=counter[1])
                _backend = backend
    return _backend


def reset_chat_backend() -> None:
    """Forget the backend so the next call builds one from current settings (tests)."""
    global _backend
    with _lock:
        _backend = None
        set_token_counter(approximate_token_count, name="approximate")

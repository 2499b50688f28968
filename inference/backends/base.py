"""What every chat backend offers: streamed generation and the model's own token count.

A backend's ``stream`` is an async generator of ``TextDelta`` (pieces of the reply, in
order) and at most one ``UpstreamUsage`` (token counts the server reported). It raises
``BackendUnavailableError`` when the model cannot be reached or refuses before the first
token, and ``BackendStreamError`` when a started stream breaks. Closing the generator
(``aclose``, or cancelling the task consuming it) stops the generation upstream.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from infyn.lib.errors import DomainError
from memory.tokens import TokenCounter


class ChatError(DomainError):
    """A chat could not complete; ``code``, ``message`` (safe to show to API clients) and
    ``status_code`` are what every surface answers with: an error response, event or frame."""

    status_code = 503
    code = "unavailable"


class BackendError(ChatError):
    """The model could not produce a reply."""

    code = "backend_unavailable"


class BackendUnavailableError(BackendError):
    """Nothing was generated: the server is down, timed out or failed."""


class BackendRejectedError(BackendError):
    """The model server refused the request itself (its 4xx), e.g. a prompt too long."""

    status_code = 502
    code = "backend_rejected"


class BackendStreamError(BackendError):
    """The stream broke after it had started."""


# Sampling when a request names none: the defaults of every chat surface.
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 1.0


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class UpstreamUsage:
    prompt_tokens: int
    completion_tokens: int


StreamEvent = TextDelta | UpstreamUsage


class ChatBackend(Protocol):
    #: "local", "openai" or "vllm": recorded on every usage record.
    name: str
    #: The model name reported to clients and recorded on usage records.
    model: str

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]: ...

    def token_counter(self) -> tuple[TokenCounter, str] | None:
        """The model's own tokenizer as ``(count, name)``, or None to keep the approximation."""
        ...

    async def aclose(self) -> None:
        """Release connections or threads (process shutdown, tests)."""
        ...

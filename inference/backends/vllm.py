"""The dedicated inference worker (``manage.py inference_worker``), spoken to over HTTP.

Generation is the OpenAI protocol, as for any compatible server. Token counting asks the
worker itself (vLLM's ``/tokenize``), so budgets use the served model's tokenizer with no
tokenizer files on the web tier; a configured tokenizer file, when set, is used instead
and saves the round trips.
"""

import logging
import threading
from functools import lru_cache

import httpx
from django.conf import settings

from inference.backends.openai import OpenAIBackend, tokenizer_file_counter
from memory.tokens import TokenCounter, approximate_token_count

logger = logging.getLogger(__name__)


class VllmBackend(OpenAIBackend):
    name = "vllm"

    def token_counter(self) -> tuple[TokenCounter, str] | None:
        if settings.LLM_TOKENIZER_FILE:
            return tokenizer_file_counter(settings.LLM_TOKENIZER_FILE)
        return VllmTokenizeCounter(self.base_url, self.model, self.api_key).count, (
            f"vLLM /tokenize ({self.model})"
        )


class VllmTokenizeCounter:
    """Counts tokens with the worker's ``POST /tokenize``; approximates while it is down."""

    def __init__(self, base_url: str, model: str, api_key: str) -> None:
        # /tokenize lives beside /v1, not under it.
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        self._url = f"{root}/tokenize"
        self._model = model
        self._local = threading.local()  # a sync client per thread: counts run in threads
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._cached = lru_cache(maxsize=16384)(self._count)

    def _http(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(2.0, connect=settings.LLM_CONNECT_TIMEOUT_SECONDS),
                headers=self._headers,
            )
            self._local.client = client
        return client

    def _count(self, text: str) -> int:
        body = {"model": self._model, "prompt": text, "add_special_tokens": False}
        try:
            response = self._http().post(self._url, json=body)
            response.raise_for_status()
            return int(response.json()["count"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            logger.warning("vLLM /tokenize failed (%s); approximating this count", exc)
            raise _ApproximatedError(approximate_token_count(text)) from exc

    def count(self, text: str) -> int:
        try:
            return self._cached(text)
        except _ApproximatedError as approximated:  # not cached: the next call asks again
            return approximated.tokens


class _ApproximatedError(Exception):
    def __init__(self, tokens: int) -> None:
        super().__init__(tokens)
        self.tokens = tokens

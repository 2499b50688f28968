"""A small synchronous client for OpenAI-compatible chat servers (vLLM, llama.cpp, hosted).

Background work (fact extraction, summaries) calls a model here with JSON-schema-guided
output. One connection pool per process; every failure of the server, the network or the
reply's shape is raised as ``LLMUnavailableError`` so callers can retry later.

Plain httpx rather than the ``openai`` SDK: the SDK adds about half a second to every
process's start (its import), a second HTTP stack, and it refuses to send a request
without an ``Authorization`` header, which a keyless local server is sent today.
"""

import json
import threading
from typing import Any

import httpx
from django.conf import settings


class LLMUnavailableError(Exception):
    """The model could not give a usable answer now; the caller may retry later."""


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def llm_configured() -> bool:
    return bool(settings.LLM_BASE_URL)


def _http() -> httpx.Client:
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = httpx.Client(
                    timeout=httpx.Timeout(settings.LLM_TIMEOUT_SECONDS, connect=5.0),
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                )
    return _client


def chat_completion(
    *,
    messages: list[dict[str, str]],
    max_tokens: int,
    response_format: dict[str, Any] | None = None,
) -> str:
    """The assistant's reply text for ``messages`` (temperature 0)."""
    if not llm_configured():
        raise LLMUnavailableError("No language model is configured (INFYN_LLM_BASE_URL).")
    body: dict[str, Any] = {
        "model": settings.LLM_MODEL,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    if response_format is not None:
        body["response_format"] = response_format
    headers = {"Authorization": f"Bearer {settings.LLM_API_KEY}"} if settings.LLM_API_KEY else {}
    url = str(settings.LLM_BASE_URL).rstrip("/") + "/chat/completions"
    try:
        response = _http().post(url, json=body, headers=headers)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMUnavailableError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(content, str):
        raise LLMUnavailableError("The reply has no text content.")
    return content


def chat_completion_json(
    *, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str, max_tokens: int
) -> dict[str, Any]:
    """A reply constrained to ``schema`` (OpenAI ``json_schema`` response format), parsed."""
    content = chat_completion(
        messages=messages,
        max_tokens=max_tokens,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": True},
        },
    )
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as exc:
        raise LLMUnavailableError(f"The reply is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise LLMUnavailableError("The reply is not a JSON object.")
    return parsed

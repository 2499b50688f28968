"""Chat endpoints. Each has two halves:

* a DRF view (sync, in a worker thread) that authenticates, checks scope and rate limit,
  validates, stores the user's message and builds the context, the same way as every other
  endpoint, errors included;
* an async half on the event loop that streams the generation, so a slow model holds no
  thread and a client that goes away cancels the upstream request at once.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Surface
from inference.api import streaming
from inference.api.serializers import (
    ChatCompletionRequestSerializer,
    ChatCompletionSerializer,
    ChatRequestSerializer,
    ChatResponseSerializer,
    WidgetTokenCreateSerializer,
    WidgetTokenSerializer,
)
from inference.api.streaming import THREAD_HEADER
from inference.backends import ChatError, chat_backend, chat_token_counter
from inference.chat.prepare import ChatRequest, PreparedChat, chat_prepare
from inference.chat.run import ChatRun
from infyn.lib.api.error_shape import error_body
from infyn.lib.api.fields import EXTERNAL_ID_PATTERN, ExternalIdField
from infyn.lib.api.schema import sse_event_schema
from tenants.authentication import ApiKeyPrincipal
from tenants.models import Scope
from tenants.widget_tokens import widget_token_mint

WEBSOCKET_PATH = "/ws/chat/"


class PreparedChatResponse(HttpResponse):
    """Hands a prepared chat from a view's DRF half to its async half (never sent as is)."""

    def __init__(self, prepared: PreparedChat, options: dict[str, Any]) -> None:
        super().__init__(status=status.HTTP_202_ACCEPTED)
        self.prepared = prepared
        self.options = options


def _principal(request: Request) -> ApiKeyPrincipal:
    principal = request.user
    assert isinstance(principal, ApiKeyPrincipal)  # HasApiKeyScope let it through
    return principal


def _thread_header(request: Request) -> str | None:
    """The X-Infyn-Thread header, held to the rule of every other thread id."""
    value = request.headers.get(THREAD_HEADER)
    if value is None:
        return None
    try:
        return str(ExternalIdField().run_validation(value))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({THREAD_HEADER: exc.detail}) from None


def _prepare(request: Request, chat_request: ChatRequest) -> PreparedChat:
    """Store the message and build the context, timed from the request's arrival."""
    started = getattr(request._request, "infyn_started", None)
    return chat_prepare(
        request=chat_request,
        model=chat_backend().model,
        counter=chat_token_counter(),
        started=started if isinstance(started, float) else None,
    )


class ChatCompletionsApi(APIView):
    write_scope = Scope.CHAT

    @extend_schema(
        request=ChatCompletionRequestSerializer,
        parameters=[
            OpenApiParameter(
                THREAD_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Thread to continue (an id, as in paths); a new one when absent.",
                pattern=EXTERNAL_ID_PATTERN,
            )
        ],
        responses={
            (200, "application/json"): ChatCompletionSerializer,
            (200, "text/event-stream"): OpenApiResponse(
                sse_event_schema(
                    "A `chat.completion.chunk` (the last one carries `infyn`), an error in the "
                    "error shape (after the first chunk, errors arrive this way), or `[DONE]`."
                ),
                description=(
                    "With `stream: true`: server-sent events, each `data:` a "
                    "`chat.completion.chunk` (the last with `infyn`), then `data: [DONE]`. An "
                    "error after the first chunk arrives as a `data:` event in the error shape."
                ),
            ),
        },
        summary="OpenAI-compatible chat with long-term memory (only the new message is needed)",
        description=(
            "The last of `messages` must be the user's new message, with text; earlier ones "
            "are ignored (infyn stored them when they happened), except system and developer "
            "messages, which replace the default system prompt. Name the end user in `user`."
        ),
    )
    def post(self, request: Request) -> HttpResponseBase:
        serializer = ChatCompletionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        principal = _principal(request)
        # The client's system messages stand in for the default system prompt; earlier
        # turns it sends are already in memory (infyn stored them when they happened).
        system = "\n\n".join(
            m["content"] for m in data["messages"] if m["role"] in {"system", "developer"}
        )
        thread = _thread_header(request) or data.get("metadata", {}).get("thread_id")
        chat_request = ChatRequest(
            vendor=principal.vendor,
            api_key_id=principal.api_key.pk,
            end_user_external_id=data["user"],
            thread_external_id=thread or None,
            content=data["messages"][-1]["content"],
            surface=Surface.CHAT_COMPLETIONS,
            system_prompt=system.strip() or None,
            max_tokens=streaming.max_tokens(data),
            temperature=data.get("temperature", 0.7),
            top_p=data.get("top_p", 1.0),
            stop=data.get("stop") or (),
            seed=data.get("seed"),
        )
        prepared = _prepare(request, chat_request)
        include_usage = bool(data.get("stream_options", {}).get("include_usage"))
        return PreparedChatResponse(
            prepared, {"stream": data["stream"], "include_usage": include_usage}
        )


class ChatApi(APIView):
    write_scope = Scope.CHAT

    @extend_schema(
        request=ChatRequestSerializer,
        responses={
            (200, "application/json"): ChatResponseSerializer,
            (200, "text/event-stream"): OpenApiResponse(
                sse_event_schema("A frame: `start`, `token`, `done` or `error`, as JSON."),
                description=(
                    "With `stream: true`: server-sent events carrying the websocket's frames "
                    "(`start`, `token`..., then `done` or `error`)."
                ),
            ),
        },
        summary="Chat with memory (infyn's own shape; `stream` gives SSE frames)",
    )
    def post(self, request: Request) -> HttpResponseBase:
        serializer = ChatRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        principal = _principal(request)
        chat_request = ChatRequest(
            vendor=principal.vendor,
            api_key_id=principal.api_key.pk,
            end_user_external_id=data["user_id"],
            thread_external_id=data.get("thread_id") or None,
            content=data["message"],
            surface=Surface.CHAT,
            max_tokens=streaming.max_tokens(data),
            temperature=data.get("temperature", 0.7),
        )
        return PreparedChatResponse(_prepare(request, chat_request), {"stream": data["stream"]})


class WidgetTokenCreateApi(APIView):
    write_scope = Scope.CHAT

    @extend_schema(
        request=WidgetTokenCreateSerializer,
        responses={201: WidgetTokenSerializer},
        summary="Mint a short-lived token for the chat widget (call from your backend)",
    )
    def post(self, request: Request) -> Response:
        serializer = WidgetTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, expires_at = widget_token_mint(
            api_key=_principal(request).api_key,
            end_user_external_id=data["user_id"],
            thread_external_id=data.get("thread_id") or None,
            ttl_seconds=data.get("ttl_seconds"),
        )
        body = {"token": token, "expires_at": expires_at, "websocket_url": WEBSOCKET_PATH}
        return Response(WidgetTokenSerializer(body).data, status=status.HTTP_201_CREATED)


Render = Callable[[ChatRun, dict[str, Any]], Awaitable[HttpResponseBase]]


def _streaming_chat_view(api_view: type[APIView], render: Render) -> Any:
    drf_view = api_view.as_view()

    def prepare(request: HttpRequest) -> HttpResponseBase:
        try:
            return drf_view(request)
        finally:
            # Whatever connection the DRF half still holds goes back now (chat_prepare gives
            # its own back before it waits): Django would return it only when the response
            # ends, and a streamed reply can take minutes.
            close_old_connections()

    async def view(request: HttpRequest) -> HttpResponseBase:
        request.infyn_started = time.perf_counter()  # type: ignore[attr-defined]
        response = await sync_to_async(prepare)(request)
        if not isinstance(response, PreparedChatResponse):
            return response  # an error in the API's shape, from the DRF half
        run = ChatRun(prepared=response.prepared, backend=chat_backend())
        try:
            await run.start()
        except ChatError as exc:
            # The user's message is stored; only the reply is missing.
            return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
        return await render(run, response.options)

    # drf-spectacular documents the view through its DRF half.
    view.cls = api_view  # type: ignore[attr-defined]
    view.initkwargs = {}  # type: ignore[attr-defined]
    return csrf_exempt(view)


chat_completions_view = _streaming_chat_view(ChatCompletionsApi, streaming.chat_completion)
chat_view = _streaming_chat_view(ChatApi, streaming.chat)

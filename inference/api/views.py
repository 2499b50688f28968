"""Chat endpoints. Each request has two halves:

* DRF's checks, in a worker thread: authentication, scope, rate limit and validation, the
  same way as every other endpoint, errors included; then storing the user's message and
  building the context;
* the generation, on the event loop, so a slow model holds no thread and a client that goes
  away cancels the upstream request at once.
"""

import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase, JsonResponse
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
    ChatInput,
    ChatRequestSerializer,
    ChatResponseSerializer,
    WidgetTokenCreateSerializer,
    WidgetTokenSerializer,
)
from inference.api.streaming import THREAD_HEADER
from inference.backends import ChatError, chat_backend, chat_token_counter
from inference.chat.prepare import ChatRequest, PreparedChat, chat_prepare
from inference.chat.run import ChatRun
from inference.frames import WEBSOCKET_PATH
from infyn.lib.api.error_shape import error_body
from infyn.lib.api.fields import EXTERNAL_ID_PATTERN, ExternalIdField
from infyn.lib.api.schema import sse_event_schema
from tenants.authentication import ApiKeyPrincipal
from tenants.models import Scope
from tenants.widget_tokens import widget_token_mint


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


@dataclass(frozen=True)
class _ChatStart:
    """What a chat's POST handler hands its streaming half: the prepared chat, as asked."""

    prepared: PreparedChat
    chat: ChatInput


# A chat endpoint: DRF's dispatch, with the generation after it on the event loop.
# ``dispatch`` is a coroutine (so Django awaits it instead of giving it a thread). It runs
# DRF's own steps in a worker thread, as ``APIView.dispatch`` would: any error there is a
# response in the API's shape. A POST handler stores the message and builds the prompt, and
# answers with what to stream; ``reply`` renders the run. (No docstring: drf-spectacular
# would publish it as the endpoints' description.)
class StreamingChatApi(APIView):
    write_scope = Scope.CHAT
    surface: Surface
    view_is_async = True
    started: float  # time.perf_counter() when the request arrived

    # A coroutine where the stubs expect a response: Django awaits it, as view_is_async says.
    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        self.started = time.perf_counter()
        checked = await sync_to_async(self._drf_dispatch)(request, *args, **kwargs)
        if not isinstance(checked, _ChatStart):
            return checked  # an error in the API's shape, or another method's answer
        run = ChatRun(prepared=checked.prepared, backend=chat_backend())
        try:
            await run.start()
        except ChatError as exc:
            # The user's message is stored; only the reply is missing.
            return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
        return await self.reply(run, checked.chat)

    def _drf_dispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase | _ChatStart:
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            try:
                self.initial(drf_request, *args, **kwargs)
                method = drf_request.method.lower() if drf_request.method else ""
                handler = (
                    getattr(self, method, self.http_method_not_allowed)
                    if method in self.http_method_names
                    else self.http_method_not_allowed
                )
                response = handler(drf_request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
            if isinstance(response, _ChatStart):
                return response
            self.response = self.finalize_response(drf_request, response, *args, **kwargs)
            return self.response
        finally:
            # Whatever connection this thread still holds goes back now (chat_prepare gives
            # its own back before it waits): Django would return it only when the response
            # ends, and a streamed reply can take minutes.
            close_old_connections()

    def start(self, request: Request, chat: ChatInput) -> _ChatStart:
        """Store the message and build the context, timed from the request's arrival."""
        principal = _principal(request)
        chat_request = ChatRequest(
            vendor=principal.vendor,
            api_key_id=principal.api_key.pk,
            end_user_external_id=chat.user_id,
            thread_external_id=chat.thread_id,
            content=chat.content,
            surface=self.surface,
            system_prompt=chat.system_prompt,
            max_tokens=chat.max_tokens,
            temperature=chat.temperature,
            top_p=chat.top_p,
            stop=chat.stop,
            seed=chat.seed,
        )
        prepared = chat_prepare(
            request=chat_request,
            model=chat_backend().model,
            counter=chat_token_counter(),
            started=self.started,
        )
        return _ChatStart(prepared, chat)

    async def reply(self, run: ChatRun, chat: ChatInput) -> HttpResponseBase:
        raise NotImplementedError


class ChatCompletionsApi(StreamingChatApi):
    surface = Surface.CHAT_COMPLETIONS

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
    def post(self, request: Request) -> _ChatStart:
        serializer = ChatCompletionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.start(request, serializer.chat_input(thread_id=_thread_header(request)))

    async def reply(self, run: ChatRun, chat: ChatInput) -> HttpResponseBase:
        return await streaming.chat_completion(run, chat)


class ChatApi(StreamingChatApi):
    surface = Surface.CHAT

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
    def post(self, request: Request) -> _ChatStart:
        serializer = ChatRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.start(request, serializer.chat_input())

    async def reply(self, run: ChatRun, chat: ChatInput) -> HttpResponseBase:
        return await streaming.chat(run, chat)


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

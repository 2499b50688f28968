from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inference.backends.base import DEFAULT_TEMPERATURE, DEFAULT_TOP_P
from infyn.lib.api.fields import (
    EXTERNAL_ID_PATTERN,
    NO_NUL_PATTERN,
    ExternalIdField,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
)


@dataclass(frozen=True)
class ChatInput:
    """What a chat surface was asked for, validated: the new message and how to answer it."""

    user_id: str
    content: str
    max_tokens: int
    thread_id: str | None = None
    system_prompt: str | None = None
    stream: bool = False
    include_usage: bool = False
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    stop: tuple[str, ...] = ()
    seed: int | None = None


def _max_tokens(data: dict[str, Any]) -> int:
    requested = data.get("max_completion_tokens") or data.get("max_tokens")
    return int(requested or settings.LLM_DEFAULT_MAX_TOKENS)


def _max_tokens_field() -> serializers.IntegerField:
    return StrictIntegerField(required=False, min_value=1, max_value=settings.LLM_MAX_TOKENS_LIMIT)


def _temperature_field() -> serializers.FloatField:
    return StrictFloatField(required=False, min_value=0, max_value=2)


def new_message_problem(text: str) -> str | None:
    """What is wrong with a new chat message, or None: the rule of every chat surface."""
    if not text.strip():
        return "Must not be blank."
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
        return f"Longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters."
    return None


class NewMessageField(StrictCharField):
    """The user's new message: non-blank, at most INFYN_CHAT_MAX_MESSAGE_CHARS, kept as typed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        problem = new_message_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


_TEXT = {"type": "string", "pattern": NO_NUL_PATTERN}


@extend_schema_field(
    {
        "anyOf": [
            _TEXT,
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"type": {"const": "text"}, "text": _TEXT},
                    "required": ["type", "text"],
                },
            },
        ],
        "description": "A string, or a list of text parts (joined by newlines).",
    }
)
class ContentField(serializers.Field[str, Any, Any, Any]):
    """OpenAI message content: a string, or a list of parts of which text parts are kept."""

    default_error_messages = {
        "invalid": "Must be a string or a list of content parts.",
        "unsupported": "Only text content parts are supported.",
        "nul": "Must not contain NUL characters.",
    }

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            text = data
        elif isinstance(data, list):
            texts = []
            for part in data:
                if not isinstance(part, dict) or part.get("type") != "text":
                    self.fail("unsupported")
                if not isinstance(part.get("text"), str):
                    self.fail("invalid")
                texts.append(part["text"])
            text = "\n".join(texts)
        else:
            self.fail("invalid")
        if "\x00" in text:
            self.fail("nul")
        return text

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "minLength": 1, "pattern": NO_NUL_PATTERN},
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "pattern": NO_NUL_PATTERN},
                "maxItems": 4,
            },
            {"type": "null"},
        ]
    }
)
class StopField(serializers.JSONField):
    """Up to four stop sequences, or one."""


@extend_schema_field({"type": ["array", "null"], "maxItems": 0, "description": "Not supported."})
class ToolsField(serializers.JSONField):
    """Tools are not supported: absent, null or empty only."""


@extend_schema_field(
    {
        "type": "object",
        "properties": {"thread_id": {"type": "string", "pattern": EXTERNAL_ID_PATTERN}},
        "additionalProperties": {"type": "string", "maxLength": 512, "pattern": NO_NUL_PATTERN},
        "description": "Strings; `thread_id` names the thread, as X-Infyn-Thread does.",
    }
)
class ChatMetadataField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=StrictCharField(max_length=512), **kwargs)


class ChatCompletionMessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant", "tool"])
    content = ContentField(allow_null=True, required=False, default="")
    name = StrictCharField(required=False, max_length=200)


class StreamOptionsSerializer(serializers.Serializer[Any]):
    include_usage = StrictBooleanField(required=False, default=False)


class ChatCompletionRequestSerializer(serializers.Serializer[Any]):
    """The OpenAI request body; infyn keeps the history, so only the last message is new."""

    model = StrictCharField(required=False, allow_blank=True, max_length=200)
    messages = ChatCompletionMessageSerializer(many=True, allow_empty=False)
    user = ExternalIdField(
        error_messages={"required": "Name the end user in `user`: infyn remembers per user."},
    )
    stream = StrictBooleanField(required=False, default=False)
    stream_options = StreamOptionsSerializer(required=False)
    max_tokens = _max_tokens_field()
    max_completion_tokens = _max_tokens_field()
    temperature = _temperature_field()
    top_p = StrictFloatField(required=False, min_value=0, max_value=1)
    stop = StopField(required=False)
    seed = StrictIntegerField(required=False)
    n = StrictIntegerField(required=False, min_value=1, max_value=1)
    metadata = ChatMetadataField(required=False)
    tools = ToolsField(required=False)

    def validate_stop(self, value: Any) -> tuple[str, ...]:
        stops = [value] if isinstance(value, str) else value
        if value is None:
            return ()
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise serializers.ValidationError("Must be a string or a list of strings.")
        if any("\x00" in stop for stop in stops):
            raise serializers.ValidationError("Must not contain NUL characters.")
        if len(stops) > 4:
            raise serializers.ValidationError("At most 4 stop sequences.")
        return tuple(stops)

    def validate_tools(self, value: Any) -> Any:
        if value:
            raise serializers.ValidationError("Tools are not supported.")
        return value

    def validate_messages(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        last = value[-1]
        if last["role"] != "user" or not (last.get("content") or "").strip():
            raise serializers.ValidationError(
                "The last message must be the user's new message, with text."
            )
        problem = new_message_problem(last["content"])
        if problem:
            raise serializers.ValidationError(f"The new message: {problem}")
        return value

    def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
        if "thread_id" in value:
            ExternalIdField().run_validation(value["thread_id"])
        return value

    def chat_input(self, *, thread_id: str | None) -> ChatInput:
        """The validated request; ``thread_id`` (the X-Infyn-Thread header) wins over
        ``metadata.thread_id``."""
        data = self.validated_data
        # The client's system messages stand in for the default system prompt; earlier
        # turns it sends are already in memory (infyn stored them when they happened).
        system = "\n\n".join(
            m["content"] for m in data["messages"] if m["role"] in {"system", "developer"}
        )
        return ChatInput(
            user_id=data["user"],
            content=data["messages"][-1]["content"],
            max_tokens=_max_tokens(data),
            thread_id=(thread_id or data.get("metadata", {}).get("thread_id")) or None,
            system_prompt=system.strip() or None,
            stream=data["stream"],
            include_usage=bool(data.get("stream_options", {}).get("include_usage")),
            temperature=data.get("temperature", DEFAULT_TEMPERATURE),
            top_p=data.get("top_p", DEFAULT_TOP_P),
            stop=data.get("stop") or (),
            seed=data.get("seed"),
        )


class ChatRequestSerializer(serializers.Serializer[Any]):
    user_id = ExternalIdField()
    thread_id = ExternalIdField(required=False, allow_null=True)
    message = NewMessageField()
    stream = StrictBooleanField(required=False, default=False)
    max_tokens = _max_tokens_field()
    temperature = _temperature_field()

    def chat_input(self) -> ChatInput:
        data = self.validated_data
        return ChatInput(
            user_id=data["user_id"],
            content=data["message"],
            max_tokens=_max_tokens(data),
            thread_id=data.get("thread_id") or None,
            stream=data["stream"],
            temperature=data.get("temperature", DEFAULT_TEMPERATURE),
        )


class WidgetMessageSerializer(serializers.Serializer[Any]):
    """A ``message`` frame of the widget's websocket."""

    content = NewMessageField()
    thread_id = ExternalIdField(required=False, allow_null=True)

    def chat_input(self, *, user_id: str) -> ChatInput:
        """The validated frame, for ``user_id`` (the widget token's end user)."""
        data = self.validated_data
        return ChatInput(
            user_id=user_id,
            content=data["content"],
            max_tokens=_max_tokens(data),
            thread_id=data.get("thread_id") or None,
        )


class MemoryItemSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["fact", "summary", "message"])
    id = serializers.IntegerField()


class UsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    baseline_tokens = serializers.IntegerField()


class ChatAssistantMessageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(allow_null=True)
    role = serializers.CharField()
    content = serializers.CharField()


class ChatResponseSerializer(serializers.Serializer[Any]):
    thread_id = serializers.CharField()
    user_message_id = serializers.IntegerField()
    message = ChatAssistantMessageSerializer()
    finish_reason = serializers.CharField()
    usage = UsageSerializer()
    memory = MemoryItemSerializer(many=True)
    model = serializers.CharField()


class WidgetTokenCreateSerializer(serializers.Serializer[Any]):
    user_id = ExternalIdField()
    thread_id = ExternalIdField(required=False, allow_null=True)
    ttl_seconds = StrictIntegerField(
        required=False,
        min_value=30,
        # Read when validating, so the setting can change without a restart of this module.
        validators=[
            MaxValueValidator(
                lambda: settings.WIDGET_TOKEN_MAX_TTL_SECONDS,
                message="At most %(limit_value)s seconds.",
            )
        ],
    )


class WidgetTokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    websocket_url = serializers.CharField()


# --- responses, as the schema documents them ------------------------------------------------


class ChatCompletionAssistantMessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=["assistant"])
    content = serializers.CharField(allow_blank=True)


class ChatCompletionChoiceSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    message = ChatCompletionAssistantMessageSerializer()
    finish_reason = serializers.ChoiceField(choices=["stop", "length", "cancelled", "error"])


class ChatCompletionUsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class InfynChatDetailsSerializer(serializers.Serializer[Any]):
    thread_id = serializers.CharField()
    user_id = serializers.CharField()
    memory = MemoryItemSerializer(many=True)
    prompt_tokens = serializers.IntegerField()
    baseline_tokens = serializers.IntegerField(help_text="What sending the whole history costs")
    saved_tokens = serializers.IntegerField()
    token_counter = serializers.CharField()
    user_message_id = serializers.IntegerField()
    assistant_message_id = serializers.IntegerField(allow_null=True)


class ChatCompletionSerializer(serializers.Serializer[Any]):
    """OpenAI's ``chat.completion``, with infyn's own details under ``infyn``."""

    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["chat.completion"])
    created = serializers.IntegerField()
    model = serializers.CharField()
    choices = ChatCompletionChoiceSerializer(many=True)
    usage = ChatCompletionUsageSerializer()
    infyn = InfynChatDetailsSerializer()

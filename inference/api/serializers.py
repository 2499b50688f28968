from typing import Any

from django.conf import settings
from rest_framework import serializers

from infyn.lib.api.fields import StrictCharField

_EXTERNAL_ID_MAX = 255


def _max_tokens_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, min_value=1, max_value=settings.LLM_MAX_TOKENS_LIMIT
    )


class ContentField(serializers.Field[str, Any, Any, Any]):
    """OpenAI message content: a string, or a list of parts of which text parts are kept."""

    default_error_messages = {
        "invalid": "Must be a string or a list of content parts.",
        "unsupported": "Only text content parts are supported.",
    }

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        if not isinstance(data, list):
            self.fail("invalid")
        texts = []
        for part in data:
            if not isinstance(part, dict) or part.get("type") != "text":
                self.fail("unsupported")
            if not isinstance(part.get("text"), str):
                self.fail("invalid")
            texts.append(part["text"])
        return "\n".join(texts)

    def to_representation(self, value: str) -> str:
        return value


class ChatCompletionMessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant", "tool"])
    content = ContentField(allow_null=True, required=False, default="")
    name = StrictCharField(required=False, max_length=200)


class StreamOptionsSerializer(serializers.Serializer[Any]):
    include_usage = serializers.BooleanField(required=False, default=False)


class ChatCompletionRequestSerializer(serializers.Serializer[Any]):
    """The OpenAI request body; infyn keeps the history, so only the last message is new."""

    model = StrictCharField(required=False, allow_blank=True, max_length=200)
    messages = ChatCompletionMessageSerializer(many=True, allow_empty=False)
    user = StrictCharField(
        max_length=_EXTERNAL_ID_MAX,
        error_messages={"required": "Name the end user in `user`: infyn remembers per user."},
    )
    stream = serializers.BooleanField(required=False, default=False)
    stream_options = StreamOptionsSerializer(required=False)
    max_tokens = _max_tokens_field()
    max_completion_tokens = _max_tokens_field()
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2)
    top_p = serializers.FloatField(required=False, min_value=0, max_value=1)
    stop = serializers.JSONField(required=False)
    seed = serializers.IntegerField(required=False)
    n = serializers.IntegerField(required=False, min_value=1, max_value=1)
    metadata = serializers.DictField(child=StrictCharField(max_length=512), required=False)
    tools = serializers.JSONField(required=False)

    def validate_stop(self, value: Any) -> tuple[str, ...]:
        stops = [value] if isinstance(value, str) else value
        if value is None:
            return ()
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise serializers.ValidationError("Must be a string or a list of strings.")
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
        if len(last["content"]) > settings.CHAT_MAX_MESSAGE_CHARS:
            raise serializers.ValidationError(
                f"The new message is longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters."
            )
        return value

    def validate_user(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be blank.")
        return value


class ChatRequestSerializer(serializers.Serializer[Any]):
    user_id = StrictCharField(max_length=_EXTERNAL_ID_MAX)
    thread_id = StrictCharField(required=False, allow_null=True, max_length=_EXTERNAL_ID_MAX)
    message = StrictCharField(trim_whitespace=False)
    stream = serializers.BooleanField(required=False, default=False)
    max_tokens = _max_tokens_field()
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2)

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be blank.")
        if len(value) > settings.CHAT_MAX_MESSAGE_CHARS:
            raise serializers.ValidationError(
                f"Longer than {settings.CHAT_MAX_MESSAGE_CHARS} characters."
            )
        return value


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
    user_id = StrictCharField(max_length=_EXTERNAL_ID_MAX)
    thread_id = StrictCharField(required=False, allow_null=True, max_length=_EXTERNAL_ID_MAX)
    ttl_seconds = serializers.IntegerField(required=False, min_value=30)

    def validate_ttl_seconds(self, value: int) -> int:
        if value > settings.WIDGET_TOKEN_MAX_TTL_SECONDS:
            raise serializers.ValidationError(
                f"At most {settings.WIDGET_TOKEN_MAX_TTL_SECONDS} seconds."
            )
        return value


class WidgetTokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    websocket_url = serializers.CharField()

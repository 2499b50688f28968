from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from infyn.lib.api.fields import ExternalIdField, StrictCharField, StrictFloatField
from memory.extraction import FactCategory
from memory.models import FACT_CATEGORY_CHOICES, Fact, Message, Role

# Clocks disagree a little; a history dated later than this is not history.
FUTURE_SKEW = timedelta(minutes=5)


class ImportMessageSerializer(serializers.Serializer[Any]):
    thread = ExternalIdField()
    role = serializers.ChoiceField(choices=Role.choices)
    content = StrictCharField(trim_whitespace=False, max_length=100_000)
    name = StrictCharField(max_length=100, required=False, default="", allow_blank=True)
    external_id = StrictCharField(max_length=255, required=False, allow_null=True, default=None)
    created_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it was said; any date from year 1 to now (0001-01-01 included).",
    )

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be blank.")
        return value

    def validate_created_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value > timezone.now() + FUTURE_SKEW:
            raise serializers.ValidationError("Must not be in the future.")
        return value


class ImportSerializer(serializers.Serializer[Any]):
    # DRF accepts max_length with many=True; its type stubs do not know it yet.
    messages = ImportMessageSerializer(many=True, allow_empty=False, max_length=5000)  # type: ignore[call-arg]


class ImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    message_ids = serializers.ListField(child=serializers.IntegerField())
    threads = serializers.DictField(child=serializers.CharField())


class SearchQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(max_length=2000)
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    thread = serializers.CharField(max_length=255, required=False)


class FactListQuerySerializer(serializers.Serializer[Any]):
    include_superseded = serializers.ChoiceField(
        choices=["true", "false", "1", "0"],
        required=False,
        default="false",
        help_text="Also the facts that later ones replaced.",
    )
    category = serializers.ChoiceField(choices=FACT_CATEGORY_CHOICES, required=False)


class SearchResultSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    id = serializers.IntegerField()
    text = serializers.CharField()
    indexed_text = serializers.CharField(
        source="context", allow_null=True, help_text="A message as indexed: with its reply context"
    )
    thread_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    source_message_ids = serializers.ListField(child=serializers.IntegerField())
    score = serializers.FloatField()
    components = serializers.DictField(child=serializers.FloatField())


class SearchResponseSerializer(serializers.Serializer[Any]):
    results = SearchResultSerializer(many=True)


class FactSerializer(serializers.ModelSerializer[Fact]):
    current = serializers.BooleanField(source="is_current", read_only=True)

    class Meta:
        model = Fact
        fields = [
            "id",
            "subject",
            "attribute",
            "value",
            "text",
            "category",
            "negated",
            "importance",
            "confidence",
            "mention_count",
            "first_seen_at",
            "last_seen_at",
            "valid_from",
            "valid_to",
            "superseded_by",
            "current",
            "source_message_ids",
            "sources_pruned_at",
            "extractor",
        ]
        read_only_fields = fields


class FactCreateSerializer(serializers.Serializer[Any]):
    text = StrictCharField(max_length=2000)
    category = serializers.ChoiceField(choices=FACT_CATEGORY_CHOICES, default=FactCategory.OTHER)
    importance = StrictFloatField(min_value=0.0, max_value=1.0, default=0.7)
    subject = StrictCharField(max_length=200, required=False)
    attribute = StrictCharField(max_length=100, required=False)
    value = StrictCharField(max_length=2000, required=False)


class FactUpdateSerializer(serializers.Serializer[Any]):
    needs_one_field = True  # the schema says what validate() refuses
    text = StrictCharField(max_length=2000, required=False)
    value = StrictCharField(max_length=2000, required=False)
    category = serializers.ChoiceField(choices=FACT_CATEGORY_CHOICES, required=False)
    importance = StrictFloatField(min_value=0.0, max_value=1.0, required=False)
    confidence = StrictFloatField(min_value=0.0, max_value=1.0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


class MessageSerializer(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = ["id", "role", "name", "content", "external_id", "created_at", "token_count"]
        read_only_fields = fields


class ErasureCountsSerializer(serializers.Serializer[Any]):
    messages = serializers.IntegerField()
    facts = serializers.IntegerField(help_text="Current and superseded.")
    summaries = serializers.IntegerField()
    threads = serializers.IntegerField()
    term_stats = serializers.IntegerField(help_text="Word-statistics rows of the history erased.")
    jobs = serializers.IntegerField(help_text="Background jobs, done or pending.")


class ErasureReceiptSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The receipt's id: GET /v1/erasures/{id} reads it again.")
    erased_at = serializers.DateTimeField()
    counts = ErasureCountsSerializer(help_text="What was deleted, per kind.")

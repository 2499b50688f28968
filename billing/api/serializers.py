"""The export document's shape, for the schema: the document itself is written as it is read
(``billing.export``), never through these serializers."""

from typing import Any

from rest_framework import serializers

from billing.models import Surface, UsageStatus
from memory.api.serializers import FactSerializer
from memory.models import Role
from tenants.api.serializers import EndUserSerializer, ThreadSerializer


class ExportedMessageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    thread = serializers.CharField(help_text="The thread's external id.")
    role = serializers.ChoiceField(choices=Role.choices)
    name = serializers.CharField(allow_blank=True)
    content = serializers.CharField()
    position = serializers.IntegerField(help_text="Order within the thread, from 1.")
    external_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    token_count = serializers.IntegerField()


class ExportedFactSerializer(FactSerializer):
    class Meta(FactSerializer.Meta):
        fields = [*FactSerializer.Meta.fields, "multi_valued", "created_at", "updated_at"]
        read_only_fields = fields


class ExportedSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    thread = serializers.CharField(help_text="The thread's external id.")
    first_message_id = serializers.IntegerField()
    last_message_id = serializers.IntegerField()
    message_count = serializers.IntegerField()
    source_message_ids = serializers.ListField(child=serializers.IntegerField())
    text = serializers.CharField()
    summarizer = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class ExportedUsageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    thread = serializers.CharField(
        allow_null=True, help_text="The thread's external id; null once the thread is erased."
    )
    surface = serializers.ChoiceField(choices=Surface.choices)
    status = serializers.ChoiceField(choices=UsageStatus.choices)
    backend = serializers.CharField()
    model = serializers.CharField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    baseline_tokens = serializers.IntegerField()
    memory_items = serializers.IntegerField()
    retrieval_ms = serializers.FloatField()
    first_token_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField()
    user_message_id = serializers.IntegerField(allow_null=True)
    assistant_message_id = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class EndUserExportSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The export's id, as its audit event names it.")
    exported_at = serializers.DateTimeField()
    end_user = EndUserSerializer()
    threads = ThreadSerializer(many=True)
    messages = ExportedMessageSerializer(many=True, help_text="Oldest first.")
    facts = ExportedFactSerializer(
        many=True, help_text="Current and superseded: `valid_to` and `superseded_by` tell which."
    )
    summaries = ExportedSummarySerializer(many=True)
    usage = ExportedUsageSerializer(many=True, help_text="One record per chat request.")

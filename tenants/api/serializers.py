from typing import Any

from rest_framework import serializers

from infyn.lib.api.fields import DateTimeBoundField, ExternalIdField, JsonObjectField
from tenants.models import ApiKey, AuditEvent, EndUser, Thread, Vendor


class ApiKeySummarySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["prefix", "name", "scopes", "created_at"]


class VendorSerializer(serializers.ModelSerializer[Vendor]):
    class Meta:
        model = Vendor
        fields = ["id", "name", "slug", "plan", "created_at"]


class MeSerializer(serializers.Serializer[Any]):
    vendor = VendorSerializer()
    api_key = ApiKeySummarySerializer()


class EndUserSerializer(serializers.ModelSerializer[EndUser]):
    class Meta:
        model = EndUser
        fields = ["id", "external_id", "metadata", "created_at"]


class EndUserCreateSerializer(serializers.Serializer[Any]):
    external_id = ExternalIdField()
    metadata = JsonObjectField(required=False, default=dict)


class ThreadSerializer(serializers.ModelSerializer[Thread]):
    class Meta:
        model = Thread
        fields = ["id", "external_id", "title", "created_at"]


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = ["id", "action", "actor", "target", "data", "created_at"]
        read_only_fields = fields


class AuditEventListQuerySerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(
        choices=AuditEvent.Action.choices, required=False, help_text="Only events of this action."
    )
    since = DateTimeBoundField(
        required=False, help_text="Only events at or after this time (RFC 3339)."
    )
    until = DateTimeBoundField(required=False, help_text="Only events before this time (RFC 3339).")

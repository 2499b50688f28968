from typing import Any

from rest_framework import serializers

from infyn.lib.api.fields import ExternalIdField, JsonObjectField
from tenants.models import ApiKey, EndUser, Thread, Vendor


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

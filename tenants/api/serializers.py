from typing import Any

from rest_framework import serializers

from infyn.lib.api.fields import StrictCharField
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
    external_id = StrictCharField(max_length=255, trim_whitespace=False)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_external_id(self, value: str) -> str:
        if value != value.strip() or not value:
            raise serializers.ValidationError("Must not be blank or start or end with whitespace.")
        if "/" in value:
            raise serializers.ValidationError("Must not contain '/'.")
        return value


class ThreadSerializer(serializers.ModelSerializer[Thread]):
    class Meta:
        model = Thread
        fields = ["id", "external_id", "title", "created_at"]

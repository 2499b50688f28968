from django.contrib import admin
from django.http import HttpRequest

from billing.models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin[UsageRecord]):
    list_display = [
        "created_at",
        "vendor",
        "surface",
        "status",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "baseline_tokens",
        "first_token_ms",
        "total_ms",
    ]
    list_filter = ["surface", "status", "backend"]
    search_fields = ["vendor__name", "end_user__external_id"]
    list_select_related = ["vendor"]
    raw_id_fields = ["vendor", "end_user", "thread", "api_key"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records are written by the chat flow only

    def has_change_permission(self, request: HttpRequest, obj: UsageRecord | None = None) -> bool:
        return False

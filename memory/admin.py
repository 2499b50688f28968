from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from memory.models import Fact, Message, OutboxJob, Summary, VendorMemorySettings
from memory.retrieval import weights_forget


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ["id", "end_user", "thread", "role", "name", "short_content", "created_at"]
    list_filter = ["role"]
    search_fields = ["content", "external_id", "end_user__external_id"]
    list_select_related = ["end_user", "thread"]
    raw_id_fields = ["end_user", "thread"]
    exclude = ["embedding"]
    readonly_fields = ["token_count"]

    @admin.display(description="content")
    def short_content(self, message: Message) -> str:
        return message.content[:80]


@admin.register(Fact)
class FactAdmin(admin.ModelAdmin[Fact]):
    list_display = [
        "id",
        "end_user",
        "text",
        "category",
        "mention_count",
        "importance",
        "last_seen_at",
        "valid_to",
    ]
    list_filter = ["category", "extractor", ("valid_to", admin.EmptyFieldListFilter)]
    search_fields = ["text", "subject", "attribute", "end_user__external_id"]
    list_select_related = ["end_user"]
    raw_id_fields = ["end_user", "superseded_by"]
    exclude = ["embedding"]


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin[Summary]):
    list_display = ["id", "end_user", "thread", "message_count", "created_at"]
    search_fields = ["text", "end_user__external_id"]
    list_select_related = ["end_user", "thread"]
    raw_id_fields = ["end_user", "thread", "first_message", "last_message"]
    exclude = ["embedding"]


@admin.register(OutboxJob)
class OutboxJobAdmin(admin.ModelAdmin[OutboxJob]):
    list_display = ["id", "kind", "key", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["key"]
    raw_id_fields = ["end_user"]
    readonly_fields = ["last_error"]


@admin.register(VendorMemorySettings)
class VendorMemorySettingsAdmin(admin.ModelAdmin[VendorMemorySettings]):
    """Overrides reach other processes within ``WEIGHTS_CACHE_SECONDS``."""

    list_display = ["vendor", "ranking", "updated_at"]
    search_fields = ["vendor__name", "vendor__slug"]
    autocomplete_fields = ["vendor"]

    def save_model(
        self, request: HttpRequest, obj: VendorMemorySettings, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        weights_forget(obj.vendor_id)

from django.contrib import admin
from django.http import HttpRequest

from tenants.models import ApiKey, AuditEvent, EndUser, Membership, Thread, Vendor


class MembershipInline(admin.TabularInline[Membership, Vendor]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin[Vendor]):
    list_display = ["name", "slug", "plan", "created_at"]
    list_filter = ["plan"]
    fields = ["id", "name", "slug", "plan", "allowed_origins", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "vendor", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "vendor__name"]
    autocomplete_fields = ["user", "vendor"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Keys show their prefix only: the secret is never stored, and the hash is not shown."""

    list_display = ["prefix", "name", "vendor", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "vendor__name"]
    fields = [
        "vendor",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["vendor", "prefix", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key made here could never be shown to anyone: use create_api_key instead.
        return False


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin[EndUser]):
    list_display = ["external_id", "vendor", "created_at"]
    search_fields = ["external_id", "vendor__name"]
    list_select_related = ["vendor"]
    readonly_fields = ["id", "created_at"]
    autocomplete_fields = ["vendor"]


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin[Thread]):
    list_display = ["external_id", "title", "end_user", "created_at"]
    search_fields = ["external_id", "title", "end_user__external_id"]
    list_select_related = ["end_user"]
    readonly_fields = ["id", "created_at"]
    raw_id_fields = ["end_user"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """The trail is evidence: the operator reads it here, and nobody adds, edits or deletes."""

    list_display = ["created_at", "vendor", "action", "actor", "target"]
    list_filter = ["action", "created_at", "vendor"]
    list_select_related = ["vendor"]
    search_fields = ["target", "actor", "vendor__name"]
    date_hierarchy = "created_at"
    # Counting every event for each page of a long trail costs more than the number is worth.
    show_full_result_count = False
    fields = readonly_fields = ("vendor", "action", "actor", "target", "data", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

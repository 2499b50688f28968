"""Vendors (our customers), their members and API keys, and their end users and threads."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Vendor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    allowed_origins = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text=(
            "Web origins (scheme://host[:port]) whose pages may open the chat widget's "
            "websocket with this vendor's widget tokens."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "vendor"], name="membership_user_vendor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.vendor} ({self.role})"


class Scope(models.TextChoices):
    """What an API key may do. New keys get every scope unless told otherwise."""

    CHAT = "chat", "Chat"
    USERS_READ = "users:read", "Read end users and threads"
    USERS_WRITE = "users:write", "Create end users"
    MEMORY_READ = "memory:read", "Read memories"
    MEMORY_WRITE = "memory:write", "Write memories"


def all_scopes() -> list[str]:
    return [scope.value for scope in Scope]


class ApiKey(models.Model):
    """A vendor's API key. Only a keyed hash of the secret is stored, never the key itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part used for lookup.")
    hashed_key = models.CharField(max_length=64, help_text="HMAC-SHA256 of the full key.")
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=all_scopes)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# How stale EndUser.last_active_at may be: a chat writes it at most once per this interval.
ACTIVITY_RESOLUTION = timedelta(hours=1)


class EndUser(models.Model):
    """A vendor's end user, known to the vendor by its own external id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="end_users")
    external_id = models.CharField(max_length=255)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the end user last spoke (at most ACTIVITY_RESOLUTION stale): the idle rule of the
    # retention policy reads it, because their messages may already be pruned. Empty: never.
    last_active_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "external_id"], name="end_user_vendor_external_id_unique"
            )
        ]
        indexes = [models.Index(fields=["vendor", "-created_at"], name="end_user_vendor_created")]

    def __str__(self) -> str:
        return self.external_id


class Thread(models.Model):
    """One conversation of an end user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="threads")
    external_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["end_user", "external_id"], name="thread_end_user_external_id_unique"
            )
        ]
        indexes = [models.Index(fields=["end_user", "-created_at"], name="thread_end_user_created")]

    def __str__(self) -> str:
        return self.title or self.external_id


class AuditEvent(models.Model):
    """What happened to a vendor's account, and who did it: kept for the vendor's audit trail."""

    class Action(models.TextChoices):
        VENDOR_CREATED = "vendor.created", "Vendor created"
        API_KEY_CREATED = "api_key.created", "API key created"
        API_KEY_REVOKED = "api_key.revoked", "API key revoked"
        END_USER_ERASED = "end_user.erased", "End user erased"
        THREAD_ERASED = "thread.erased", "Thread erased"
        END_USER_EXPORTED = "end_user.exported", "End user exported"
        FACT_UPDATED = "fact.updated", "Fact changed"
        FACT_DELETED = "fact.deleted", "Fact deleted"
        RETENTION_POLICY_CREATED = "retention_policy.created", "Retention policy created"
        RETENTION_POLICY_CHANGED = "retention_policy.changed", "Retention policy changed"
        PRUNE_RUN = "prune.run", "Prune run"
        MEMBER_ADDED = "member.added", "Member added"
        MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
        MEMBER_REMOVED = "member.removed", "Member removed"

    # Empty for the platform's own events (its default retention policy), which no vendor's
    # trail lists.
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    actor = models.CharField(max_length=200, help_text="Who did it: a user, a key or a command.")
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["vendor", "-created_at"], name="audit_vendor_created")]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"

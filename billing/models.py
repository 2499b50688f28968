"""Usage records: one per chat request, the raw material of quotas, roll-ups and dashboards."""

from django.db import models
from django.utils import timezone

from tenants.models import ApiKey, EndUser, Thread, Vendor


class Surface(models.TextChoices):
    CHAT_COMPLETIONS = "chat.completions", "POST /v1/chat/completions"
    CHAT = "chat", "POST /v1/chat"
    WEBSOCKET = "websocket", "Websocket chat (widget)"


class UsageStatus(models.TextChoices):
    OK = "ok", "Completed"
    CANCELLED = "cancelled", "Cancelled by the client"
    ERROR = "error", "Failed (backend unavailable or broke)"


class UsageRecord(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="usage_records")
    # Kept when the end user is erased, for billing: the counts stay, the link to the person goes.
    end_user = models.ForeignKey(
        EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_records"
    )
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_records"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_records"
    )
    surface = models.CharField(max_length=20, choices=Surface.choices)
    status = models.CharField(max_length=12, choices=UsageStatus.choices)
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=200)
    prompt_tokens = models.PositiveIntegerField()
    completion_tokens = models.PositiveIntegerField()
    baseline_tokens = models.PositiveIntegerField(
        help_text="What the prompt would have cost with the whole history instead of memory."
    )
    memory_items = models.PositiveIntegerField(help_text="Facts, summaries and messages used.")
    retrieval_ms = models.FloatField(help_text="Storing the message and building the context.")
    first_token_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField()
    user_message_id = models.BigIntegerField(null=True, blank=True)
    assistant_message_id = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["vendor", "created_at"], name="usage_vendor_created")]

    def __str__(self) -> str:
        return f"{self.surface} {self.status} {self.prompt_tokens}+{self.completion_tokens}"

    @property
    def saved_tokens(self) -> int:
        return max(0, self.baseline_tokens - self.prompt_tokens)

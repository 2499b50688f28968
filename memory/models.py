"""The three memory tiers (messages, summaries, facts) and the durable job outbox.

Every row carries its end user, so that every read filters on one column and the
indexes can lead with it. Each tier has a 384-dimension embedding (HNSW, cosine) and a
generated full-text vector (GIN).
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from memory.extraction import FactCategory
from memory.ranking import RankingWeights, RankingWeightsError
from tenants.models import EndUser, Thread

EMBEDDING_DIMENSIONS = 384
FULL_TEXT_CONFIG = "english"


def _embedding() -> VectorField:
    return VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)


def _search_vector(source: str) -> models.GeneratedField:
    """A stored tsvector PostgreSQL keeps in step with ``source`` itself."""
    return models.GeneratedField(
        expression=SearchVector(source, config=FULL_TEXT_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )


def _hnsw(name: str) -> HnswIndex:
    return HnswIndex(
        name=name,
        fields=["embedding"],
        m=16,
        ef_construction=64,
        opclasses=["vector_cosine_ops"],
    )


class Role(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"


class Message(models.Model):
    """One raw exchange turn: the full audit trail."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    name = models.CharField(max_length=100, blank=True, help_text="Who spoke, when known.")
    content = models.TextField()
    # What is full-text indexed: the turn with its speaker and the turn it answers, so
    # that "Yes, twice!" can be found by what it was a reply to.
    context_text = models.TextField(blank=True)
    position = models.PositiveIntegerField(help_text="Order within the thread, from 1.")
    # NULL, not "", for "no id": the uniqueness constraint below only covers given ids.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now, db_index=False)
    token_count = models.PositiveIntegerField(default=0)
    embedding = _embedding()
    search_vector = _search_vector("context_text")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_thread_external_id_unique",
            ),
            models.UniqueConstraint(
                fields=["thread", "position"], name="message_thread_position_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["thread", "created_at", "id"], name="message_thread_created"),
            models.Index(fields=["end_user", "created_at"], name="message_end_user_created"),
            GinIndex(fields=["search_vector"], name="message_search_vector"),
            _hnsw("message_embedding_hnsw"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


# Fact.extractor of the facts a vendor states through the API (no message holds them).
EXPLICIT_EXTRACTOR = "api"


# The categories are the extractors' own (``memory.extraction``); here they get their labels.
FACT_CATEGORY_CHOICES = [(category.value, category.value.capitalize()) for category in FactCategory]


class Fact(models.Model):
    """An atomic statement about the end user, consolidated across mentions.

    A fact replaced by newer knowledge keeps its row with ``valid_to`` set and
    ``superseded_by`` pointing at its successor, so history stays answerable.
    """

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="facts")
    subject = models.CharField(max_length=200)
    attribute = models.CharField(max_length=100)
    value = models.TextField()
    text = models.TextField()
    category = models.CharField(
        max_length=20, choices=FACT_CATEGORY_CHOICES, default=FactCategory.OTHER.value
    )
    negated = models.BooleanField(default=False)
    multi_valued = models.BooleanField(default=False)
    importance = models.FloatField(default=0.5)
    confidence = models.FloatField(default=0.5)
    mention_count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    source_message_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # When the retention policy last pruned one of its source messages: the fact stays, and
    # says where its provenance went.
    sources_pruned_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the retention policy last pruned a source message of this fact; the"
        " fact's text and search stay. Empty: never.",
    )
    extractor = models.CharField(max_length=40, blank=True, help_text="Who extracted it.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    embedding = _embedding()
    search_vector = _search_vector("text")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(importance__gte=0, importance__lte=1), name="fact_importance_0_1"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="fact_confidence_0_1"
            ),
        ]
        indexes = [
            models.Index(
                fields=["end_user", "subject", "attribute"],
                condition=Q(valid_to__isnull=True),
                name="fact_current_by_attribute",
            ),
            models.Index(fields=["end_user", "-last_seen_at"], name="fact_end_user_last_seen"),
            GinIndex(fields=["search_vector"], name="fact_search_vector"),
            _hnsw("fact_embedding_hnsw"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class Summary(models.Model):
    """A rolling summary of a stretch of one thread."""

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="summaries")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="summaries")
    # Not constrained: a summary may outlive its messages (the retention policy prunes them
    # by their age, and summaries by theirs), keeping the ids of the stretch it covered.
    first_message = models.ForeignKey(
        Message, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    last_message = models.ForeignKey(
        Message, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    message_count = models.PositiveIntegerField()
    source_message_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    text = models.TextField()
    summarizer = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    embedding = _embedding()
    search_vector = _search_vector("text")

    class Meta:
        verbose_name_plural = "summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "first_message"], name="summary_thread_first_message_unique"
            )
        ]
        indexes = [
            models.Index(fields=["thread", "-created_at"], name="summary_thread_created"),
            models.Index(fields=["end_user"], name="summary_end_user"),
            GinIndex(fields=["search_vector"], name="summary_search_vector"),
            _hnsw("summary_embedding_hnsw"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class TermStat(models.Model):
    """How many of an end user's messages contain a word stem: the IDF of lexical search.

    Kept up to date on every insert so that a query reads a handful of rows instead of
    counting over a large history. Two rows are totals rather than stems (to_tsvector never
    produces a lexeme starting with '#'): DOCUMENTS_LEXEME holds the number of messages, and
    TOKENS_LEXEME the sum of their token counts, the full-history baseline of every prompt.
    """

    DOCUMENTS_LEXEME = "#documents"
    TOKENS_LEXEME = "#tokens"

    # The unique (end_user, lexeme) index serves every lookup; a second one would only cost.
    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    lexeme = models.CharField(max_length=200)
    document_count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["end_user", "lexeme"], name="term_stat_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.document_count}"


class VendorMemorySettings(models.Model):
    """A vendor's overrides of the platform's memory settings (``MEMORY_RANKING``)."""

    vendor = models.OneToOneField(
        "tenants.Vendor", on_delete=models.CASCADE, related_name="memory_settings"
    )
    ranking = models.JSONField(
        default=dict,
        blank=True,
        help_text='Ranking weights to override, e.g. {"recency": 0.2, "half_life_days": 7}.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "vendor memory settings"
        verbose_name_plural = "vendor memory settings"

    def __str__(self) -> str:
        return f"memory settings of {self.vendor_id}"

    def clean(self) -> None:
        try:
            RankingWeights().merged(self.ranking)
        except (TypeError, RankingWeightsError) as exc:
            raise ValidationError({"ranking": str(exc)}) from exc


class JobKind(models.TextChoices):
    EXTRACT_FACTS = "extract_facts", "Extract facts from a message"
    UPDATE_SUMMARY = "update_summary", "Update a thread's rolling summary"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class OutboxJob(models.Model):
    """A background job written in the same transaction as the data it is about.

    The broker may be down when the transaction commits; the row is not lost, and the
    sweeper re-enqueues pending jobs. ``key`` makes a job unique, so retries and
    re-enqueues never do the work twice.
    """

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=JobKind.choices)
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="outbox_job_kind_key_unique")
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="outbox_job_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"


# --- retention ------------------------------------------------------------------------------

# The most days a retention field accepts (a century): beyond it, a typo rather than a policy.
RETENTION_MAX_DAYS = 36500


def _days(
    verbose_name: str, help_text: str
) -> "models.PositiveIntegerField[int | None, int | None]":
    return models.PositiveIntegerField(
        verbose_name,
        null=True,
        blank=True,
        validators=[MaxValueValidator(RETENTION_MAX_DAYS)],
        help_text=help_text,
    )


class FactsOnMessagePrune(models.TextChoices):
    KEEP = "keep", "Keep the facts drawn from pruned messages"
    DROP = "drop", "Also delete facts whose every source message is gone"


class RetentionRules(models.Model):
    """The rules of a retention policy. Empty means "not set": on the platform default that
    is "never"; on a vendor's policy, "as the platform default". 0 is "never" on both, so a
    vendor can keep forever what the default prunes."""

    message_retention_days = _days(
        "keep messages (days)", "Raw messages older than this are deleted. Empty or 0: forever."
    )
    facts_on_message_prune = models.CharField(
        "facts of pruned messages",
        max_length=4,
        choices=FactsOnMessagePrune.choices,
        blank=True,
        help_text="Whether a fact goes when its last source message is pruned (default: keep).",
    )
    fact_ttl_days = _days(
        "fact time-to-live (days)",
        "Facts not mentioned again for this long are deleted. Empty or 0: forever.",
    )
    summary_retention_days = _days(
        "keep summaries (days)",
        "Summaries of conversation older than this are deleted, whether or not their messages"
        " still exist. Empty or 0: forever.",
    )
    fact_cap_per_end_user = models.PositiveIntegerField(
        "facts per end user (cap)",
        null=True,
        blank=True,
        help_text="At most this many facts per end user; the least valuable go first"
        " (superseded, then lowest importance, fewest mentions, oldest). Empty or 0: no cap.",
    )
    idle_end_user_days = _days(
        "delete idle end users (days)",
        "End users silent for this long are erased with everything about them. Empty or 0: never.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    RULE_FIELDS = (
        "message_retention_days",
        "facts_on_message_prune",
        "fact_ttl_days",
        "summary_retention_days",
        "fact_cap_per_end_user",
        "idle_end_user_days",
    )

    class Meta:
        abstract = True

    def rules(self) -> dict[str, object]:
        """The rule fields as set here (None or "" where not set): the audit trail's before
        and after."""
        return {name: getattr(self, name) for name in self.RULE_FIELDS}


class PlatformRetentionPolicy(RetentionRules):
    """The platform's default policy: one row, which every vendor's policy falls back on."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)

    class Meta:
        verbose_name = "platform retention policy"
        verbose_name_plural = "platform retention policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="platform_retention_policy_singleton")
        ]

    def __str__(self) -> str:
        return "platform default"


class VendorRetentionPolicy(RetentionRules):
    """A vendor's own policy: the fields it sets override the platform default."""

    vendor = models.OneToOneField(
        "tenants.Vendor", on_delete=models.CASCADE, related_name="retention_policy"
    )

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"retention policy of {self.vendor_id}"


class PruneRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    INTERRUPTED = "interrupted", "Interrupted"


class PruneRun(models.Model):
    """One vendor's share of a prune run, its counts written with each batch it deletes, so
    that a run that dies midway still says what it removed (and the next one goes on)."""

    vendor = models.ForeignKey("tenants.Vendor", on_delete=models.CASCADE, related_name="+")
    actor = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=PruneRunStatus.choices, default=PruneRunStatus.RUNNING
    )
    rules = models.JSONField(default=dict, help_text="The effective policy the run applied.")
    counts = models.JSONField(default=dict)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["vendor", "-started_at"], name="prune_run_vendor_started")]

    def __str__(self) -> str:
        return f"prune of {self.vendor_id} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

"""Retention policies: saving one (always audited) and the rules a vendor's data lives by.

A vendor's policy overrides the platform default field by field. An empty field inherits the
default; 0 means "never" and so overrides a default that prunes. For example, with a platform
default of 90 days for messages:

    vendor's field   effective
    empty            90 days
    30               30 days
    0                never
"""

from dataclasses import asdict, dataclass

from django.db import transaction

from memory.models import (
    FactsOnMessagePrune,
    PlatformRetentionPolicy,
    RetentionRules,
    VendorRetentionPolicy,
)
from tenants.models import AuditEvent, Vendor

# The effective rule each field of a policy becomes.
_DAY_FIELDS = {
    "message_days": "message_retention_days",
    "fact_ttl_days": "fact_ttl_days",
    "summary_days": "summary_retention_days",
    "fact_cap": "fact_cap_per_end_user",
    "idle_days": "idle_end_user_days",
}


@dataclass(frozen=True)
class EffectiveRules:
    """The rules a vendor's data lives by; None is "never" (or "no cap")."""

    message_days: int | None = None
    drop_orphan_facts: bool = False
    fact_ttl_days: int | None = None
    summary_days: int | None = None
    fact_cap: int | None = None
    idle_days: int | None = None

    @property
    def active(self) -> bool:
        """Whether a prune would remove anything by these rules at all (dropping orphaned
        facts follows the message rule, so it alone removes nothing)."""
        return any(getattr(self, name) is not None for name in _DAY_FIELDS)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def platform_policy_get() -> PlatformRetentionPolicy:
    policy, _created = PlatformRetentionPolicy.objects.get_or_create(
        id=PlatformRetentionPolicy.SINGLETON_ID
    )
    return policy


def effective_rules(vendor: Vendor) -> EffectiveRules:
    platform = PlatformRetentionPolicy.objects.filter(
        id=PlatformRetentionPolicy.SINGLETON_ID
    ).first()
    own = VendorRetentionPolicy.objects.filter(vendor=vendor).first()
    return rules_combine(platform=platform, own=own)


def rules_combine(*, platform: RetentionRules | None, own: RetentionRules | None) -> EffectiveRules:
    """The rules of ``own`` (a vendor's policy, saved or not) over the platform default."""

    def field(name: str) -> object:
        for policy in (own, platform):
            value = getattr(policy, name) if policy is not None else None
            if value is not None and value != "":
                return value
        return None

    days: dict[str, int | None] = {}
    for rule, name in _DAY_FIELDS.items():
        value = field(name)
        days[rule] = value if isinstance(value, int) and value > 0 else None
    drop = field("facts_on_message_prune") == FactsOnMessagePrune.DROP
    return EffectiveRules(drop_orphan_facts=drop, **days)


@transaction.atomic
def retention_policy_save(
    *, policy: PlatformRetentionPolicy | VendorRetentionPolicy, actor: str, created: bool
) -> None:
    """Save the policy and leave an audit event with its rules before and after."""
    stored = type(policy).objects.filter(pk=policy.pk).first() if policy.pk is not None else None
    before = stored.rules() if stored is not None else {}
    policy.save()
    if isinstance(policy, VendorRetentionPolicy):
        vendor: Vendor | None = policy.vendor
        target = policy.vendor.slug
    else:
        vendor, target = None, "platform"
    AuditEvent.objects.create(
        vendor=vendor,
        action=AuditEvent.Action.RETENTION_POLICY_CREATED
        if created
        else AuditEvent.Action.RETENTION_POLICY_CHANGED,
        actor=actor,
        target=target,
        data={"before": before, "after": policy.rules()},
    )

from billing.models import UsageRecord


def usage_record_create(**fields: object) -> UsageRecord:
    """Store one request's usage; ``fields`` are UsageRecord's (see the model)."""
    return UsageRecord.objects.create(**fields)

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        check_rate_limit(settings.API_RATE_LIMIT)


# The periods the README documents, spelled as DRF reads them (by their first letter).
RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def check_rate_limit(rate: str) -> None:
    """Refuse to start with a rate DRF's parser cannot read, or one the README does not
    document (DRF would read "600/mango" as per minute)."""
    # Imported once the registry is ready: the throttle reads the principal, and so the models.
    from tenants.throttling import ApiKeyRateThrottle

    count, _, period = rate.partition("/")
    try:
        ApiKeyRateThrottle().parse_rate(rate)
        documented = count.isascii() and count.isdigit() and period in RATE_PERIODS
    except (ValueError, KeyError, IndexError):
        documented = False
    if not documented:
        raise ImproperlyConfigured(
            f"INFYN_API_RATE_LIMIT must look like 600/min (N/s|min|hour|day), got {rate!r}."
        )

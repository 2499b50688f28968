from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        check_rate_limit(settings.API_RATE_LIMIT)


def check_rate_limit(rate: str) -> None:
    """Refuse to start with a rate DRF's parser cannot read, or one that allows nothing."""
    # Imported once the registry is ready: the throttle reads the principal, and so the models.
    from tenants.throttling import ApiKeyRateThrottle

    try:
        limit, _window = ApiKeyRateThrottle().parse_rate(rate)
    except (ValueError, KeyError, IndexError):
        limit = None
    if limit is None or limit < 1:
        raise ImproperlyConfigured(
            f"INFYN_API_RATE_LIMIT must look like 600/min (N/s|min|hour|day), got {rate!r}."
        )

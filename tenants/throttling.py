from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from tenants.authentication import ApiKeyPrincipal

if TYPE_CHECKING:  # DRF imports these classes while importing APIView itself
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, counted in the shared cache (Redis in production)."""

    scope = "api_key"

    def get_rate(self) -> str:
        # Read per request (not once at import, as DRF does) so settings overrides apply.
        rate: str = settings.API_RATE_LIMIT
        return rate

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        principal = request.user
        if not isinstance(principal, ApiKeyPrincipal):
            return None
        return f"throttle:api_key:{principal.api_key.pk}"

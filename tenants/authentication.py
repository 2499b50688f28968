"""API-key authentication for the REST API: ``Authorization: Bearer <key>`` or ``X-API-Key``."""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from tenants.models import ApiKey, Vendor
from tenants.selectors import api_key_from_secret
from tenants.services import api_key_touch


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """What ``request.user`` is for an API call: the vendor behind the key, not a person."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def vendor(self) -> Vendor:
        return self.api_key.vendor


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        raw_key = self._raw_key(request)
        if raw_key is None:
            return None
        api_key = api_key_from_secret(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or has been revoked.")
        api_key_touch(api_key=api_key)
        return ApiKeyPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="infyn"'

    @staticmethod
    def _raw_key(request: Request) -> str | None:
        header = str(request.META.get("HTTP_AUTHORIZATION", ""))
        if header:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise exceptions.AuthenticationFailed(
                    "Use 'Authorization: Bearer <api key>' or the X-API-Key header."
                )
            return credentials.strip()
        x_api_key = str(request.META.get("HTTP_X_API_KEY", "")).strip()
        return x_api_key or None


def request_vendor(request: Request) -> Vendor:
    """The vendor of an authenticated API request."""
    principal = request.user
    if not isinstance(principal, ApiKeyPrincipal):
        raise exceptions.NotAuthenticated()
    return principal.vendor


def request_actor(request: Request) -> str:
    """Who made an authenticated API request, as the audit trail names it: the key's prefix."""
    principal = request.user
    if not isinstance(principal, ApiKeyPrincipal):
        raise exceptions.NotAuthenticated()
    return f"api_key:{principal.api_key.prefix}"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "tenants.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "infyn_<prefix>_<secret>"}

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.authentication import ApiKeyPrincipal

if TYPE_CHECKING:  # DRF imports these classes while importing APIView itself
    from rest_framework.views import APIView


class HasApiKeyScope(BasePermission):
    """An API key is required, and it must carry the view's ``required_scope``, if any.

    Read-only methods need ``required_scope`` (or ``read_scope``); writes need
    ``write_scope`` when the view names one.
    """

    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        principal = request.user
        if not isinstance(principal, ApiKeyPrincipal):
            return False
        scope = self._scope_for(request, view)
        return scope is None or scope in principal.api_key.scopes

    @staticmethod
    def _scope_for(request: Request, view: "APIView") -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return getattr(view, "read_scope", None)
        return getattr(view, "write_scope", None)

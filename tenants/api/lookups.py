"""Lookups the API views of every app share, scoped to the calling key's vendor."""

from django.http import Http404
from rest_framework.request import Request

from tenants import selectors
from tenants.authentication import request_vendor
from tenants.models import EndUser


def end_user_or_404(request: Request, external_id: str) -> EndUser:
    """The key's vendor's end user; any other vendor's is indistinguishable from none."""
    end_user = selectors.end_user_get(vendor=request_vendor(request), external_id=external_id)
    if end_user is None:
        raise Http404
    return end_user

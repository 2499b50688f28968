from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.api.lookups import end_user_or_404
from tenants.api.serializers import (
    AuditEventListQuerySerializer,
    AuditEventSerializer,
    EndUserCreateSerializer,
    EndUserSerializer,
    MeSerializer,
    ThreadSerializer,
)
from tenants.authentication import ApiKeyPrincipal, request_vendor
from tenants.models import AuditEvent, EndUser, Scope, Thread


class MeApi(APIView):
    @extend_schema(responses=MeSerializer, summary="The vendor behind this API key")
    def get(self, request: Request) -> Response:
        principal = request.user
        assert isinstance(principal, ApiKeyPrincipal)
        data = MeSerializer({"vendor": principal.vendor, "api_key": principal.api_key}).data
        return Response(data)


class EndUserListCreateApi(ListAPIView[EndUser]):
    read_scope = Scope.USERS_READ
    write_scope = Scope.USERS_WRITE
    serializer_class = EndUserSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.end_users_list(vendor=request_vendor(self.request))

    @extend_schema(
        request=EndUserCreateSerializer,
        responses={200: EndUserSerializer, 201: EndUserSerializer},
        summary="Create an end user (returns the existing one with 200)",
    )
    def post(self, request: Request) -> Response:
        serializer = EndUserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        end_user, created = services.end_user_get_or_create(
            vendor=request_vendor(request), **serializer.validated_data
        )
        return Response(
            EndUserSerializer(end_user).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ThreadListApi(ListAPIView[Thread]):
    read_scope = Scope.USERS_READ
    serializer_class = ThreadSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        end_user = end_user_or_404(self.request, self.kwargs["external_id"])
        return selectors.threads_list(end_user=end_user)


class AuditEventListApi(ListAPIView[AuditEvent]):
    # No scope covers the account's own history, and a new one would change the scopes of
    # every existing key: reading the trail goes with reading the end users it is about.
    read_scope = Scope.USERS_READ
    serializer_class = AuditEventSerializer

    @extend_schema(
        parameters=[AuditEventListQuerySerializer],
        summary="The vendor's audit trail, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        # A plain dict: DRF reads an empty value in a QueryDict as absent; here it is invalid.
        query = AuditEventListQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.audit_events_list(
            vendor=request_vendor(self.request),
            action=query.validated_data.get("action"),
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
        )

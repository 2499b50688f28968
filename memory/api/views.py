from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from infyn.lib.api.pagination import CreatedCursorPagination
from memory import selectors, services
from memory.api.serializers import (
    ErasureReceiptSerializer,
    FactCreateSerializer,
    FactListQuerySerializer,
    FactSerializer,
    FactUpdateSerializer,
    ImportResultSerializer,
    ImportSerializer,
    MessageSerializer,
    SearchQuerySerializer,
    SearchResponseSerializer,
    SearchResultSerializer,
)
from memory.erasure import end_user_erase, erasure_get, thread_erase
from memory.models import Fact, Message
from memory.retrieval import memories_search
from tenants.api.lookups import end_user_or_404
from tenants.api.serializers import EndUserSerializer
from tenants.authentication import request_actor, request_vendor
from tenants.models import EndUser, Scope, Thread
from tenants.selectors import thread_get


class EndUserDetailApi(APIView):
    read_scope = Scope.USERS_READ
    write_scope = Scope.USERS_WRITE

    @extend_schema(responses=EndUserSerializer, summary="One end user")
    def get(self, request: Request, external_id: str) -> Response:
        return Response(EndUserSerializer(end_user_or_404(request, external_id)).data)

    @extend_schema(
        responses={200: ErasureReceiptSerializer},
        summary="Erase an end user and everything stored about them (returns a receipt)",
    )
    def delete(self, request: Request, external_id: str) -> Response:
        end_user = end_user_or_404(request, external_id)
        receipt = end_user_erase(end_user=end_user, actor=request_actor(request))
        return Response(ErasureReceiptSerializer(receipt).data)


class ThreadDetailApi(APIView):
    write_scope = Scope.USERS_WRITE

    @extend_schema(
        responses={200: ErasureReceiptSerializer},
        summary="Erase one thread: its messages, summaries and the facts drawn only from it",
    )
    def delete(self, request: Request, external_id: str, thread_id: str) -> Response:
        thread = _thread_or_404(end_user_or_404(request, external_id), thread_id)
        assert thread is not None
        receipt = thread_erase(thread=thread, actor=request_actor(request))
        return Response(ErasureReceiptSerializer(receipt).data)


class ErasureDetailApi(APIView):
    read_scope = Scope.USERS_READ

    @extend_schema(responses=ErasureReceiptSerializer, summary="An erasure's receipt")
    def get(self, request: Request, erasure_id: UUID) -> Response:
        receipt = erasure_get(vendor=request_vendor(request), erasure_id=erasure_id)
        if receipt is None:
            raise Http404
        return Response(ErasureReceiptSerializer(receipt).data)


class MessagesImportApi(APIView):
    write_scope = Scope.MEMORY_WRITE

    @extend_schema(
        request=ImportSerializer,
        responses={201: ImportResultSerializer},
        summary="Import ordered history (idempotent per thread and external id)",
    )
    def post(self, request: Request, external_id: str) -> Response:
        end_user = end_user_or_404(request, external_id)
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.messages_import(
            end_user=end_user,
            messages=[
                services.MessageInput(
                    thread_external_id=item["thread"],
                    role=item["role"],
                    content=item["content"],
                    name=item["name"],
                    external_id=item["external_id"],
                    created_at=item["created_at"],
                )
                for item in serializer.validated_data["messages"]
            ],
        )
        body = {
            "created": result.created,
            "skipped": result.skipped,
            "message_ids": result.message_ids,
            "threads": result.thread_ids,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class MemorySearchApi(APIView):
    read_scope = Scope.MEMORY_READ

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses=SearchResponseSerializer,
        summary="Hybrid search over facts, summaries and messages, with score components",
    )
    def get(self, request: Request, external_id: str) -> Response:
        end_user = end_user_or_404(request, external_id)
        # A plain dict: DRF reads an empty value in a QueryDict as absent; here it is invalid.
        query = SearchQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        thread = _thread_or_404(end_user, query.validated_data.get("thread"))
        results = memories_search(
            end_user=end_user,
            query=query.validated_data["q"],
            k=query.validated_data["k"],
            thread=thread,
        )
        return Response({"results": SearchResultSerializer(results, many=True).data})


class FactListCreateApi(ListAPIView[Fact]):
    read_scope = Scope.MEMORY_READ
    write_scope = Scope.MEMORY_WRITE
    serializer_class = FactSerializer

    @extend_schema(parameters=[FactListQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Fact]:
        end_user = end_user_or_404(self.request, self.kwargs["external_id"])
        query = FactListQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return selectors.facts_list(
            end_user=end_user,
            include_superseded=query.validated_data["include_superseded"] in ("1", "true"),
            category=query.validated_data.get("category"),
        )

    @extend_schema(request=FactCreateSerializer, responses={201: FactSerializer})
    def post(self, request: Request, external_id: str) -> Response:
        end_user = end_user_or_404(request, external_id)
        serializer = FactCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fact = services.fact_create_explicit(end_user=end_user, **serializer.validated_data)
        return Response(FactSerializer(fact).data, status=status.HTTP_201_CREATED)


class FactDetailApi(APIView):
    read_scope = Scope.MEMORY_READ
    write_scope = Scope.MEMORY_WRITE

    def _fact(self, request: Request, external_id: str, fact_id: int) -> Fact:
        end_user = end_user_or_404(request, external_id)
        fact = selectors.fact_get(end_user=end_user, fact_id=fact_id)
        if fact is None:
            raise Http404
        return fact

    @extend_schema(responses=FactSerializer)
    def get(self, request: Request, external_id: str, fact_id: int) -> Response:
        return Response(FactSerializer(self._fact(request, external_id, fact_id)).data)

    @extend_schema(request=FactUpdateSerializer, responses=FactSerializer)
    def patch(self, request: Request, external_id: str, fact_id: int) -> Response:
        fact = self._fact(request, external_id, fact_id)
        serializer = FactUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fact = services.fact_update(
            fact=fact, changes=serializer.validated_data, actor=request_actor(request)
        )
        return Response(FactSerializer(fact).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, external_id: str, fact_id: int) -> Response:
        fact = self._fact(request, external_id, fact_id)
        services.fact_delete(fact=fact, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OldestFirstPagination(CreatedCursorPagination):
    ordering = ("created_at", "id")


class ThreadMessagesApi(ListAPIView[Message]):
    read_scope = Scope.MEMORY_READ
    serializer_class = MessageSerializer
    pagination_class = OldestFirstPagination

    def get_queryset(self) -> QuerySet[Message]:
        end_user = end_user_or_404(self.request, self.kwargs["external_id"])
        thread = _thread_or_404(end_user, self.kwargs["thread_id"])
        assert thread is not None
        return selectors.thread_messages(thread=thread)


def _thread_or_404(end_user: EndUser, thread_external_id: str | None) -> Thread | None:
    if thread_external_id is None:
        return None
    thread = thread_get(end_user=end_user, external_id=thread_external_id)
    if thread is None:
        raise Http404
    return thread

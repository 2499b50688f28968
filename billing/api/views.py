from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from billing.api.serializers import EndUserExportSerializer
from billing.export import end_user_export, end_user_export_chunks
from infyn.lib.api.streaming import SyncIteratorStreamingResponse
from tenants.api.lookups import end_user_or_404
from tenants.authentication import request_actor
from tenants.models import Scope


class EndUserExportApi(APIView):
    read_scope = Scope.USERS_READ

    @extend_schema(
        responses={
            (200, "application/json"): OpenApiResponse(
                EndUserExportSerializer,
                description="One JSON document, streamed as it is read.",
            )
        },
        summary="Everything stored about an end user, as one JSON document (streamed)",
    )
    def get(self, request: Request, external_id: str) -> SyncIteratorStreamingResponse:
        end_user = end_user_or_404(request, external_id)
        export = end_user_export(end_user=end_user, actor=request_actor(request))
        response = SyncIteratorStreamingResponse(
            end_user_export_chunks(export), content_type="application/json"
        )
        # A data-subject export: proxies and browsers must not keep a copy.
        response["Cache-Control"] = "no-store"
        response["Content-Disposition"] = f'attachment; filename="export-{export.id}.json"'
        return response

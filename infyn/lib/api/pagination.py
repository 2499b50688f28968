from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Stable pages over large tables: a cursor on (created_at, id), newest first."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "limit"
    max_page_size = 500

from django.urls import path

from memory.api import views

urlpatterns = [
    path("users/<str:external_id>", views.EndUserDetailApi.as_view(), name="end-user"),
    path("erasures/<uuid:erasure_id>", views.ErasureDetailApi.as_view(), name="erasure"),
    path(
        "users/<str:external_id>/messages/import",
        views.MessagesImportApi.as_view(),
        name="messages-import",
    ),
    path(
        "users/<str:external_id>/memories/search",
        views.MemorySearchApi.as_view(),
        name="memories-search",
    ),
    path("users/<str:external_id>/memories", views.FactListCreateApi.as_view(), name="memories"),
    path(
        "users/<str:external_id>/memories/<int:fact_id>",
        views.FactDetailApi.as_view(),
        name="memory",
    ),
    path(
        "users/<str:external_id>/threads/<str:thread_id>",
        views.ThreadDetailApi.as_view(),
        name="thread",
    ),
    path(
        "users/<str:external_id>/threads/<str:thread_id>/messages",
        views.ThreadMessagesApi.as_view(),
        name="thread-messages",
    ),
]

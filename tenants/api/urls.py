from django.urls import path

from tenants.api import views

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("users", views.EndUserListCreateApi.as_view(), name="end-users"),
    # users/<external_id> itself is memory's (memory.api.urls): erasing an end user erases memory.
    path("users/<str:external_id>/threads", views.ThreadListApi.as_view(), name="end-user-threads"),
    path("audit-events", views.AuditEventListApi.as_view(), name="audit-events"),
]

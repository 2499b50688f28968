from django.urls import path

from tenants.api import views

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("users", views.EndUserListCreateApi.as_view(), name="end-users"),
    path("users/<str:external_id>", views.EndUserDetailApi.as_view(), name="end-user"),
    path("users/<str:external_id>/threads", views.ThreadListApi.as_view(), name="end-user-threads"),
]

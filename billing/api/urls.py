from django.urls import path

from billing.api import views

urlpatterns = [
    path(
        "users/<str:external_id>/export", views.EndUserExportApi.as_view(), name="end-user-export"
    ),
]

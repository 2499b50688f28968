from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from inference.demo import demo_page, demo_token
from infyn.lib.api.errors import not_found
from infyn.lib.health import HealthApi

urlpatterns = [
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("v1/", include("tenants.api.urls")),
    path("v1/", include("memory.api.urls")),
    path("v1/", include("billing.api.urls")),
    path("v1/", include("inference.api.urls")),
    path("v1/schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script, so the CSP holds.
    path("v1/docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    # Unknown API paths answer in the API's error shape even when DEBUG shows HTML pages.
    re_path(r"^v1/", not_found),
]
if settings.DEMO_ENABLED:
    urlpatterns += [
        path("demo/", demo_page, name="demo"),
        path("demo/token", demo_token, name="demo-token"),
    ]

handler404 = "infyn.lib.api.errors.not_found"
handler500 = "infyn.lib.api.errors.server_error"

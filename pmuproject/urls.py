"""URL routes: the dashboard's /api paths (no trailing slash), docs, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("api/", include("measurements.urls")),
    path("api/", include("protocol.urls")),
    path("api/", include("alerts.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "pmuproject.handlers.bad_request"
handler404 = "pmuproject.handlers.not_found"
handler500 = "pmuproject.handlers.server_error"

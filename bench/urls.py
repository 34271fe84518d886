"""The service's routes plus `/api/_bench/noop`, the throughput ceiling."""

from django.urls import path
from rest_framework.views import APIView

from pmuproject.responses import json_response
from pmuproject.urls import urlpatterns as service_urlpatterns


class NoopView(APIView):
    """Goes through the same middleware, DRF and JSON path, and does nothing."""

    def get(self, request):
        return json_response({})


urlpatterns = [path("api/_bench/noop", NoopView.as_view()), *service_urlpatterns]

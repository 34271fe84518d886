"""Render every error in the service's one JSON shape.

`exception_handler` serves DRF views; `not_found`, `bad_request` and
`server_error` are Django's handlers, answering JSON under /api/ and
Django's own pages elsewhere (admin, docs).
"""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pmuproject.errors import ServiceError


def exception_handler(exc, context):
    """Render our errors and DRF's own into the one JSON shape."""
    if isinstance(exc, ServiceError):
        # A 5xx is logged by django.request, and a store outage by the store.
        return Response(exc.as_body(), status=exc.status)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid_request"
        detail = exc.detail
        if isinstance(detail, (list, dict)):
            response.data = {
                "error": code,
                "detail": "Invalid request.",
                "fields": detail,
            }
        else:
            response.data = {"error": code, "detail": str(detail)}
    elif isinstance(response.data, dict) and set(response.data) == {"detail"}:
        # Django's Http404 and PermissionDenied, converted by DRF.
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = {"error": code, "detail": str(response.data["detail"])}
    return response


def _json_or_default(request, status, code, detail, default):
    if request.path == "/api" or request.path.startswith("/api/"):
        return JsonResponse({"error": code, "detail": detail}, status=status)
    return default()


def not_found(request, exception=None):
    return _json_or_default(
        request,
        404,
        "not_found",
        "No such endpoint. The API's paths have no trailing slash; see /docs.",
        lambda: defaults.page_not_found(request, exception),
    )


def bad_request(request, exception=None):
    return _json_or_default(
        request,
        400,
        "bad_request",
        "The request was refused (for example, a Host header not in "
        "DJANGO_ALLOWED_HOSTS).",
        lambda: defaults.bad_request(request, exception),
    )


def server_error(request):
    return _json_or_default(
        request,
        500,
        "internal_error",
        "The server failed to answer; the error is in its log.",
        lambda: defaults.server_error(request),
    )

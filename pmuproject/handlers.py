"""DRF exception handler that renders every error in the service's one shape."""

import logging

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pmuproject.errors import ServiceError

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """Render our errors and DRF's own into the one JSON shape."""
    if isinstance(exc, ServiceError):
        if exc.status >= 500:
            logger.warning("%s: %s", exc.code, exc.detail)
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
    return response

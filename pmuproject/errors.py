"""The service's error contract: one exception family, one JSON shape.

Every error body is `{"error": <stable code>, "detail": <sentence>}` plus
context keys such as `parameter`. Upstream failures (a store, a file) are
mapped into these classes with `raise ... from exc` where they happen;
`pmuproject.handlers` renders them.
"""


class ServiceError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, detail, **context):
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def as_body(self):
        return {"error": self.code, "detail": self.detail, **self.context}


class InvalidParameter(ServiceError):
    status = 400
    code = "invalid_parameter"

    def __init__(self, parameter, detail, **context):
        super().__init__(detail, parameter=parameter, **context)
        self.parameter = parameter


class TooManyRows(ServiceError):
    status = 400
    code = "too_many_rows"


class NoData(ServiceError):
    status = 404
    code = "no_data"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class StoreError(ServiceError):
    """The measurement store could not answer; the request may be retried."""

    status = 503
    code = "store_unavailable"


class StoreUnreachable(StoreError):
    code = "store_unreachable"


class StoreCredentialsRefused(StoreError):
    code = "credentials_refused"


class StoreBucketMissing(StoreError):
    code = "bucket_missing"


class StoreWriteError(ServiceError):
    """A write was refused; nothing of it was stored."""

    status = 503
    code = "store_write_failed"

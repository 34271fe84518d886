"""Failures of the protocol setting, in the service's one error shape."""

from pmuproject.errors import ServiceError


class ConfigInvalid(ServiceError):
    """config.ini holds something that cannot be read or rewritten safely."""

    status = 500
    code = "config_invalid"


class ConfigUnreadable(ServiceError):
    status = 503
    code = "config_unreadable"


class ConfigWriteFailed(ServiceError):
    """The new config.ini could not be written; the old one is unchanged."""

    status = 503
    code = "config_write_failed"


class ConfigBusy(ServiceError):
    """Another process held config.ini's lock for too long."""

    status = 503
    code = "config_busy"


class AuditUnavailable(ServiceError):
    """The change could not be recorded, so it was not made."""

    status = 503
    code = "audit_unavailable"

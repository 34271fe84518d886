"""The transport protocol setting: validate, read config.ini, change, audit.

config.ini is the record. Every change, from the API or the admin, goes
through `protocol_change`, which holds a lock shared by all processes while
it reads the file, writes the new one and records the change.
"""

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import filelock
from django.conf import settings
from django.db import DatabaseError, transaction

from pmuproject.errors import InvalidParameter
from protocol import config_ini
from protocol.errors import (
    AuditUnavailable,
    ConfigBusy,
    ConfigInvalid,
    ConfigUnreadable,
    ConfigWriteFailed,
)
from protocol.models import Protocol, ProtocolChange

logger = logging.getLogger(__name__)

PROTOCOLS = tuple(Protocol.values)
# What the collector is told to use while config.ini names no protocol.
DEFAULT_PROTOCOL = Protocol.UDP.value
CHANGE_PERMISSION = "protocol.change_protocolsetting"

# Long enough for a slow disk or database under the lock, short enough that
# a stuck writer turns into an error the operator sees.
LOCK_TIMEOUT_S = 10.0
# A config.ini this large is not one this service wrote or should rewrite.
MAX_FILE_BYTES = 1024 * 1024
_SHOWN_LIMIT = 16
_FROM_LENGTH = ProtocolChange._meta.get_field("from_protocol").max_length


@dataclass(frozen=True)
class ProtocolState:
    """What config.ini says, read afresh."""

    protocol: str | None  # in effect: udp, tcp, or None when unusable
    written: str | None  # the value as the file has it; None when absent
    legacy: bool  # the file is still in the old one-line format
    problem: str | None  # why `protocol` is None
    modified_at: datetime | None


def protocol_parse(value):
    """`value` as one of PROTOCOLS, or InvalidParameter naming `protocol`."""
    if value is None:
        _refuse("`protocol` is required: udp or tcp.")
    if not isinstance(value, str):
        _refuse("`protocol` must be a string: udp or tcp.")
    cleaned = value.strip()
    # isascii() first: lower() maps some non-ASCII letters onto ASCII ones.
    if cleaned.isascii() and cleaned.lower() in PROTOCOLS:
        return cleaned.lower()

    if not cleaned:
        got = "an empty value"
    elif len(cleaned) > _SHOWN_LIMIT:
        got = f"a value of {len(value)} characters"
    elif not (cleaned.isascii() and cleaned.isprintable()):
        got = "a value with characters other than printable ASCII"
    else:
        got = repr(cleaned)
    _refuse(f"`protocol` must be udp or tcp, in any case; got {got}.")


def config_path():
    # Resolved so that a config.ini that is a symbolic link is replaced at
    # its target, and the link stays a link.
    return os.path.realpath(settings.PMU_CONFIG_INI)


def protocol_read():
    """The protocol as config.ini has it now, hand edits included."""
    try:
        data, modified_at = _file_read(config_path())
        if data is None:
            return ProtocolState(DEFAULT_PROTOCOL, None, False, None, None)
        found = config_ini.protocol_find(_decoded(data))
    except config_ini.ConfigFormatError as exc:
        return ProtocolState(None, None, False, f"{exc}.", None)

    if found.value is None:
        return ProtocolState(DEFAULT_PROTOCOL, None, found.legacy, None, modified_at)
    normal = found.value.lower()
    if normal in PROTOCOLS:
        return ProtocolState(normal, found.value, found.legacy, None, modified_at)
    problem = (
        f"config.ini names the protocol {_shown(found.value)}, which is neither "
        "udp nor tcp; the collector cannot use it."
    )
    return ProtocolState(None, found.value, found.legacy, problem, modified_at)


def protocol_status():
    """The protocol in effect, and when, by whom and how it was last set.

    A value that differs from the last recorded change was set by editing
    the file; its time is then the file's modification time.
    """
    state = protocol_read()
    try:
        last = ProtocolChange.objects.order_by("-id").first()
    except DatabaseError as exc:
        raise AuditUnavailable(
            "The record of protocol changes cannot be read right now."
        ) from exc

    if state.written is None and state.problem is None:
        via, changed_at, changed_by = "default", None, None
    elif last is not None and state.protocol == last.to_protocol:
        via, changed_at, changed_by = (
            last.via,
            last.changed_at,
            last.changed_by_name or None,
        )
    else:
        via, changed_at, changed_by = "file", state.modified_at, None
    return {
        "protocol": state.protocol,
        "changed_at": changed_at,
        "changed_by": changed_by,
        "via": via,
        "problem": state.problem,
    }


def protocol_change(value, *, user, via):
    """Set the protocol in config.ini and record who did it; one at a time.

    Returns the new ProtocolChange. On any failure config.ini is left as it
    was and nothing is recorded.
    """
    protocol = protocol_parse(value)
    path = config_path()
    lock = filelock.FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise ConfigBusy(
            "config.ini is being changed by another process; try again. "
            f"The protocol was not changed to {protocol}."
        ) from exc
    except OSError as exc:
        logger.exception("Cannot lock %s for writing", path)
        raise ConfigWriteFailed(_write_failed_detail(exc, protocol)) from exc

    try:
        change = _change_locked(path, protocol, user=user, via=via)
    finally:
        lock.release()

    logger.info(
        "Transport protocol changed from %s to %s by %s via %s",
        change.from_protocol or "(none)",
        change.to_protocol,
        change.changed_by_name or "anonymous",
        change.via,
    )
    return change


def _change_locked(path, protocol, *, user, via):
    try:
        old_data, _ = _file_read(path)
        old_text = "" if old_data is None else _decoded(old_data)
        found = config_ini.protocol_find(old_text)
        new_text = config_ini.text_with_protocol(old_text, protocol)
    except config_ini.ConfigFormatError as exc:
        raise ConfigInvalid(
            f"{exc}. Fix config.ini by hand; the protocol was not changed."
        ) from exc

    previous = found.value or ""
    if previous.lower() in PROTOCOLS:
        previous = previous.lower()
    authenticated = user is not None and user.is_authenticated
    config_ini.temp_files_remove(path)

    written = False
    try:
        # The record and the file change together: a write that fails rolls
        # the record back, and a record that cannot be kept undoes the write.
        with transaction.atomic():
            change = ProtocolChange.objects.create(
                from_protocol=previous[:_FROM_LENGTH],
                to_protocol=protocol,
                changed_by=user if authenticated else None,
                changed_by_name=user.get_username() if authenticated else "",
                via=via,
            )
            if new_text != old_text:
                _file_write(path, new_text.encode("utf-8"), protocol)
                written = True
    except DatabaseError as exc:
        logger.exception("Cannot record the protocol change to %s", protocol)
        if written:
            _file_restore(path, old_data)
        raise AuditUnavailable(
            "The change could not be recorded, so it was not made; "
            "config.ini is as it was."
        ) from exc
    return change


def _file_read(path):
    """The file's bytes and modification time; (None, None) when missing."""
    try:
        with open(path, "rb") as file:
            modified = os.fstat(file.fileno()).st_mtime
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        logger.exception("Cannot read %s", path)
        raise ConfigUnreadable(
            f"config.ini cannot be read ({exc.strerror or exc})."
        ) from exc

    if len(data) > MAX_FILE_BYTES:
        raise config_ini.ConfigFormatError(
            f"config.ini is larger than {MAX_FILE_BYTES} bytes"
        )
    return data, datetime.fromtimestamp(modified, tz=UTC)


def _decoded(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise config_ini.ConfigFormatError("config.ini is not UTF-8 text") from exc


def _file_write(path, data, protocol):
    try:
        config_ini.file_write_atomic(path, data)
    except OSError as exc:
        logger.exception("Cannot write %s", path)
        raise ConfigWriteFailed(_write_failed_detail(exc, protocol)) from exc


def _file_restore(path, old_data):
    try:
        if old_data is None:
            os.unlink(path)
        else:
            config_ini.file_write_atomic(path, old_data)
    except OSError:
        logger.exception("Cannot restore %s after a failed change", path)


def _write_failed_detail(exc, protocol):
    reason = exc.strerror or exc.__class__.__name__
    return (
        f"config.ini could not be written ({reason}); it is unchanged and the "
        f"protocol was not changed to {protocol}."
    )


def _refuse(detail):
    raise InvalidParameter("protocol", detail, accepted=list(PROTOCOLS))


def _shown(value):
    if len(value) > _SHOWN_LIMIT or not value.isprintable():
        return f"a value of {len(value)} characters"
    return repr(value)

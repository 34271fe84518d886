"""The alert history: recording raises and clears, acknowledging, reading.

Every function here is plain synchronous Django ORM code; async callers wrap
them with `database_sync_to_async`. The alert objects they return are the
ones the WebSocket and the REST API send.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts import broadcast
from alerts.models import Alert, WorkerCursor

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RAISED = "raised"
CLEARED = "cleared"
WORSE = "worse"


@dataclass(frozen=True)
class Transition:
    """A change of one alert key that the worker wants recorded."""

    key: str
    state: str  # RAISED, CLEARED, or WORSE (a new worst value while active)
    time_ns: int
    value: float
    limit: float
    worst: float
    pmu: str
    quantity: str
    phase: str | None
    severity: str
    unit: str
    rule_id: int | None = None
    rule_name: str = ""


def datetime_from_ns(ns):
    return _EPOCH + timedelta(microseconds=ns // 1000)


def format_datetime(moment):
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def alert_object(alert, *, event=None):
    """The JSON object of an alert, as the WebSocket and the API send it.

    `value` is the value at the latest transition: at the raise while the
    alert is active, at the clear afterwards.
    """
    active = alert.cleared_at is None
    value = alert.value if active else alert.cleared_value
    if value is None or not math.isfinite(value):
        # Only finite values are ever stored; this keeps the promise that
        # `value` is a number even for rows edited by hand.
        value = alert.worst if math.isfinite(alert.worst) else 0.0
    acknowledged_by = None
    if alert.acknowledged_at is not None:
        user = alert.acknowledged_by
        acknowledged_by = user.get_username() if user is not None else "anonymous"
    body = {
        "id": alert.id,
        "pmu": alert.pmu,
        "type": alert.quantity,
        "phase": alert.phase or None,
        "severity": alert.severity,
        "state": RAISED if active else CLEARED,
        "value": value,
        "limit": alert.limit,
        "worst": alert.worst,
        "unit": alert.unit,
        "time": format_datetime(alert.raised_at if active else alert.cleared_at),
        "rule": alert.rule_id,
        "rule_name": alert.rule_name,
        "raised_at": format_datetime(alert.raised_at),
        "cleared_at": format_datetime(alert.cleared_at),
        "acknowledged_by": acknowledged_by,
        "acknowledged_at": format_datetime(alert.acknowledged_at),
    }
    if event is not None:
        body["event"] = event
    return body


def active_alert_objects():
    """Every active alert, oldest first, as alert objects."""
    alerts = Alert.objects.filter(cleared_at__isnull=True).select_related(
        "acknowledged_by"
    )
    return [
        alert_object(alert, event="active")
        for alert in alerts.order_by("raised_at", "id")
    ]


def worker_state():
    """What a starting worker needs: active alerts by key, and the cursors."""
    active = {
        alert.key: alert for alert in Alert.objects.filter(cleared_at__isnull=True)
    }
    cursors = dict(WorkerCursor.objects.values_list("pmu", "last_sample_ns"))
    return active, cursors


def record_transitions(transitions, cursors):
    """Save the transitions of one tick and the new cursors, atomically.

    Returns the alert objects to publish, in time order. A raise whose key
    is already active (another worker got there first) and a clear of a key
    that is no longer active are skipped and not published.
    """
    published = []
    with transaction.atomic():
        for change in sorted(transitions, key=lambda change: change.time_ns):
            if change.state == RAISED:
                alert = _raise(change)
            elif change.state == CLEARED:
                alert = _clear(change)
            else:
                Alert.objects.filter(key=change.key, cleared_at__isnull=True).update(
                    worst=change.worst
                )
                alert = None
            if alert is not None:
                published.append(alert_object(alert, event=change.state))
        if cursors:
            _cursors_save(cursors)
    return published


def _cursors_save(cursors):
    """Upsert every PMU's cursor in one statement per batch.

    A tick moves the cursor of every PMU that sent data: with a thousand
    PMUs, one row at a time through the ORM would cost more than the rest
    of the tick.
    """
    table = connection.ops.quote_name(WorkerCursor._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(pmu, int(last_ns), now) for pmu, last_ns in cursors.items()]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (pmu, last_sample_ns, updated_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (pmu) DO UPDATE SET "
            "last_sample_ns = EXCLUDED.last_sample_ns, "
            "updated_at = EXCLUDED.updated_at",
            rows,
        )


def _raise(change):
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                key=change.key,
                rule_id=change.rule_id,
                rule_name=change.rule_name,
                pmu=change.pmu,
                quantity=change.quantity,
                phase=change.phase or "",
                severity=change.severity,
                unit=change.unit,
                value=change.value,
                limit=change.limit,
                worst=change.worst,
                raised_at=datetime_from_ns(change.time_ns),
            )
    except IntegrityError:
        logger.info("Alert %s is already active; not raised again", change.key)
        return None
    logger.info(
        "Alert raised: %s value %.6g beyond limit %.6g",
        change.key,
        change.value,
        change.limit,
    )
    return alert


def _clear(change):
    alert = (
        Alert.objects.select_for_update()
        .filter(key=change.key, cleared_at__isnull=True)
        .first()
    )
    if alert is None:
        return None
    alert.cleared_at = max(datetime_from_ns(change.time_ns), alert.raised_at)
    alert.cleared_value = change.value
    alert.worst = change.worst
    alert.save(update_fields=["cleared_at", "cleared_value", "worst"])
    logger.info("Alert cleared: %s worst %.6g", change.key, change.worst)
    return alert


def alert_history(*, active=None, pmu=None, start=None, stop=None, severity=None):
    """Alerts, newest first; `start`/`stop` keep those active at some time in
    [start, stop) (datetimes)."""
    alerts = Alert.objects.select_related("acknowledged_by")
    if active is not None:
        alerts = alerts.filter(cleared_at__isnull=active)
    if pmu:
        alerts = alerts.filter(pmu=pmu)
    if severity:
        alerts = alerts.filter(severity=severity)
    if stop is not None:
        alerts = alerts.filter(raised_at__lt=stop)
    if start is not None:
        alerts = alerts.filter(Q(cleared_at__isnull=True) | Q(cleared_at__gte=start))
    return alerts.order_by("-raised_at", "-id")


def acknowledge(alert_id, user):
    """Record who acknowledged an alert and tell the dashboards.

    Returns the alert object. Acknowledging twice keeps the first
    acknowledgement and announces nothing new. Raises Alert.DoesNotExist.
    """
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .select_related("acknowledged_by")
            .get(pk=alert_id)
        )
        if alert.acknowledged_at is not None:
            return alert_object(alert)
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user if user and user.is_authenticated else None
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    logger.info("Alert %s acknowledged by %s", alert_id, user)
    try:
        broadcast.publish_sync([alert_object(alert, event="acknowledged")])
    except Exception as exc:
        # The acknowledgement is recorded; dashboards see it on reconnect.
        logger.warning("Acknowledgement of alert %s not announced: %r", alert_id, exc)
    return alert_object(alert)

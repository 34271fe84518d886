"""Threshold rules, the alert history, and where the worker left off."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from alerts import rules


class AlertRule(models.Model):
    """A limit on one quantity of one PMU (or every PMU), set in admin or API."""

    class Quantity(models.TextChoices):
        VOLTAGE = rules.VOLTAGE, "voltage magnitude"
        CURRENT = rules.CURRENT, "current magnitude"
        POWER_FACTOR = rules.POWER_FACTOR, "power factor"
        FREQUENCY = rules.FREQUENCY, "frequency"

    class Phase(models.TextChoices):
        A = "a"
        B = "b"
        C = "c"
        ANY = rules.ANY_PHASE, "any (each phase on its own)"

    class Unit(models.TextChoices):
        ABSOLUTE = rules.ABSOLUTE, "absolute (V, A, Hz)"
        PER_UNIT = rules.PER_UNIT, "per-unit of the PMU's nominal"

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    pmu = models.CharField(
        "PMU id",
        max_length=64,
        blank=True,
        default="",
        help_text="Leave empty to apply the rule to every PMU.",
    )
    quantity = models.CharField(max_length=16, choices=Quantity.choices)
    phase = models.CharField(max_length=3, choices=Phase.choices, default=Phase.ANY)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.ABSOLUTE)
    hysteresis = models.FloatField(
        default=0.0,
        help_text="In the rule's unit: how far back inside the limits the value "
        "must come before the alert clears.",
    )
    min_duration = models.FloatField(
        "minimum duration (s)",
        default=0.0,
        help_text="How long the value must stay outside before the alert is raised.",
    )
    clear_duration = models.FloatField(
        "clear duration (s)",
        default=0.0,
        help_text="How long the value must stay back inside (by the hysteresis) "
        "before the alert clears, so a brief recovery within one event does "
        "not clear and raise it again.",
    )
    severity = models.CharField(
        max_length=8, choices=Severity.choices, default=Severity.WARNING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    def clean(self):
        from measurements.models import Pmu

        self.pmu = (self.pmu or "").strip()
        nominals = None
        if self.pmu:
            entry = Pmu.objects.filter(id=self.pmu).first()
            if entry is not None:
                nominals = rules.Nominals(
                    entry.nominal_voltage,
                    entry.nominal_current,
                    entry.nominal_frequency,
                )
        problems = rules.rule_problems(
            pmu=self.pmu or None,
            quantity=self.quantity,
            phase=self.phase,
            low=self.low,
            high=self.high,
            unit=self.unit,
            hysteresis=self.hysteresis,
            min_duration=self.min_duration,
            clear_duration=self.clear_duration,
            nominals=nominals,
        )
        if problems:
            raise ValidationError(problems)


class Alert(models.Model):
    """One alert from raise to clear: the history the API and admin show."""

    STALE = "stale"

    # "rule:<rule id>:<pmu>:<phase>" or "stale:<pmu>": at most one active
    # alert per key, which the database enforces so that a second worker
    # can never raise the same alert again.
    key = models.CharField(max_length=200)
    rule = models.ForeignKey(
        AlertRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    rule_name = models.CharField(max_length=120, blank=True)
    pmu = models.CharField("PMU id", max_length=64, db_index=True)
    quantity = models.CharField(max_length=16)
    phase = models.CharField(max_length=1, blank=True)
    severity = models.CharField(max_length=8)
    unit = models.CharField(max_length=4, blank=True)
    value = models.FloatField(help_text="The value at the raise.")
    limit = models.FloatField(help_text="The limit that was crossed.")
    worst = models.FloatField(help_text="The worst value while active.")
    raised_at = models.DateTimeField(db_index=True)
    cleared_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cleared_value = models.FloatField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(cleared_at__isnull=True),
                name="alert_one_active_per_key",
            )
        ]
        permissions = [("acknowledge_alert", "Can acknowledge alerts")]

    def __str__(self):
        phase = f" phase {self.phase}" if self.phase else ""
        return (
            f"{self.pmu} {self.quantity}{phase} at {self.raised_at:%Y-%m-%d %H:%M:%S}"
        )

    @property
    def active(self):
        return self.cleared_at is None


class WorkerCursor(models.Model):
    """The time of the last sample the worker evaluated, per PMU.

    A restarted worker (or a standby one taking over) resumes from here, so
    it neither evaluates the same samples twice nor mistakes a PMU it has
    heard from for one that never sent anything.
    """

    pmu = models.CharField("PMU id", max_length=64, primary_key=True)
    last_sample_ns = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.pmu

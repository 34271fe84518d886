"""The PMU registry: readable names and the nominals that alert limits use."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from measurements.params import PMU_ID, PMU_ID_RULE


def _positive(value):
    if value is not None and not value > 0:
        raise ValidationError("The nominal must be greater than zero.")


class Pmu(models.Model):
    """A PMU the operators know by name.

    PMUs that send data without being registered still work everywhere; an
    entry here only adds a name and the nominals that per-unit alert rules
    need.
    """

    class Frequency(models.IntegerChoices):
        HZ_50 = 50, "50 Hz"
        HZ_60 = 60, "60 Hz"

    id = models.CharField(
        "PMU id",
        primary_key=True,
        max_length=64,
        validators=[
            RegexValidator(f"^{PMU_ID.pattern}$", f"A PMU id is {PMU_ID_RULE}.")
        ],
        help_text="The id the PMU's data carries in the store.",
    )
    name = models.CharField(max_length=120, blank=True)
    nominal_voltage = models.FloatField(
        "nominal voltage (V, line-to-neutral)",
        null=True,
        blank=True,
        validators=[_positive],
    )
    nominal_current = models.FloatField(
        "nominal current (A)", null=True, blank=True, validators=[_positive]
    )
    nominal_frequency = models.PositiveSmallIntegerField(
        choices=Frequency.choices, default=Frequency.HZ_60
    )

    class Meta:
        ordering = ["id"]
        verbose_name = "PMU"
        verbose_name_plural = "PMUs"

    def __str__(self):
        return f"{self.id} ({self.name})" if self.name else self.id

"""Admin of the measurements app: the PMU registry."""

from django.contrib import admin

from measurements.models import Pmu


@admin.register(Pmu)
class PmuAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "nominal_voltage",
        "nominal_current",
        "nominal_frequency",
    )
    search_fields = ("id", "name")

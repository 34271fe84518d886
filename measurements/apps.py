"""App configuration of the measurements: stores, power and read endpoints."""

from django.apps import AppConfig


class MeasurementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "measurements"

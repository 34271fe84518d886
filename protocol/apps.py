"""App configuration of the transport protocol setting."""

from django.apps import AppConfig


class ProtocolConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "protocol"
    verbose_name = "Transport protocol"

from django.apps import AppConfig


class ProtocolConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "protocol"

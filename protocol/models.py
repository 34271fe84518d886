"""The transport setting's permission holder and the audit of its changes."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Protocol(models.TextChoices):
    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"


class ProtocolSetting(models.Model):
    """The transport setting's place in admin and in Django's permissions.

    It has no table: config.ini is the record. The model exists so that the
    setting has an admin page and a `protocol.change_protocolsetting`
    permission, which the API and the admin both require.
    """

    class Meta:
        managed = False
        default_permissions = ("view", "change")
        verbose_name = "transport protocol"
        verbose_name_plural = "transport protocol"

    def __str__(self):
        return "transport protocol"


class ProtocolChange(models.Model):
    """One accepted change of the protocol; rows are only ever added."""

    class Via(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "admin"

    from_protocol = models.CharField(
        max_length=16,
        blank=True,
        help_text="The value config.ini held before; blank when it held none.",
    )
    to_protocol = models.CharField(max_length=8, choices=Protocol.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from the foreign key so the record survives the user.
    changed_by_name = models.CharField(
        max_length=150,
        blank=True,
        help_text="The username at the time; blank for an anonymous demo change.",
    )
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(max_length=8, choices=Via.choices)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        verbose_name = "protocol change"

    def __str__(self):
        return (
            f"{self.from_protocol or '(none)'} -> {self.to_protocol} "
            f"by {self.changed_by_name or 'anonymous'} via {self.via}"
        )

"""JSON shapes of alert rules and alert objects for the API and its schema."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from alerts.history import alert_object
from alerts.models import AlertRule
from measurements.params import PMU_ID, PMU_ID_RULE


class AlertRuleSerializer(serializers.ModelSerializer):
    pmu = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        required=False,
        max_length=64,
        help_text="PMU id, or null for every PMU.",
    )
    hysteresis = serializers.FloatField(required=False, default=0.0)
    min_duration = serializers.FloatField(required=False, default=0.0)
    clear_duration = serializers.FloatField(required=False, default=0.0)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "enabled",
            "pmu",
            "quantity",
            "phase",
            "low",
            "high",
            "unit",
            "hysteresis",
            "min_duration",
            "clear_duration",
            "severity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_pmu(self, value):
        # Stored as "" for every PMU; the JSON says null.
        value = (value or "").strip()
        if value and not PMU_ID.fullmatch(value):
            raise serializers.ValidationError(f"A PMU id is {PMU_ID_RULE}.")
        return value

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["pmu"] = body["pmu"] or None
        return body

    def validate(self, attrs):
        # The model's clean() holds the rule checks the admin uses too; run
        # it on the rule as it would be saved (a PATCH keeps unsent fields).
        merged = {}
        if self.instance is not None:
            merged = {
                name: getattr(self.instance, name)
                for name in self.Meta.fields
                if name not in self.Meta.read_only_fields
            }
        merged.update(attrs)
        try:
            AlertRule(**merged).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class AlertSerializer(serializers.Serializer):
    """An alert object: the same JSON the WebSocket sends (without `event`)."""

    id = serializers.IntegerField()
    pmu = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["voltage", "current", "power_factor", "frequency", "stale"]
    )
    phase = serializers.ChoiceField(choices=["a", "b", "c"], allow_null=True)
    severity = serializers.ChoiceField(choices=["info", "warning", "critical"])
    state = serializers.ChoiceField(choices=["raised", "cleared"])
    value = serializers.FloatField(
        help_text="At the raise while active, at the clear afterwards."
    )
    limit = serializers.FloatField()
    worst = serializers.FloatField(help_text="The worst value while active.")
    unit = serializers.CharField(help_text="V, A, Hz, pu, s, or empty.")
    time = serializers.DateTimeField(help_text="Time of the raise or the clear.")
    rule = serializers.IntegerField(allow_null=True)
    rule_name = serializers.CharField()
    raised_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        return alert_object(instance)

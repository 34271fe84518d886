"""Admin of the alerts app: threshold rules, and the history read-only."""

from django.contrib import admin, messages

from alerts import history
from alerts.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = (
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
    )
    list_filter = ("enabled", "quantity", "severity")
    search_fields = ("name", "pmu")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "raised_at",
        "pmu",
        "quantity",
        "phase",
        "severity",
        "value",
        "limit",
        "worst",
        "cleared_at",
        "acknowledged_by",
        "acknowledged_at",
    )
    list_filter = ("severity", "quantity", ("cleared_at", admin.EmptyFieldListFilter))
    search_fields = ("pmu", "rule_name")
    date_hierarchy = "raised_at"
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("alerts.acknowledge_alert")

    @admin.action(
        description="Acknowledge the selected alerts", permissions=["acknowledge"]
    )
    def acknowledge(self, request, queryset):
        pending = queryset.filter(acknowledged_at__isnull=True)
        count = 0
        for alert_id in pending.values_list("id", flat=True):
            history.acknowledge(alert_id, request.user)
            count += 1
        self.message_user(request, f"{count} alerts acknowledged.", messages.SUCCESS)

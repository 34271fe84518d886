"""URL routes of the alerts app (no trailing slash, like the dashboard's)."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("alert-rules", views.AlertRuleListView.as_view(), name="alert-rules"),
    path(
        "alert-rules/<int:rule_id>",
        views.AlertRuleDetailView.as_view(),
        name="alert-rule",
    ),
    path("alerts", views.AlertListView.as_view(), name="alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        views.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
]

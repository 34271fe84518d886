"""URL routes of the read endpoints (the dashboard's original paths)."""

from django.urls import path

from measurements import views

urlpatterns = [
    path("getpmus", views.PmuListView.as_view(), name="getpmus"),
    path(
        "power_timeseries", views.PowerTimeseriesView.as_view(), name="power-timeseries"
    ),
    path("power_a", views.PowerOfPhaseView.as_view(), name="power-a"),
    path("data", views.SamplesView.as_view(), name="data"),
    path("health", views.HealthView.as_view(), name="health"),
]

"""URL routes of the protocol setting (the dashboard's path has no slash)."""

from django.urls import path

from protocol import views

urlpatterns = [
    path("changeprotocol", views.ProtocolChangeView.as_view(), name="changeprotocol"),
    path("protocol", views.ProtocolView.as_view(), name="protocol"),
]

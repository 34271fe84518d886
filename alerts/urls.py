"""URL routes of the alerts app."""

urlpatterns = []

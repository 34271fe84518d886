"""URL routes of the protocol app."""

urlpatterns = []

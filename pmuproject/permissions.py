"""Who may take control actions (protocol changes, alert rules, acknowledges).

Reads stay open, as the dashboard expects. Writes need an authenticated user
holding the view's `required_permission` (a Django permission such as
`protocol.change_protocolsetting`), unless debug is on or the demo switch
PMU_ALLOW_ANONYMOUS_WRITES is set.
"""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission


def writes_are_open():
    return settings.DEBUG or settings.PMU_ALLOW_ANONYMOUS_WRITES


class ControlPermission(BasePermission):
    message = "This action needs a signed-in user with permission to do it."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or writes_are_open():
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required = getattr(view, "required_permission", None)
        if callable(required):
            required = required(request)
        return required is None or user.has_perm(required)

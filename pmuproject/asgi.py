"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Importing this module is what makes a process an ASGI server (the run
command, `daphne pmuproject.asgi:application`, `runserver`), so the
in-process background services start here and nowhere else.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmuproject.settings")

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from pmuproject import background  # noqa: E402
from pmuproject.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

background.start()

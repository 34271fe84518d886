"""Background services that run inside an ASGI server process.

The simulator (PMU_SIMULATE) always runs here when enabled. Each service is
started once per process, in a daemon thread, and never more than once even
if the ASGI module is imported again.
"""

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()


def start():
    global _started
    with _lock:
        if _started:
            return
        _started = True
    if settings.PMU_SIMULATE:
        from measurements.simulator import start_in_thread

        start_in_thread()

"""Background services that run inside an ASGI server process.

The simulator (PMU_SIMULATE) runs here when enabled. The alert worker runs
here when REDIS_URL is unset: with the in-memory channel layer only this
process's consumers can hear it. With REDIS_URL set it runs on its own as
`python manage.py alert_worker`, so any number of ASGI processes can serve
the sockets. Each service is started once per process, in a daemon thread,
and never more than once even if the ASGI module is imported again.
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
    if settings.REDIS_URL:
        logger.info(
            "REDIS_URL is set: alerts come from `manage.py alert_worker`, "
            "not from this process"
        )
    else:
        from alerts.worker import start_in_thread as start_alert_worker

        start_alert_worker()

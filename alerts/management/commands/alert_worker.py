"""`manage.py alert_worker`: the alert worker on its own, for REDIS_URL setups."""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alerts.lease import RedisLease
from alerts.worker import AlertWorker

# A standby worker takes over this long after the active one stops renewing.
MIN_LEASE_S = 10.0


class Command(BaseCommand):
    help = (
        "Run the alert worker alone, publishing through the Redis channel layer. "
        "Several may run; one holds a Redis lease and works, the others stand by."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            help="Seconds between ticks (default: ALERT_WORKER_INTERVAL).",
        )

    def handle(self, *args, interval=None, **options):
        if not settings.REDIS_URL:
            raise CommandError(
                "REDIS_URL is not set. Without Redis the alert worker runs inside "
                "the ASGI server process (daphne pmuproject.asgi:application), "
                "where the dashboards' sockets can hear it."
            )
        if interval is not None and interval <= 0:
            raise CommandError("--interval must be greater than zero.")
        asyncio.run(self._run(interval or settings.ALERT_WORKER_INTERVAL))

    async def _run(self, interval):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        lease = RedisLease(settings.REDIS_URL, ttl_s=max(MIN_LEASE_S, 5 * interval))
        await AlertWorker(lease=lease, interval_s=interval).run(stop)

"""Which alert worker is the active one: a Redis lease with an expiry.

Only the holder of the lease evaluates rules and publishes; a second worker
started by mistake waits as a standby and takes over within one lease time
if the holder stops renewing (it crashed or hangs). The database backs this
up: at most one alert per key can be active, so even two workers that both
believe they hold the lease cannot raise the same alert twice.
"""

import logging
import os
import socket
import uuid

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LEASE_KEY = "pmu-backend:alert-worker:lease"
# Seconds a Redis command may take before the lease counts as not held.
REDIS_TIMEOUT_S = 2.0

# Renew when the caller holds the lease, take it when it is free.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
if not holder then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class AlwaysHeld:
    """The lease of the in-process worker: it is the only one by design."""

    async def hold(self):
        return True

    async def release(self):
        return None


class RedisLease:
    def __init__(self, url, *, ttl_s, key=LEASE_KEY):
        self.key = key
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        # None until the first attempt, so the first answer is always logged.
        self._held = None
        self._failing = False

    async def hold(self):
        """Take or renew the lease; True while this worker holds it."""
        try:
            held = bool(
                await self._client.eval(_HOLD, 1, self.key, self.token, self.ttl_ms)
            )
        except (RedisError, OSError) as exc:
            if not self._failing:
                logger.warning("Alert worker cannot reach Redis for its lease: %s", exc)
            self._failing = True
            held = False
        else:
            if self._failing:
                logger.info("Alert worker reaches Redis again")
            self._failing = False
        if held != self._held:
            if held:
                logger.info("Alert worker %s is now the active worker", self.token)
            else:
                logger.warning(
                    "Alert worker %s is on standby: another worker holds the lease",
                    self.token,
                )
        self._held = held
        return held

    async def release(self):
        try:
            await self._client.eval(_RELEASE, 1, self.key, self.token)
        except (RedisError, OSError) as exc:
            logger.warning("Alert worker could not release its lease: %s", exc)
        finally:
            self._held = False
            await self._client.aclose()

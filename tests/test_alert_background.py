"""Where the worker runs: inside the ASGI process without Redis, alone with it."""

import asyncio

import pytest

from alerts.lease import RedisLease
from pmuproject import background
from tests.alerts_processes import REDIS_TEST_URL, redis_db  # noqa: F401


@pytest.mark.parametrize(
    ("redis_url", "expected"),
    [("", ["worker"]), ("redis://127.0.0.1:6379/15", [])],
    ids=["in-memory layer", "redis layer"],
)
def test_the_asgi_process_starts_the_worker_only_without_redis(
    monkeypatch, settings, redis_url, expected
):
    started = []
    monkeypatch.setattr(
        "alerts.worker.start_in_thread", lambda: started.append("worker")
    )
    monkeypatch.setattr(background, "_started", False)
    settings.PMU_SIMULATE = False
    settings.REDIS_URL = redis_url

    background.start()
    background.start()

    assert started == expected


@pytest.mark.redis
@pytest.mark.usefixtures("redis_db")
def test_one_lease_holder_at_a_time_and_a_standby_takes_over_after_expiry():
    async def scenario():
        first = RedisLease(REDIS_TEST_URL, ttl_s=0.3, key="pmu-tests:lease")
        second = RedisLease(REDIS_TEST_URL, ttl_s=0.3, key="pmu-tests:lease")
        try:
            assert await first.hold()
            assert not await second.hold()
            assert await first.hold()  # renewing
            await asyncio.sleep(0.6)  # the first stops renewing: it hangs
            assert await second.hold()
            assert not await first.hold()
        finally:
            await first.release()
            await second.release()

    asyncio.run(scenario())

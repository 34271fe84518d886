"""The Redis channel layer as the settings configure it."""

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer

from pmuproject.settings import redis_channel_layer
from tests.alerts_processes import redis_db  # noqa: F401 - a fixture

pytestmark = pytest.mark.redis


async def test_an_idle_receive_outlasts_the_client_read_timeout(redis_db):  # noqa: F811
    # redis-py 8 times reads out after 5 s by default, while a consumer's
    # blocking pop waits up to 5 s: an idle WebSocket would be torn down.
    layer = RedisChannelLayer(**redis_channel_layer(redis_db)["CONFIG"])
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(12)

    await layer.send(channel, {"type": "alerts.message", "alerts": []})

    message = await asyncio.wait_for(waiting, 10)
    assert message["type"] == "alerts.message"
    await layer.flush()

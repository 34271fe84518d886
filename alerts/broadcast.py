"""Publishing alert objects to the WebSocket consumers' channel layer group.

With channels-redis any process may publish. The in-memory layer lives in
one event loop of one process: the in-process worker runs in a thread with a
loop of its own, so its messages are handed to the loop the consumers run on
(noted by each consumer as it connects). Before any consumer has connected
there is no one to tell; the history still records everything and a client
that connects later receives the active alerts at once.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

ALERTS_GROUP = "alerts"
MESSAGE_TYPE = "alerts.message"
# How long a publish may wait for the consumers' loop to take a message.
HANDOVER_TIMEOUT_S = 5.0

_consumer_loop = None


def note_consumer_loop():
    """Called by a consumer as it connects: remember the loop it runs on."""
    global _consumer_loop
    _consumer_loop = asyncio.get_running_loop()


def group_message(alerts):
    return {"type": MESSAGE_TYPE, "alerts": list(alerts)}


async def publish(alerts):
    """Send each alert object to the group, one WebSocket message apiece."""
    layer = get_channel_layer()
    if layer is None:
        return
    here = asyncio.get_running_loop()
    target = _consumer_loop
    hand_over = (
        isinstance(layer, InMemoryChannelLayer)
        and target is not None
        and target is not here
        and target.is_running()
    )
    for alert in alerts:
        message = group_message([alert])
        if hand_over:
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(ALERTS_GROUP, message), target
            )
            await asyncio.wait_for(asyncio.wrap_future(future), HANDOVER_TIMEOUT_S)
        else:
            await layer.group_send(ALERTS_GROUP, message)


def publish_sync(alerts):
    """`publish` for synchronous code such as a DRF view."""
    if alerts:
        async_to_sync(publish)(alerts)

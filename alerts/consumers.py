"""The /ws/alerts consumer: the active alerts on connect, then every change."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from alerts import broadcast, history


class AlertConsumer(AsyncJsonWebsocketConsumer):
    """Sends JSON lists of alert objects; never an empty list."""

    async def connect(self):
        """Called when a client opens the socket: join, accept, catch it up."""
        broadcast.note_consumer_loop()
        # Joining before reading the active alerts means a change that lands
        # in between is not lost (at worst the client sees it twice).
        await self.channel_layer.group_add(broadcast.ALERTS_GROUP, self.channel_name)
        await self.accept()
        active = await _active_alerts()
        if active:
            await self.send_json(active)

    async def disconnect(self, code):
        """Called when the socket closes."""
        await self.channel_layer.group_discard(
            broadcast.ALERTS_GROUP, self.channel_name
        )

    async def receive_json(self, content, **kwargs):
        """Called for each client message; the stream is one-way, so ignore it."""

    async def alerts_message(self, event):
        """Called for each group message from the worker or an acknowledge."""
        if event.get("alerts"):
            await self.send_json(event["alerts"])


@database_sync_to_async
def _active_alerts():
    return history.active_alert_objects()

"""/ws/alerts: active alerts on connect, each change forwarded, origins checked."""

import math

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from alerts import broadcast
from alerts.worker import AlertWorker
from measurements.gateway import get_store
from pmuproject.routing import websocket_urlpatterns
from tests.alerts_support import (
    T0,
    Clock,
    make_rule,
    phasor_samples,
    register_pmu,
)

pytestmark = pytest.mark.django_db(transaction=True)

# The same stack as pmuproject.asgi, without starting its background services.
application = AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
DASHBOARD = [(b"origin", b"http://localhost:5173")]
TIMEOUT_S = 5


async def connect(headers=DASHBOARD):
    client = WebsocketCommunicator(application, "/ws/alerts", headers=headers)
    connected, _ = await client.connect(timeout=TIMEOUT_S)
    assert connected
    return client


@pytest.fixture
async def sag_rule():
    await sync_to_async(register_pmu)("WS-1")
    return await sync_to_async(make_rule)(pmu="WS-1")


async def sagging_worker(sag):
    """A worker that has ticked over one second of PMU WS-1 with `sag`."""
    clock = Clock()
    worker = AlertWorker(
        publish=broadcast.publish, clock=clock, interval_s=1.0, stale_after_s=1e6
    )
    await worker.tick()
    get_store().write([phasor_samples("WS-1", T0, 1.0, sag=sag)])
    clock.advance(1.0)
    return worker


async def test_a_sag_reaches_a_connected_client_as_one_raise_and_one_clear_per_phase(
    sag_rule,
):
    client = await connect()
    worker = await sagging_worker({"a": (30, 36, 0.6), "c": (31, 35, 0.4)})

    await worker.tick()

    messages = [await client.receive_json_from(TIMEOUT_S) for _ in range(4)]
    assert await client.receive_nothing(0.3)
    assert [[(m["state"], m["phase"]) for m in message] for message in messages] == [
        [("raised", "a")],
        [("raised", "c")],
        [("cleared", "c")],
        [("cleared", "a")],
    ]
    for (alert,) in messages:
        assert alert["pmu"] == "WS-1"
        assert alert["type"] == "voltage"
        assert math.isfinite(alert["value"])
        assert alert["limit"] == 0.9
    assert messages[2][0]["worst"] == pytest.approx(0.4)
    assert messages[3][0]["worst"] == pytest.approx(0.6)
    await client.disconnect()


async def test_a_client_that_connects_during_an_alert_receives_it_at_once(sag_rule):
    worker = await sagging_worker({"b": (60, 119, 0.5)})
    (raised,) = await worker.tick()

    client = await connect()

    (message,) = [await client.receive_json_from(TIMEOUT_S)]
    assert len(message) == 1
    assert message[0]["id"] == raised["id"]
    assert message[0]["state"] == "raised"
    assert message[0]["event"] == "active"
    assert message[0]["phase"] == "b"
    assert await client.receive_nothing(0.3)
    await client.disconnect()


async def test_nothing_is_sent_on_connect_when_no_alert_is_active():
    client = await connect()

    assert await client.receive_nothing(0.5)
    await client.disconnect()


async def test_an_empty_group_message_is_never_forwarded():
    client = await connect()

    await broadcast.publish([])
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send(
        broadcast.ALERTS_GROUP, broadcast.group_message([])
    )

    assert await client.receive_nothing(0.5)
    await client.disconnect()


@pytest.mark.parametrize(
    "headers",
    [[(b"origin", b"http://evil.example")], []],
    ids=["foreign origin", "no origin"],
)
async def test_sockets_from_other_origins_are_refused(headers):
    client = WebsocketCommunicator(application, "/ws/alerts", headers=headers)

    connected, _ = await client.connect(timeout=TIMEOUT_S)

    assert not connected


async def test_an_acknowledgement_is_broadcast(sag_rule):
    worker = await sagging_worker({"a": (60, 119, 0.5)})
    (raised,) = await worker.tick()
    client = await connect()
    await client.receive_json_from(TIMEOUT_S)  # the active alert
    user = await sync_to_async(User.objects.create_user)("operator")
    await sync_to_async(user.user_permissions.add)(
        await Permission.objects.aget(codename="acknowledge_alert")
    )
    api = APIClient()
    api.force_authenticate(user)

    response = await sync_to_async(api.post)(f"/api/alerts/{raised['id']}/acknowledge")

    assert response.status_code == 200
    (message,) = [await client.receive_json_from(TIMEOUT_S)]
    assert [(m["id"], m["event"], m["acknowledged_by"]) for m in message] == [
        (raised["id"], "acknowledged", "operator")
    ]
    await client.disconnect()

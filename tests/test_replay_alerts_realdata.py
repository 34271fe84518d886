"""Recorded voltage sags replayed live raise and clear alerts on /ws/alerts."""

import asyncio
import io
import time

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.core.management import call_command

from alerts import broadcast
from alerts.models import Alert
from alerts.worker import AlertWorker
from measurements.gateway import get_store
from pmuproject.routing import websocket_urlpatterns
from tests.alerts_support import make_rule, register_pmu
from tests.realdata import read_event_file

pytestmark = [pytest.mark.realdata, pytest.mark.django_db(transaction=True)]

application = AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
# The README's levels of the event library's PMUs, as an operator would
# register them.
NOMINALS = {"B90": 282.0, "FG": 121.0, "FL": 121.0}
LOW, HYSTERESIS = 0.9, 0.02
WAIT_S = 30.0


def expected_alerts(path, nominal):
    """What the file itself says, by a plain loop over its rows: per phase,
    the (state, row, value at the transition, worst) of every change."""
    table = read_event_file(path)
    found = {}
    for number, phase in zip("123", "abc", strict=True):
        values = table[f"L{number}-Mag [Vrms]"] / nominal
        active, worst, changes = False, None, []
        for row, value in enumerate(values):
            if not active and value < LOW:
                active, worst = True, value
                changes.append(("raised", row, value, value))
            elif active and value >= LOW + HYSTERESIS:
                active = False
                changes.append(("cleared", row, value, worst))
            elif active:
                worst = min(worst, value)
        if changes:
            found[phase] = changes
    return found


@pytest.mark.parametrize(
    "event",
    ["2017-01-10T232917", "2017-10-09T002501", "2018-05-16T191519"],
)
async def test_a_replayed_sag_is_raised_then_cleared_once_per_phase_with_its_worst(
    lbnl_dir, event
):
    folder = lbnl_dir / event
    files = sorted(folder.glob("*_raw_data.csv"))
    expected = {}
    for path in files:
        pmu = path.name.split("_")[0]
        await sync_to_async(register_pmu)(pmu, nominal_voltage=NOMINALS[pmu])
        for phase, changes in expected_alerts(path, NOMINALS[pmu]).items():
            expected[pmu, phase] = changes
    # The events chosen sag below 0.9 pu once on each affected phase.
    assert expected
    assert all(
        [state for state, *_ in changes] == ["raised", "cleared"]
        for changes in expected.values()
    )
    await sync_to_async(make_rule)(pmu="", low=LOW, hysteresis=HYSTERESIS)

    client = WebsocketCommunicator(
        application, "/ws/alerts", headers=[(b"origin", b"http://localhost:5173")]
    )
    assert (await client.connect(timeout=10))[0]
    stop = asyncio.Event()
    worker = asyncio.create_task(
        AlertWorker(publish=broadcast.publish, interval_s=0.2, stale_after_s=1e6).run(
            stop
        )
    )
    try:
        await sync_to_async(call_command, thread_sensitive=False)(
            "replay_pmu_csv", str(folder), stdout=io.StringIO()
        )
        messages = []
        deadline = time.monotonic() + WAIT_S
        while len(messages) < 2 * len(expected) and time.monotonic() < deadline:
            messages.append(await client.receive_json_from(WAIT_S))
        assert await client.receive_nothing(1.0)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)
        await client.disconnect()

    assert all(len(message) == 1 for message in messages)
    received = {}
    for (alert,) in messages:
        assert alert["type"] == "voltage"
        assert np.isfinite(alert["value"])
        received.setdefault((alert["pmu"], alert["phase"]), []).append(alert)
    assert received.keys() == expected.keys()

    for key, changes in expected.items():
        pmu, _ = key
        replayed = await sync_to_async(get_store().read_samples)(
            pmu, start_ns=0, stop_ns=2**62
        )
        alerts = received[key]
        assert [a["state"] for a in alerts] == ["raised", "cleared"]
        assert alerts[0]["id"] == alerts[1]["id"]
        for alert, (state, row, value, worst) in zip(alerts, changes, strict=True):
            assert alert["state"] == state
            assert alert["value"] == pytest.approx(value)
            assert alert["worst"] == pytest.approx(worst)
            assert alert["limit"] == LOW
            moment = np.datetime64(int(replayed.time[row]), "ns")
            assert alert["time"][:26] == str(moment)[:26]

        row = await Alert.objects.aget(id=alerts[0]["id"])
        assert row.worst == pytest.approx(changes[-1][3])
        assert row.cleared_at is not None

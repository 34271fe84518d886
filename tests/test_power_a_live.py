"""/api/power_a on live and off-nominal data."""

import time

import numpy as np
import pytest

from measurements.gateway import Samples, get_store
from measurements.power import PHASES

pytestmark = pytest.mark.django_db

SECOND = 1_000_000_000


def write_pmu(pmu, times, *, frequency=60.0, lag_deg=30.0, volts=230.0, amps=10.0):
    """Balanced phasors whose angles rotate at (frequency - 60 Hz)."""
    times = np.asarray(times, dtype=np.int64)
    rotation = (frequency - 60.0) * 360.0 * (times - times[0]) / SECOND
    columns = {}
    for offset, phase in zip((0.0, -120.0, 120.0), PHASES, strict=True):
        columns[f"v_{phase}_mag"] = np.full(len(times), volts)
        columns[f"v_{phase}_ang"] = rotation + offset
        columns[f"i_{phase}_mag"] = np.full(len(times), amps)
        columns[f"i_{phase}_ang"] = rotation + offset - lag_deg
    get_store().write([Samples(pmu, times, columns)])


@pytest.mark.parametrize("phasor", list(PHASES))
def test_phi_is_the_lag_even_when_phasors_rotate_off_nominal(api, phasor):
    t0 = 1_600_000_000 * SECOND
    write_pmu("OFFNOM", t0 + np.arange(120) * SECOND // 120, frequency=59.0)

    figures = api.get(
        "/api/power_a",
        {
            "pmu": "OFFNOM",
            "phasor": phasor,
            "start": "2020-09-13T12:26:40Z",
            "stop": "2020-09-13T12:26:41Z",
        },
    ).json()

    assert figures["phi_deg"] == pytest.approx(30.0)
    assert figures["PF"] == pytest.approx(np.cos(np.radians(30.0)))
    assert figures["Q"] == pytest.approx(2300.0 * 0.5)


def test_leading_current_gives_a_negative_phi(api):
    t0 = 1_600_000_000 * SECOND
    write_pmu("LEAD", t0 + np.arange(60) * SECOND // 60, lag_deg=-20.0)

    figures = api.get(
        "/api/power_a",
        {
            "pmu": "LEAD",
            "phasor": "a",
            "start": "2020-09-13T12:26:40Z",
            "stop": "2020-09-13T12:26:41Z",
        },
    ).json()

    assert figures["phi_deg"] == pytest.approx(-20.0)
    assert figures["Q"] < 0


def test_live_use_reports_the_last_complete_second(api):
    now = time.time_ns()
    this_second = now // SECOND * SECOND
    previous = this_second - SECOND
    # 30 frames in the previous second, and one frame of the current one.
    times = np.append(previous + np.arange(30) * SECOND // 30, this_second)
    write_pmu("LIVE", times)

    live = api.get("/api/power_a", {"pmu": "LIVE", "phasor": "a"}).json()
    explicit = api.get(
        "/api/power_a",
        {"pmu": "LIVE", "phasor": "a", "start": "-1h", "stop": "+1h"},
    ).json()

    assert live["samples"] == 30
    assert live["time"].startswith(str(np.datetime64(this_second, "ns"))[:19])
    assert explicit["samples"] == 1

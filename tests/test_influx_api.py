"""The endpoints on the InfluxDB store: same answers, 503 when it is down.

`INFLUX_URL` switches the gateway to the InfluxDB store (settings fixture
plus `reset_store()`), pointed either at the loopback stub or at a port
where nothing listens.
"""

import math
import socket

import numpy as np
import pytest

from measurements.gateway import COLUMNS, Samples, get_store, reset_store
from tests.conftest import body
from tests.influx_stub import InfluxStub

pytestmark = pytest.mark.contract

T0 = 1_714_521_600_000_000_000
START, STOP = "2024-05-01T00:00:00Z", "2024-05-01T00:00:20.5Z"
ENDPOINTS = [
    "/api/getpmus",
    "/api/getpmus?since=5m",
    f"/api/power_timeseries?pmu=PMU-1&start={START}&stop={STOP}&window=2s",
    f"/api/power_a?pmu=PMU-1&phasor=b&start={START}&stop={STOP}",
    f"/api/data?pmu=PMU-1&start={START}&stop={STOP}",
]


@pytest.fixture
def stub():
    server = InfluxStub().start()
    yield server
    server.stop()


def use_influx(settings, url, *, token="t", org="o", bucket="b", timeout=5.0):
    settings.INFLUX_URL = url
    settings.INFLUX_TOKEN = token
    settings.INFLUX_ORG = org
    settings.INFLUX_BUCKET = bucket
    settings.INFLUX_TIMEOUT = timeout
    reset_store()


def use_stub(settings, stub):
    use_influx(settings, stub.url, token=stub.token, org=stub.org, bucket=stub.bucket)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_close(actual, expected, where="body"):
    """Equal JSON, floats to 1e-9 (InfluxDB sums windows in its own order)."""
    if isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert_close(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), where
    else:
        assert actual == expected, where


def recorded_pmus():
    rng = np.random.default_rng(21)
    batches = []
    for pmu_id, count in (("PMU-1", 600), ("PMU-2", 90)):
        times = T0 + np.arange(count, dtype=np.int64) * 33_333_333
        columns = {
            name: rng.normal(230.0, 2.0, count)
            if name.endswith("_mag")
            else rng.uniform(-180, 180, count)
            for name in COLUMNS
            if name != "rocof"
        }
        batches.append(Samples(pmu_id, times, columns))
    return batches


@pytest.mark.parametrize("path", [*ENDPOINTS, "/api/health"])
def test_every_endpoint_answers_503_with_a_reason_when_nothing_listens(
    api, settings, path
):
    use_influx(settings, f"http://127.0.0.1:{free_port()}", timeout=0.5)

    response = api.get(path)

    assert response.status_code == 503
    answer = response.json()
    assert answer["error"] == "store_unreachable"
    assert "refused the connection" in answer["detail"]


def test_health_reports_the_influxdb_store(api, settings, stub):
    use_stub(settings, stub)

    response = api.get("/api/health")

    assert response.status_code == 200
    assert response.json()["store"] == "influxdb"
    assert response.json()["ok"] is True


@pytest.mark.parametrize("path", ENDPOINTS)
def test_endpoints_answer_as_on_the_embedded_store(api, settings, stub, path):
    get_store().write(recorded_pmus())
    embedded = body(api.get(path))
    use_stub(settings, stub)
    get_store().write(recorded_pmus())

    on_influx = body(api.get(path))

    if "since" in path:
        # Both stores measure `since` from now; the data is from 2024.
        assert embedded == on_influx == {"pmus": []}
    else:
        assert_close(on_influx, embedded)
        assert on_influx
    assert stub.queries()


def test_a_hostile_pmu_id_is_refused_before_the_store_is_asked(api, settings, stub):
    use_stub(settings, stub)

    response = api.get('/api/data?pmu=A")|>drop()//&start=-1h')

    assert response.status_code == 400
    assert response.json()["parameter"] == "pmu"
    assert stub.requests == []

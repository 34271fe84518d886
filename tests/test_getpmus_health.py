"""PMU listing with `since`, health, and a store that cannot be read."""

import time

import numpy as np
import pytest

from measurements.gateway import Samples, get_store, reset_store
from measurements.power import FIELDS

pytestmark = pytest.mark.django_db

SECOND = 1_000_000_000


def write(pmu, times):
    times = np.asarray(times, dtype=np.int64)
    get_store().write(
        [Samples(pmu, times, {name: np.ones(len(times)) for name in FIELDS})]
    )


def test_since_keeps_only_recently_heard_pmus(api):
    now = time.time_ns()
    write("OLD", [now - 3600 * SECOND])
    write("RECENT", [now - 3600 * SECOND, now - 30 * SECOND])

    assert api.get("/api/getpmus").json() == {"pmus": ["OLD", "RECENT"]}
    assert api.get("/api/getpmus", {"since": "5m"}).json() == {"pmus": ["RECENT"]}
    assert api.get("/api/getpmus", {"since": "-2h"}).json() == {
        "pmus": ["OLD", "RECENT"]
    }
    assert api.get("/api/getpmus", {"since": "10s"}).json() == {"pmus": []}


def test_health_reports_the_embedded_store(api):
    response = api.get("/api/health")

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["store"] == "embedded"


@pytest.mark.parametrize(
    "path",
    [
        "/api/getpmus",
        "/api/power_timeseries?pmu=P1",
        "/api/power_a?pmu=P1&phasor=a",
        "/api/data?pmu=P1",
        "/api/health",
    ],
)
def test_an_unreadable_store_is_a_503_with_a_reason(
    api, settings, tmp_path, caplog, path
):
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 64)
    settings.PMU_STORE_PATH = str(broken)
    reset_store()

    response = api.get(path)

    assert response.status_code == 503
    payload = response.json()
    assert payload["error"] == "store_unavailable"
    assert "cannot be opened" in payload["detail"]
    # The file's location is for the operator's log, not for every client.
    assert "broken.sqlite3" not in payload["detail"]
    assert str(broken) in caplog.text


def test_a_store_failing_once_the_range_is_counted_is_still_a_503(api, monkeypatch):
    from measurements.stores.embedded import EmbeddedStore
    from pmuproject.errors import StoreError

    write("P1", [time.time_ns() - SECOND])

    def failing(self, pmu_id, *, start_ns, stop_ns):
        raise StoreError("The embedded store failed: disk I/O error")
        yield  # a generator, as the real one is

    monkeypatch.setattr(EmbeddedStore, "iter_samples", failing)
    response = api.get("/api/data", {"pmu": "P1", "start": "-1m"})

    assert response.status_code == 503
    assert response.json()["error"] == "store_unavailable"

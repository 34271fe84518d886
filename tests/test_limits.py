"""No request can make the service build an unbounded body."""

import numpy as np
import pytest

from measurements.gateway import Samples, get_store
from measurements.power import FIELDS
from tests.conftest import body

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def stored():
    times = T0 + np.arange(1000, dtype=np.int64) * 10_000_000
    get_store().write(
        [Samples("P1", times, {name: np.full(1000, 1.0) for name in FIELDS})]
    )
    return times


def test_default_limit_is_200000_rows(settings):
    assert settings.PMU_MAX_ROWS == 200_000


def test_too_many_windows_is_a_400_with_the_smallest_window_that_fits(api, settings):
    settings.PMU_MAX_ROWS = 100
    params = {
        "pmu": "P1",
        "start": "2023-11-14T22:13:20Z",
        "stop": "2023-11-14T22:13:30Z",
    }

    refused = api.get("/api/power_timeseries", {**params, "window": "99ms"})

    assert refused.status_code == 400
    payload = refused.json()
    assert payload["error"] == "too_many_rows"
    assert payload["limit"] == 100
    assert payload["smallest_window"] == "100ms"
    assert "100ms" in payload["detail"]
    fits = api.get(
        "/api/power_timeseries", {**params, "window": payload["smallest_window"]}
    )
    assert fits.status_code == 200


def test_a_week_at_one_millisecond_is_refused_before_reading(api):
    response = api.get(
        "/api/power_timeseries", {"pmu": "P1", "start": "-7d", "window": "1ms"}
    )

    assert response.status_code == 400
    assert response.json()["parameter"] == "window"


def test_too_many_samples_is_a_400_naming_the_limit(api, settings, stored):
    settings.PMU_MAX_ROWS = 999
    params = {
        "pmu": "P1",
        "start": "2023-11-14T22:13:20Z",
        "stop": "2023-11-14T22:13:40Z",
    }

    refused = api.get("/api/data", params)
    settings.PMU_MAX_ROWS = 1000
    allowed = api.get("/api/data", params)

    assert refused.status_code == 400
    assert refused.json()["error"] == "too_many_rows"
    assert refused.json()["limit"] == 999
    assert refused.json()["rows"] == 1000
    assert allowed.status_code == 200
    assert len(body(allowed)) == 1000

"""Stores under contract: embedded, InfluxDB on the loopback stub, real InfluxDB.

The real server runs only when PMU_TEST_INFLUX_URL is set, with
PMU_TEST_INFLUX_TOKEN, PMU_TEST_INFLUX_ORG and PMU_TEST_INFLUX_BUCKET; each
test writes PMUs of its own (a random prefix), so a shared bucket is fine.
"""

import os
import uuid

import numpy as np
import pytest

from measurements.gateway import COLUMNS, Samples
from measurements.stores.embedded import EmbeddedStore
from measurements.stores.influx import InfluxStore
from tests.influx_stub import InfluxStub

REAL_SERVER = "PMU_TEST_INFLUX_URL"
T0 = 1_714_521_600_000_000_000  # 2024-05-01T00:00:00Z
# Not a round number, so every time has all nine fraction digits in play.
PERIOD = 20_000_001


def real_server_settings():
    url = os.environ.get(REAL_SERVER, "")
    if not url:
        return None
    return {
        "url": url,
        "token": os.environ.get("PMU_TEST_INFLUX_TOKEN", ""),
        "org": os.environ.get("PMU_TEST_INFLUX_ORG", ""),
        "bucket": os.environ.get("PMU_TEST_INFLUX_BUCKET", ""),
        "timeout_s": float(os.environ.get("PMU_TEST_INFLUX_TIMEOUT", "10")),
    }


@pytest.fixture
def stub():
    server = InfluxStub().start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "influx-stub", "influx-real"])
def store_kind(request):
    if request.param == "influx-real" and real_server_settings() is None:
        pytest.skip(f"{REAL_SERVER} is not set")
    return request.param


@pytest.fixture
def store(store_kind, tmp_path, request):
    if store_kind == "embedded":
        opened = EmbeddedStore(tmp_path / "contract.sqlite3")
    elif store_kind == "influx-stub":
        server = request.getfixturevalue("stub")
        opened = InfluxStore(
            url=server.url,
            token=server.token,
            org=server.org,
            bucket=server.bucket,
            timeout_s=5,
        )
    else:
        opened = InfluxStore(**real_server_settings())
    yield opened
    opened.close()


@pytest.fixture
def pmu():
    """A maker of PMU ids unique to this test (the real bucket is shared)."""
    prefix = f"T{uuid.uuid4().hex[:10]}"
    return lambda name: f"{prefix}-{name}"


def ours(pmu_ids, pmu):
    """Only the PMUs this test wrote, in the order given."""
    prefix = pmu("")
    return [pmu_id for pmu_id in pmu_ids if pmu_id.startswith(prefix)]


def make_samples(pmu_id, count, *, first=0, seed=0, freq=True, gap=None):
    """`count` samples from T0 + first·PERIOD, one every PERIOD ns.

    `gap` = (start index, length) leaves samples out. Without `freq` the
    optional columns are all NaN (a PMU that does not send them).
    """
    rng = np.random.default_rng(seed)
    index = np.arange(first, first + count)
    if gap is not None:
        index = index[(index < gap[0]) | (index >= gap[0] + gap[1])]
    times = T0 + index.astype(np.int64) * PERIOD + 7
    n = len(times)
    columns = {}
    for name in COLUMNS:
        if name.endswith("_mag"):
            columns[name] = rng.normal(230.0 if name[0] == "v" else 80.0, 3.0, n)
        elif name.endswith("_ang"):
            columns[name] = rng.uniform(-180.0, 180.0, n)
    if freq:
        columns["freq"] = rng.normal(60.0, 0.01, n)
    return Samples(pmu_id, times, columns)

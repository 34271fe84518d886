"""InfluxDB 1.8 with Flux: org `-`, token `user:password`, `db/rp` bucket.

1.8 ignores the `extern` of a query (influxdata/influxdb#17794); with org
`-` the store sends the same checked values as a literal preamble. The
stub in `v1` mode ignores `extern` the same way.
"""

import numpy as np
import pytest

from measurements.gateway import COLUMNS, Samples
from measurements.stores import flux
from pmuproject.errors import StoreError
from tests.influx_stub import InfluxStub, store_for

pytestmark = pytest.mark.contract

T0 = 1_714_521_600_000_000_000


@pytest.fixture
def stub():
    server = InfluxStub(token="grafana:s3cret", org="-", bucket="telemetry/autogen")
    server.v1 = True
    server.start()
    yield server
    server.stop()


def samples(count=30):
    times = T0 + np.arange(count, dtype=np.int64) * 20_000_001
    columns = {name: np.linspace(1.0, 9.0, count) for name in COLUMNS}
    return Samples("PMU-1", times, columns)


def test_reads_and_writes_work_with_the_literal_preamble(stub):
    store = store_for(stub)
    written = samples()

    store.write([written])
    read = store.read_samples("PMU-1", start_ns=T0, stop_ns=T0 + 10**12)
    windows = store.read_windows(
        "PMU-1", start_ns=T0, stop_ns=T0 + 10**12, window_ns=10**8
    )

    assert store.list_pmus() == ["PMU-1"]
    np.testing.assert_array_equal(read.time, written.time)
    assert windows.count.sum() == len(written)
    page = next(r for r in stub.queries() if "p_limit" in r.flux)
    assert page.json["extern"]["body"] == []
    assert page.flux.startswith('p_bucket = "telemetry/autogen"\n')
    assert page.flux.endswith(flux.SAMPLES_PAGE.body)
    assert stub.writes()[0].query["bucket"] == "telemetry/autogen"


def test_without_org_dash_a_v1_server_cannot_see_the_parameters(stub):
    store = store_for(stub, org="not-dash")
    stub.org = "not-dash"

    with pytest.raises(StoreError) as caught:
        store.list_pmus()

    assert "undefined identifier p_bucket" in caught.value.detail


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("PMU-1", '"PMU-1"'),
        ('a"b', '"a\\"b"'),
        ("${x}", '"\\${x}"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\\nlines"'),
        (42, "42"),
    ],
)
def test_literals_are_escaped_for_flux(value, literal):
    assert flux.flux_literal(value) == literal


@pytest.mark.parametrize("value", [True, 1.5, None, b"x", np.int64(3)])
def test_only_checked_ints_and_strings_become_literals(value):
    with pytest.raises(TypeError):
        flux.flux_literal(value)

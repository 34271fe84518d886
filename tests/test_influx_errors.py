"""Every InfluxDB failure mode maps to one store error, never with the token.

The stub answers with InfluxDB's own status codes and JSON bodies; the
network failures use a port where nothing listens, a name under
`.invalid` (which never resolves) and a stub that answers too late.
"""

import logging
import socket

import numpy as np
import pytest

from measurements.gateway import COLUMNS, Samples
from measurements.stores import influx
from pmuproject.errors import (
    ServiceError,
    StoreBucketMissing,
    StoreCredentialsRefused,
    StoreError,
    StoreUnreachable,
    StoreWriteError,
)
from tests.influx_stub import InfluxStub, store_for

pytestmark = pytest.mark.contract

TOKEN = "tok-9f8e7d6c5b4a3f2e1d0c"
T0 = 1_714_521_600_000_000_000


@pytest.fixture
def stub():
    server = InfluxStub(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(influx, "WRITE_RETRY_INTERVAL_S", 0.01)
    monkeypatch.setattr(influx, "WRITE_MAX_RETRY_DELAY_S", 0.02)


def free_port():
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def samples(count=20, pmu_id="PMU-1"):
    times = T0 + np.arange(count, dtype=np.int64) * 1_000_003
    return Samples(pmu_id, times, {name: np.full(count, 1.5) for name in COLUMNS})


def raised(call):
    with pytest.raises(ServiceError) as caught:
        call()
    error = caught.value
    assert TOKEN not in str(error.as_body())
    return error


def test_a_wrong_token_means_credentials_refused(stub):
    store = store_for(stub, token="tok-wrong-0000")

    error = raised(store.list_pmus)

    assert type(error) is StoreCredentialsRefused
    assert error.status == 503
    assert "HTTP 401" in error.detail
    assert "tok-wrong-0000" not in str(error.as_body())


def test_an_unknown_bucket_means_bucket_missing(stub):
    store = store_for(stub, bucket="archive-2019")

    error = raised(lambda: store.read_samples("A", start_ns=T0, stop_ns=T0 + 9))

    assert type(error) is StoreBucketMissing
    assert error.as_body()["bucket"] == "archive-2019"
    assert "could not find bucket" in error.detail


def test_an_unknown_org_means_bucket_missing_and_says_organization(stub):
    store = store_for(stub, org="other-org")

    error = raised(store.read_latest)

    assert type(error) is StoreBucketMissing
    assert "organization" in error.detail
    assert "other-org" in error.detail


def test_a_refused_query_is_a_store_error_with_the_servers_message(stub):
    stub.query_failure = (400, "invalid", "error @1:1-1:5: undefined identifier x")
    store = store_for(stub)

    error = raised(lambda: store.count_samples("A", start_ns=T0, stop_ns=T0 + 9))

    assert type(error) is StoreError
    assert "HTTP 400" in error.detail
    assert "undefined identifier x" in error.detail


def test_an_unavailable_server_means_unreachable(stub):
    stub.query_failure = (503, "unavailable", "too busy")

    error = raised(store_for(stub).list_pmus)

    assert type(error) is StoreUnreachable


def test_an_error_table_after_data_rows_fails_the_whole_read(stub):
    store = store_for(stub)
    store.write([samples(40)])
    stub.error_after_rows = 5

    error = raised(lambda: store.read_samples("PMU-1", start_ns=T0, stop_ns=T0 + 10**9))

    assert type(error) is StoreError
    assert "failed while answering" in error.detail
    assert "stub failure" in error.detail


def test_connection_refused_means_unreachable():
    store = influx.InfluxStore(
        url=f"http://127.0.0.1:{free_port()}",
        token=TOKEN,
        org="o",
        bucket="b",
        timeout_s=0.5,
    )

    error = raised(store.list_pmus)

    assert type(error) is StoreUnreachable
    assert "refused the connection" in error.detail


def test_a_name_that_does_not_resolve_means_unreachable():
    store = influx.InfluxStore(
        url="http://influxdb.invalid:8086", token=TOKEN, org="o", bucket="b"
    )

    error = raised(store.list_pmus)

    assert type(error) is StoreUnreachable
    assert "influxdb.invalid does not resolve" in error.detail


def test_a_server_that_answers_too_late_means_unreachable(stub):
    stub.delay_s = 1.5
    store = store_for(stub, timeout_s=0.2)

    error = raised(store.list_pmus)

    assert type(error) is StoreUnreachable
    assert "did not answer within 0.2 s" in error.detail


def test_a_token_that_may_not_write_names_the_bucket(stub):
    stub.writable = False

    error = raised(lambda: store_for(stub).write([samples()]))

    assert type(error) is StoreWriteError
    assert stub.bucket in error.detail
    assert error.as_body()["bucket"] == stub.bucket
    assert stub.points == {}


def test_writing_to_an_unknown_bucket_means_bucket_missing(stub):
    error = raised(lambda: store_for(stub, bucket="nope").write([samples()]))

    assert type(error) is StoreBucketMissing


def test_transient_write_failures_are_retried(stub, quick_retries):
    stub.write_failures = [503, 429]

    written = store_for(stub).write([samples(5)])

    assert written == 5
    assert len(stub.writes()) == 3
    assert len(stub.points[("PMU-1", "v_a_mag")]) == 5


def test_a_write_that_keeps_failing_gives_up_as_unreachable(stub, quick_retries):
    stub.write_failures = [503] * 10

    error = raised(lambda: store_for(stub).write([samples(5)]))

    assert type(error) is StoreUnreachable
    assert len(stub.writes()) == influx.WRITE_RETRIES + 1


def test_health_reports_the_failure_instead_of_raising(stub):
    health = store_for(stub, token="tok-wrong-1111").health()

    assert health["ok"] is False
    assert health["store"] == "influxdb"
    assert health["error"] == "credentials_refused"
    assert "tok-wrong-1111" not in str(health)


def test_health_reports_latency_when_the_store_answers(stub):
    health = store_for(stub).health()

    assert health["ok"] is True
    assert health["bucket"] == stub.bucket
    assert health["url"] == stub.url
    assert health["latency_ms"] >= 0


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(stub, caplog):
    store = store_for(stub)
    stub.query_failure = (503, "unavailable", "starting up")
    caplog.set_level(logging.INFO, logger="measurements.stores.influx")

    for _ in range(3):
        raised(store.list_pmus)
    stub.query_failure = None
    store.list_pmus()
    store.list_pmus()

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "is unavailable (HTTP 503: starting up)" in messages[0]
    assert "answers again" in messages[1]

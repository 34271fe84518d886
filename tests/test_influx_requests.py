"""What the InfluxDB store sends: fixed Flux texts, typed parameters, lines.

The loopback stub records every request, so these tests read the JSON body
the client produced: the Flux text must be one of the fixed texts, with no
user value in it, and the values must travel as typed `extern` options.
"""

import itertools
import json

import numpy as np
import pytest

from measurements.gateway import Samples
from measurements.stores import flux, influx
from pmuproject.errors import InvalidParameter
from tests.influx_stub import InfluxStub, store_for

pytestmark = pytest.mark.contract

T0 = 1_714_521_600_123_456_789
PMU = "PMU-Zeta.93:x_"
FIXED_TEXTS = {query.text for query in flux.QUERIES}


@pytest.fixture
def stub():
    server = InfluxStub().start()
    yield server
    server.stop()


@pytest.fixture
def store(stub):
    opened = store_for(stub)
    yield opened
    opened.close()


def one_pmu(count=20, pmu_id=PMU):
    times = T0 + np.arange(count, dtype=np.int64) * 33_333_337
    columns = {name: np.linspace(1.0, 2.0, count) for name in influx.COLUMNS}
    columns["rocof"] = np.full(count, np.nan)
    return Samples(pmu_id, times, columns)


def every_read(store):
    """Call every read of the gateway once, with distinctive values."""
    start, stop, window = T0 + 11, T0 + 987_654_321_013, 1_234_567_891
    store.list_pmus()
    store.list_pmus(since_ns=T0 + 17)
    store.count_samples(PMU, start_ns=start, stop_ns=stop)
    store.read_samples(PMU, start_ns=start, stop_ns=stop)
    store.read_windows(PMU, start_ns=start, stop_ns=stop, window_ns=window)
    store.last_time(PMU, start_ns=start, stop_ns=stop)
    store.read_latest()
    store.read_recent(start_ns=start, stop_ns=stop)
    store.health()
    return [str(value) for value in (PMU, T0 + 17, start, stop, window)]


def test_every_query_is_a_fixed_text_with_no_user_value_in_it(store, stub):
    store.write([one_pmu()])
    user_values = every_read(store)

    queries = stub.queries()
    assert {request.flux for request in queries} <= FIXED_TEXTS
    assert len({request.flux for request in queries}) == len(flux.QUERIES)
    for request in queries:
        for value in [*user_values, stub.bucket]:
            assert value not in request.flux


def test_values_travel_as_typed_extern_options(store, stub):
    store.count_samples(PMU, start_ns=T0, stop_ns=T0 + 5)
    store.read_windows(PMU, start_ns=T0, stop_ns=T0 + 5, window_ns=7)

    count, windows = stub.queries()
    assert count.params == {
        "p_bucket": stub.bucket,
        "p_pmu": PMU,
        "p_start": T0,
        "p_stop": T0 + 5,
    }
    assert windows.params["p_window"] == 7
    types = {
        statement["assignment"]["id"]["name"]: statement["assignment"]["init"]["type"]
        for statement in windows.json["extern"]["body"]
    }
    assert types == {
        "p_bucket": "StringLiteral",
        "p_pmu": "StringLiteral",
        "p_start": "IntegerLiteral",
        "p_stop": "IntegerLiteral",
        "p_window": "IntegerLiteral",
    }
    assert count.query["org"] == stub.org
    assert count.json["dialect"]["annotations"] == ["datatype", "group", "default"]
    assert count.headers["Authorization"] == f"Token {stub.token}"


def test_a_long_range_is_read_in_bounded_pages(store, stub, monkeypatch):
    monkeypatch.setattr(influx, "PAGE_ROWS", 8)
    monkeypatch.setattr(influx, "FIRST_PAGE_NS", 10**9)
    store.write([one_pmu(50)])

    read = store.read_samples(PMU, start_ns=T0, stop_ns=T0 + 10**12)

    pages = [r for r in stub.queries() if r.flux == flux.SAMPLES_PAGE.text]
    assert len(read) == 50
    assert len(pages) > 50 // 8
    assert {page.params["p_limit"] for page in pages} == {8}
    # Consecutive pages tile the range without a gap or an overlap.
    for before, after in itertools.pairwise(pages):
        assert after.params["p_start"] <= before.params["p_stop"]
        assert after.params["p_start"] > before.params["p_start"]


def test_writes_are_line_protocol_in_nanoseconds_in_batches(store, stub, monkeypatch):
    monkeypatch.setattr(influx, "WRITE_BATCH_LINES", 7)

    written = store.write([one_pmu(20), one_pmu(3, pmu_id="PMU-2")])

    writes = stub.writes()
    assert written == 23
    assert [len(w.body.splitlines()) for w in writes] == [7, 7, 7, 2]
    assert {
        (w.query["bucket"], w.query["org"], w.query["precision"]) for w in writes
    } == {(stub.bucket, stub.org, "ns")}
    first = writes[0].body.decode().splitlines()[0]
    fields = ",".join(f"{name}=1.0" for name in influx.COLUMNS if name != "rocof")
    assert first == f"pmu_measurements,pmu_id={PMU} {fields} {T0}"


def test_nan_values_are_left_out_and_empty_samples_skipped(store, stub):
    samples = one_pmu(3)
    samples.columns["v_a_mag"][1] = np.nan
    for values in samples.columns.values():
        values[2] = np.nan

    written = store.write([samples])

    lines = stub.writes()[0].body.decode().splitlines()
    assert written == 2
    assert len(lines) == 2
    assert "v_a_mag=" not in lines[1]
    assert "nan" not in lines[1].lower()


HOSTILE_IDS = [
    'A" or r.pmu_id != "',
    "A\nB",
    "A,pmu_id=B",
    "A B",
    "",
    "-leading-dash",
    "x" * 65,
    "ÅB",
    None,
    7,
]
HOSTILE_TIMES = [-1, 2**70, 1.5, "0", True, None, np.float64(3.0)]


@pytest.mark.parametrize("pmu_id", HOSTILE_IDS)
def test_hostile_pmu_ids_are_refused_before_any_request(store, stub, pmu_id):
    calls = [
        lambda: store.count_samples(pmu_id, start_ns=T0, stop_ns=T0 + 1),
        lambda: store.read_samples(pmu_id, start_ns=T0, stop_ns=T0 + 1),
        lambda: store.read_windows(pmu_id, start_ns=T0, stop_ns=T0 + 9, window_ns=3),
        lambda: store.last_time(pmu_id, start_ns=T0, stop_ns=T0 + 1),
        lambda: store.write([Samples(pmu_id, [T0], {"v_a_mag": [1.0]})]),
    ]
    for call in calls:
        with pytest.raises(InvalidParameter):
            call()

    assert stub.requests == []


@pytest.mark.parametrize("value", HOSTILE_TIMES)
def test_hostile_times_and_windows_are_refused_before_any_request(store, stub, value):
    calls = [
        lambda: store.count_samples("A", start_ns=value, stop_ns=T0),
        lambda: store.read_samples("A", start_ns=T0, stop_ns=value),
        lambda: store.read_windows("A", start_ns=T0, stop_ns=T0 + 9, window_ns=value),
        lambda: store.last_time("A", start_ns=value, stop_ns=T0),
        lambda: store.read_recent(start_ns=value, stop_ns=T0),
        lambda: store.list_pmus(since_ns=value),
    ]
    if value is None:
        calls = calls[:-1]  # since_ns=None means "no limit"
    for call in calls:
        with pytest.raises(InvalidParameter):
            call()

    assert stub.requests == []


def test_numpy_integers_are_accepted_and_sent_as_integers(store, stub):
    store.count_samples("A", start_ns=np.int64(T0), stop_ns=np.int64(T0 + 9))

    body = json.loads(stub.queries()[0].body)
    inits = {
        s["assignment"]["id"]["name"]: s["assignment"]["init"]
        for s in body["extern"]["body"]
    }
    assert inits["p_start"] == {"type": "IntegerLiteral", "value": str(T0)}

"""The gateway contract, run against every store with the same data.

Each test writes through the store under test and reads back through it;
the expected answers come from the written samples and from
`measurements.power.WindowAccumulator`, which defines the embedded
semantics. Times must match to the nanosecond.
"""

import numpy as np
import pytest

from measurements.gateway import COLUMNS, Samples
from measurements.power import WINDOW_MEANS, WindowAccumulator
from measurements.stores import influx
from pmuproject.errors import StoreBucketMissing, StoreCredentialsRefused
from tests.contract.conftest import PERIOD, T0, make_samples, ours, real_server_settings

pytestmark = pytest.mark.contract

SECOND = 1_000_000_000


def assert_same_samples(actual, expected):
    assert actual.pmu_id == expected.pmu_id
    np.testing.assert_array_equal(actual.time, expected.time)
    for name in COLUMNS:
        np.testing.assert_array_equal(actual.columns[name], expected.columns[name])


def test_write_returns_the_count_and_list_pmus_lists_them_sorted(store, pmu):
    written = store.write(
        [make_samples(pmu("B"), 30, seed=1), make_samples(pmu("A"), 20, seed=2)]
    )

    assert written == 50
    assert ours(store.list_pmus(), pmu) == [pmu("A"), pmu("B")]


def test_list_pmus_since_keeps_those_heard_from_at_or_after_it(store, pmu):
    early = make_samples(pmu("early"), 10, seed=1)
    late = make_samples(pmu("late"), 10, first=100, seed=2)
    store.write([early, late])
    last_early = int(early.time[-1])

    assert ours(store.list_pmus(since_ns=last_early), pmu) == [
        pmu("early"),
        pmu("late"),
    ]
    assert ours(store.list_pmus(since_ns=last_early + 1), pmu) == [pmu("late")]
    assert ours(store.list_pmus(since_ns=int(late.time[-1]) + 1), pmu) == []


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (5, 50),  # both ends on a sample: start kept, stop left out
        (0, 200),  # the whole series
        (-10, 3),  # from before the first sample
        (7, 8),  # exactly one sample
    ],
)
@pytest.mark.parametrize("nudge", [0, 1, -1])
def test_count_and_read_samples_honour_start_stop_to_the_nanosecond(
    store, pmu, start, stop, nudge
):
    samples = make_samples(pmu("A"), 200, seed=3)
    store.write([samples])
    start_ns = T0 + start * PERIOD + 7 + nudge
    stop_ns = T0 + stop * PERIOD + 7 + nudge
    expected = samples.take((samples.time >= start_ns) & (samples.time < stop_ns))

    count = store.count_samples(pmu("A"), start_ns=start_ns, stop_ns=stop_ns)
    read = store.read_samples(pmu("A"), start_ns=start_ns, stop_ns=stop_ns)

    assert count == len(expected)
    assert_same_samples(read, expected)


def test_iter_samples_yields_bounded_batches_in_time_order(
    store, store_kind, pmu, monkeypatch
):
    # Small pages make the InfluxDB store page several times.
    monkeypatch.setattr(influx, "PAGE_ROWS", 64)
    monkeypatch.setattr(influx, "FIRST_PAGE_NS", 16 * PERIOD)
    samples = make_samples(pmu("A"), 500, seed=4, gap=(100, 150))
    store.write([samples])

    batches = list(store.iter_samples(pmu("A"), start_ns=T0, stop_ns=T0 + 600 * PERIOD))

    everything = Samples.concat(pmu("A"), batches)
    assert_same_samples(everything, samples)
    assert all(np.all(np.diff(batch.time) > 0) for batch in batches)
    if store_kind.startswith("influx"):
        assert len(batches) > 1
        assert max(len(batch) for batch in batches) <= 64


@pytest.mark.parametrize(
    ("start", "stop", "window"),
    [
        (T0 + 123_456_789, T0 + 9 * SECOND + 7, SECOND),  # clipped first and last
        (T0, T0 + 10 * SECOND, 250_000_000),
        (T0 + 3, T0 + 4 * SECOND, 3_600 * SECOND),  # one window, wider than range
        (T0 + SECOND // 3, T0 + 6 * SECOND, 700_000_001),  # odd window size
    ],
)
def test_read_windows_equal_the_embedded_definition(store, pmu, start, stop, window):
    # 500 samples over 10 s with a 3 s hole: some windows have no data.
    samples = make_samples(pmu("A"), 500, seed=5, gap=(200, 150))
    store.write([samples])
    reference = WindowAccumulator(start_ns=start, stop_ns=stop, window_ns=window)
    inside = samples.take((samples.time >= start) & (samples.time < stop))
    reference.add(inside.time, inside.columns)
    ends, counts, means = reference.result()

    windows = store.read_windows(
        pmu("A"), start_ns=start, stop_ns=stop, window_ns=window
    )

    np.testing.assert_array_equal(windows.time, ends)
    np.testing.assert_array_equal(windows.count, counts)
    assert set(windows.means) == set(WINDOW_MEANS)
    for name in WINDOW_MEANS:
        np.testing.assert_allclose(
            windows.means[name], means[name], rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_last_time_is_the_latest_sample_inside_the_range(store, pmu):
    samples = make_samples(pmu("A"), 50, seed=6)
    store.write([samples])
    t = samples.time

    def last(start, stop):
        return store.last_time(pmu("A"), start_ns=int(start), stop_ns=int(stop))

    assert last(T0, T0 + 3600 * SECOND) == t[-1]
    assert last(T0, t[20]) == t[19]
    assert last(T0, t[20] + 1) == t[20]
    assert last(t[20], t[20] + 1) == t[20]
    assert last(t[20] + 1, t[21]) is None
    assert last(t[-1] + 1, t[-1] + SECOND) is None
    assert store.last_time(pmu("nobody"), start_ns=T0, stop_ns=t[-1] + 1) is None


def test_read_latest_gives_every_pmus_last_sample(store, pmu):
    # One PMU sends frequency and one does not: for InfluxDB the answer
    # changes schema between the two tables.
    with_freq = make_samples(pmu("A"), 40, seed=7)
    without = make_samples(pmu("B"), 25, first=5, seed=8, freq=False)
    store.write([with_freq, without])

    latest = store.read_latest()

    assert ours(sorted(latest), pmu) == [pmu("A"), pmu("B")]
    assert_same_samples(latest[pmu("A")], with_freq.take(slice(-1, None)))
    assert_same_samples(latest[pmu("B")], without.take(slice(-1, None)))


def test_read_recent_gives_every_pmu_with_samples_in_the_range(store, pmu):
    a = make_samples(pmu("A"), 100, seed=9)
    b = make_samples(pmu("B"), 100, first=50, seed=10, freq=False)
    gone = make_samples(pmu("C"), 10, seed=11)
    store.write([a, b, gone])
    start, stop = T0 + 60 * PERIOD, T0 + 120 * PERIOD

    recent = store.read_recent(start_ns=start, stop_ns=stop)

    assert ours(sorted(recent), pmu) == [pmu("A"), pmu("B")]
    for samples in (a, b):
        expected = samples.take((samples.time >= start) & (samples.time < stop))
        assert_same_samples(recent[samples.pmu_id], expected)


def test_writing_the_same_instants_again_replaces_never_duplicates(store, pmu):
    first = make_samples(pmu("A"), 60, seed=12)
    second = make_samples(pmu("A"), 60, seed=13)
    store.write([first])
    store.write([first])
    store.write([second])

    read = store.read_samples(pmu("A"), start_ns=T0, stop_ns=T0 + 3600 * SECOND)

    assert store.count_samples(pmu("A"), start_ns=T0, stop_ns=T0 + 3600 * SECOND) == 60
    assert_same_samples(read, second)


def test_an_unknown_pmu_or_an_empty_range_reads_nothing(store, pmu):
    store.write([make_samples(pmu("A"), 10, seed=14)])
    far = T0 + 3600 * SECOND

    assert store.count_samples(pmu("B"), start_ns=T0, stop_ns=far) == 0
    assert len(store.read_samples(pmu("B"), start_ns=T0, stop_ns=far)) == 0
    assert (
        len(store.read_windows(pmu("B"), start_ns=T0, stop_ns=far, window_ns=SECOND))
        == 0
    )
    assert store.count_samples(pmu("A"), start_ns=T0 + 7, stop_ns=T0 + 7) == 0
    assert len(store.read_samples(pmu("A"), start_ns=far, stop_ns=T0)) == 0
    assert store.read_recent(start_ns=far, stop_ns=far + SECOND) == {}


def test_health_says_the_store_answers(store):
    health = store.health()

    assert health["ok"] is True
    assert health["store"] == store.kind
    assert health["latency_ms"] >= 0


@pytest.fixture
def influx_kind(store_kind):
    if store_kind == "embedded":
        pytest.skip("InfluxDB failure modes")
    return store_kind


def _influx_settings(kind, request):
    if kind == "influx-stub":
        server = request.getfixturevalue("stub")
        return {
            "url": server.url,
            "token": server.token,
            "org": server.org,
            "bucket": server.bucket,
            "timeout_s": 5,
        }
    return real_server_settings()


def test_a_refused_token_is_reported_without_the_token(influx_kind, request):
    options = _influx_settings(influx_kind, request)
    options["token"] = "not-the-token-5f2c9e"
    store = influx.InfluxStore(**options)

    with pytest.raises(StoreCredentialsRefused) as caught:
        store.list_pmus()

    assert "not-the-token-5f2c9e" not in str(caught.value.as_body())


def test_a_missing_bucket_is_reported_by_name(influx_kind, request):
    options = _influx_settings(influx_kind, request)
    options["bucket"] = "no-such-bucket-7d1e"
    store = influx.InfluxStore(**options)

    with pytest.raises(StoreBucketMissing) as caught:
        store.count_samples("A", start_ns=T0, stop_ns=T0 + SECOND)

    assert "no-such-bucket-7d1e" in caught.value.detail

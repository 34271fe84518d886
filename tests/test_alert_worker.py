"""The alert worker on the embedded store: raises, clears, restarts, staleness."""

import math

import pytest
from asgiref.sync import sync_to_async

from alerts.models import Alert, AlertRule
from alerts.worker import AlertWorker
from measurements.gateway import get_store
from tests.alerts_support import (
    NS,
    T0,
    Clock,
    Recorder,
    make_rule,
    phasor_samples,
    register_pmu,
)

pytestmark = pytest.mark.django_db(transaction=True)

OLD_KEYS = {"pmu", "type", "value"}
NEW_KEYS = {"id", "phase", "severity", "state", "limit", "time"}


def worker(clock, recorder, **options):
    options.setdefault("interval_s", 1.0)
    options.setdefault("stale_after_s", 1000.0)
    return AlertWorker(publish=recorder, clock=clock, **options)


def alerts_in_db():
    return list(Alert.objects.order_by("pmu", "quantity", "phase", "raised_at"))


@pytest.fixture
async def sag_setup():
    await sync_to_async(register_pmu)("PMU-1")
    rule = await sync_to_async(make_rule)(pmu="PMU-1")
    return rule


async def test_a_sag_between_two_ticks_is_raised_then_cleared_per_phase(sag_setup):
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    # Phases a and b sag to 0.5 and 0.3 pu for five frames, well inside
    # one tick; phase c stays at nominal.
    sag = {"a": (40, 44, 0.5), "b": (40, 44, 0.3)}
    get_store().write([phasor_samples("PMU-1", T0, 1.0, sag=sag)])
    clock.advance(1.0)

    published = await w.tick()

    assert recorder.events() == [
        ("raised", "voltage", "a"),
        ("raised", "voltage", "b"),
        ("cleared", "voltage", "a"),
        ("cleared", "voltage", "b"),
    ]
    assert all(len(message) == 1 for message in recorder.messages)
    for alert in published:
        assert alert.keys() >= OLD_KEYS | NEW_KEYS
        assert math.isfinite(alert["value"])
    raised_a = published[0]
    assert raised_a["pmu"] == "PMU-1"
    assert raised_a["severity"] == "critical"
    assert raised_a["limit"] == 0.9
    assert raised_a["value"] == pytest.approx(0.5)
    assert raised_a["unit"] == "pu"

    rows = await sync_to_async(alerts_in_db)()
    assert [(row.phase, row.worst, row.cleared_value) for row in rows] == [
        ("a", pytest.approx(0.5), pytest.approx(1.0)),
        ("b", pytest.approx(0.3), pytest.approx(1.0)),
    ]
    assert all(row.cleared_at is not None for row in rows)
    assert {row.id for row in rows} == {alert["id"] for alert in published}


async def test_the_worst_value_is_kept_while_an_alert_spans_several_ticks(sag_setup):
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    store = get_store()

    store.write([phasor_samples("PMU-1", T0, 1.0, sag={"a": (60, 119, 0.8)})])
    clock.advance(1.0)
    await w.tick()
    store.write([phasor_samples("PMU-1", T0 + NS, 1.0, sag={"a": (0, 30, 0.4)})])
    clock.advance(1.0)
    await w.tick()

    assert recorder.events() == [
        ("raised", "voltage", "a"),
        ("cleared", "voltage", "a"),
    ]
    (row,) = await sync_to_async(alerts_in_db)()
    assert row.value == pytest.approx(0.8)
    assert row.worst == pytest.approx(0.4)


async def test_a_restarted_worker_does_not_raise_an_active_alert_again(sag_setup):
    clock, recorder = Clock(), Recorder()
    store = get_store()
    first = worker(clock, recorder)
    await first.tick()
    store.write([phasor_samples("PMU-1", T0, 1.0, sag={"a": (60, 119, 0.5)})])
    clock.advance(1.0)
    await first.tick()
    assert recorder.events() == [("raised", "voltage", "a")]

    # A new worker (a restart) sees the same alert still active, then the
    # voltage coming back.
    second = worker(clock, recorder)
    store.write([phasor_samples("PMU-1", T0 + NS, 1.0, sag={"a": (0, 59, 0.5)})])
    clock.advance(1.0)
    await second.tick()

    assert recorder.events() == [
        ("raised", "voltage", "a"),
        ("cleared", "voltage", "a"),
    ]
    assert recorder.alerts[0]["id"] == recorder.alerts[1]["id"]
    assert await Alert.objects.acount() == 1


async def test_a_restarted_worker_does_not_evaluate_the_same_samples_again(sag_setup):
    clock, recorder = Clock(), Recorder()
    get_store().write([phasor_samples("PMU-1", T0, 1.0, sag={"a": (40, 44, 0.5)})])
    first = worker(clock, recorder)
    await first.tick()
    clock.advance(1.5)
    await first.tick()
    assert len(recorder.alerts) == 2

    second = worker(clock, recorder)
    clock.advance(0.5)
    await second.tick()

    assert len(recorder.alerts) == 2
    assert await Alert.objects.acount() == 1


async def test_two_workers_by_mistake_do_not_raise_the_same_alert_twice(sag_setup):
    """The database allows one active alert per key, whatever the lease says."""
    clock, one, two = Clock(), Recorder(), Recorder()
    first, second = worker(clock, one), worker(clock, two)
    await first.tick()
    await second.tick()
    get_store().write([phasor_samples("PMU-1", T0, 1.0, sag={"a": (60, 119, 0.5)})])
    clock.advance(1.0)

    await first.tick()
    await second.tick()

    assert one.events() == [("raised", "voltage", "a")]
    assert two.events() == []
    assert await Alert.objects.acount() == 1


async def test_an_alert_of_a_deleted_rule_clears(sag_setup):
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    get_store().write([phasor_samples("PMU-1", T0, 1.0, sag={"a": (60, 119, 0.5)})])
    clock.advance(1.0)
    await w.tick()

    await AlertRule.objects.filter(pk=sag_setup.pk).adelete()
    clock.advance(1.0)
    await w.tick()

    assert recorder.events() == [
        ("raised", "voltage", "a"),
        ("cleared", "voltage", "a"),
    ]
    assert recorder.alerts[1]["value"] == pytest.approx(0.5)
    assert await Alert.objects.filter(cleared_at__isnull=True).acount() == 0


async def test_a_pmu_that_goes_silent_raises_stale_and_clears_when_data_returns():
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder, stale_after_s=5.0)
    store = get_store()
    await w.tick()
    store.write([phasor_samples("QUIET", T0, 1.0)])
    clock.advance(1.0)
    await w.tick()

    for _ in range(4):
        clock.advance(1.0)
        await w.tick()
    assert recorder.events() == []
    for _ in range(3):
        clock.advance(1.0)
        await w.tick()
    assert recorder.events() == [("raised", "stale", None)]
    stale = recorder.alerts[0]
    assert stale["pmu"] == "QUIET"
    assert stale["limit"] == 5.0
    assert stale["value"] > 5.0

    store.write([phasor_samples("QUIET", clock.now - NS // 2, 0.25)])
    await w.tick()

    assert recorder.events() == [("raised", "stale", None), ("cleared", "stale", None)]
    assert recorder.alerts[1]["id"] == stale["id"]


async def test_a_registered_pmu_that_never_sends_anything_goes_stale():
    await sync_to_async(register_pmu)("NEVER")
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder, stale_after_s=3.0)
    for _ in range(5):
        await w.tick()
        clock.advance(1.0)

    assert recorder.events() == [("raised", "stale", None)]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"quantity": "current", "unit": "absolute", "low": None, "high": 150.0}, "a"),
        ({"quantity": "power_factor", "unit": "absolute", "low": 0.9}, "a"),
        (
            {"quantity": "frequency", "unit": "absolute", "low": 59.9, "high": 60.1},
            None,
        ),
    ],
)
async def test_current_power_factor_and_frequency_rules_raise(rule, expected):
    await sync_to_async(make_rule)(pmu="PMU-2", phase="any", hysteresis=0.0, **rule)
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    samples = phasor_samples("PMU-2", T0, 1.0)
    hit = slice(60, 80)
    # Phase a draws 200 A at a 60 degree lag (PF 0.5) while the frequency
    # dips to 59.5 Hz.
    samples.columns["i_a_mag"][hit] = 200.0
    samples.columns["i_a_ang"][hit] = -60.0
    samples.columns["freq"][hit] = 59.5
    get_store().write([samples])
    clock.advance(1.0)

    await w.tick()

    assert [(a["event"], a["phase"]) for a in recorder.alerts] == [
        ("raised", expected),
        ("cleared", expected),
    ]


async def test_a_per_unit_rule_for_every_pmu_skips_pmus_without_a_nominal():
    await sync_to_async(register_pmu)("KNOWN")
    await sync_to_async(make_rule)(pmu="")
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    sag = {"a": (40, 44, 0.5)}
    get_store().write(
        [
            phasor_samples("KNOWN", T0, 1.0, sag=sag),
            phasor_samples("UNKNOWN", T0, 1.0, sag=sag),
        ]
    )
    clock.advance(1.0)

    await w.tick()

    assert {alert["pmu"] for alert in recorder.alerts} == {"KNOWN"}


async def test_a_stale_clear_reports_the_longest_silence_as_its_worst():
    await sync_to_async(register_pmu)("LATE")
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder, stale_after_s=2.0)
    for _ in range(8):
        await w.tick()
        clock.advance(1.0)

    get_store().write([phasor_samples("LATE", clock.now - NS // 2, 0.25)])
    await w.tick()

    raised, cleared = recorder.alerts
    assert (raised["state"], cleared["state"]) == ("raised", "cleared")
    assert cleared["worst"] >= raised["value"]
    assert cleared["worst"] >= 7.0


async def test_a_rule_on_a_quantity_the_pmu_does_not_send_is_reported(caplog):
    await sync_to_async(make_rule)(
        pmu="NOFREQ",
        phase="any",
        quantity="frequency",
        unit="absolute",
        low=59.9,
        high=None,
        hysteresis=0.0,
    )
    clock, recorder = Clock(), Recorder()
    w = worker(clock, recorder)
    await w.tick()
    samples = phasor_samples("NOFREQ", T0, 1.0)
    samples.columns["freq"][:] = math.nan
    get_store().write([samples])
    clock.advance(1.0)

    await w.tick()
    await w.tick()

    warnings = [r for r in caplog.records if "does not send" in r.getMessage()]
    assert len(warnings) == 1
    assert "NOFREQ" in warnings[0].getMessage()
    assert recorder.events() == []

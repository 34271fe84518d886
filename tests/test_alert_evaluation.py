"""Evaluating a rule on sample arrays: raises, clears, hysteresis, duration."""

import numpy as np
import pytest

from alerts.rules import Limits, Track, track_samples

MS = 1_000_000
PERIOD = 8_333_333  # 120 frames per second


def frames(values, *, first=0):
    values = np.asarray(values, dtype=float)
    return first + PERIOD * np.arange(len(values), dtype=np.int64), values


def states(changes):
    return [(change.state, change.time_ns, change.value) for change in changes]


def test_a_sag_between_two_ticks_is_raised_then_cleared_with_its_worst_value():
    # Four cycles under 0.9 pu, all inside one tick's samples.
    times, values = frames([1.0, 0.99, 0.7, 0.35, 0.5, 0.8, 0.97, 1.0])
    track = Track()

    changes = track_samples(track, times, values, Limits(0.9, None, 0.02))

    assert states(changes) == [
        ("raised", times[2], 0.7),
        ("cleared", times[6], 0.97),
    ]
    assert changes[0].limit == 0.9
    assert changes[1].worst == 0.35
    assert track == Track()


def test_a_value_hovering_inside_the_hysteresis_band_raises_once_and_never_flaps():
    rng = np.random.default_rng(3)
    times, values = frames(0.9 + rng.uniform(-0.009, 0.009, 600))
    track = Track()
    changes = []
    for part in np.array_split(np.arange(600), 10):
        changes += track_samples(
            track, times[part], values[part], Limits(0.9, None, 0.02)
        )

    assert [change.state for change in changes] == ["raised"]
    assert track.active
    assert track.worst == values[values < 0.9].min()


def test_without_hysteresis_the_same_hovering_value_flaps():
    """The control case: proves the band is what stops the flapping above."""
    times, values = frames([0.89, 0.91, 0.89, 0.91])

    changes = track_samples(Track(), times, values, Limits(0.9, None, 0.0))

    assert [change.state for change in changes] == [
        "raised",
        "cleared",
        "raised",
        "cleared",
    ]


def test_an_excursion_shorter_than_the_minimum_duration_is_not_raised():
    times, values = frames([1.0, 0.5, 0.5, 0.5, 1.0])  # 3 frames, 16.7 ms

    changes = track_samples(Track(), times, values, Limits(0.9, None, 0.0, 20 * MS))

    assert changes == []


def test_a_long_enough_excursion_is_raised_once_the_minimum_duration_has_passed():
    times, values = frames([1.0, 0.5, 0.5, 0.5, 0.5, 1.0])

    changes = track_samples(Track(), times, values, Limits(0.9, None, 0.0, 20 * MS))

    assert states(changes) == [("raised", times[4], 0.5), ("cleared", times[5], 1.0)]


def test_a_pending_excursion_carries_over_from_one_tick_to_the_next():
    times, values = frames([1.0, 0.5, 0.5, 0.5, 0.5, 1.0])
    track = Track()
    limits = Limits(0.9, None, 0.0, 20 * MS)

    first = track_samples(track, times[:3], values[:3], limits)
    second = track_samples(track, times[3:], values[3:], limits)

    assert first == []
    assert track.pending_since is None
    assert states(second) == [("raised", times[4], 0.5), ("cleared", times[5], 1.0)]


def test_a_pending_excursion_broken_by_a_sample_inside_starts_over():
    times, values = frames([0.5, 0.5, 0.5, 1.0, 0.5, 0.5, 1.0])

    changes = track_samples(Track(), times, values, Limits(0.9, None, 0.0, 20 * MS))

    assert changes == []


def test_a_high_limit_raises_above_and_tracks_the_highest_value():
    times, values = frames([60.0, 60.3, 60.6, 60.4, 60.05])

    changes = track_samples(Track(), times, values, Limits(None, 60.2, 0.1))

    assert states(changes) == [("raised", times[1], 60.3), ("cleared", times[4], 60.05)]
    assert changes[1].limit == 60.2
    assert changes[1].worst == 60.6


def test_missing_values_neither_raise_nor_clear():
    times, values = frames([np.nan, 0.5, np.nan, np.nan, 0.6])
    track = Track()

    changes = track_samples(track, times, values, Limits(0.9, None, 0.0))

    assert states(changes) == [("raised", times[1], 0.5)]
    assert track.active
    assert track.worst == 0.5


@pytest.mark.parametrize("split", [1, 2, 5, 17])
def test_splitting_the_samples_into_ticks_does_not_change_the_outcome(split):
    rng = np.random.default_rng(7)
    times, values = frames(
        1.0 + 0.2 * np.sin(np.arange(400) / 9) + rng.normal(0, 0.02, 400)
    )
    limits = Limits(0.88, 1.12, 0.03, 25 * MS)
    whole = track_samples(Track(), times, values, limits)

    track, pieces = Track(), []
    for part in np.array_split(np.arange(400), split):
        pieces += track_samples(track, times[part], values[part], limits)

    assert len(whole) > 4
    assert pieces == whole


def test_a_brief_recovery_within_one_event_does_not_clear_with_a_clear_duration():
    # A sag recovers above the band for two frames, then dips again: without
    # a clear duration that is two alerts; with 50 ms it is one.
    times = np.arange(40, dtype=np.int64) * PERIOD
    values = np.full(40, 1.0)
    values[5:15] = 0.85
    values[15:17] = 0.95
    values[17:25] = 0.86
    quick = Limits(0.9, None, 0.02, 0, 0)
    held = Limits(0.9, None, 0.02, 0, 50_000_000)

    quick_changes = track_samples(Track(), times, values, quick)
    held_changes = track_samples(Track(), times, values, held)

    assert [c.state for c in quick_changes] == ["raised", "cleared"] * 2
    assert [c.state for c in held_changes] == ["raised", "cleared"]
    cleared = held_changes[1]
    assert cleared.time_ns == times[np.searchsorted(times, times[25] + 50_000_000)]
    assert cleared.worst == 0.85


def test_a_clear_duration_carries_over_between_ticks():
    times = np.arange(60, dtype=np.int64) * PERIOD
    values = np.full(60, 1.0)
    values[:10] = 0.8
    limits = Limits(0.9, None, 0.02, 0, 200_000_000)
    track = Track()

    changes = []
    for part in (slice(0, 20), slice(20, 40), slice(40, 60)):
        changes += track_samples(track, times[part], values[part], limits)

    assert [c.state for c in changes] == ["raised", "cleared"]
    assert changes[1].time_ns == times[np.searchsorted(times, times[10] + 200_000_000)]

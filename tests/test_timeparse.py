"""Times and durations the API accepts, exact to the nanosecond."""

import pytest

from measurements.timeparse import (
    TimeFormatError,
    format_duration,
    format_time,
    parse_duration,
    parse_time,
)

NOW = 1_700_000_000_123_456_789


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("-1s", 1_000_000_000),
        ("-15m", 900_000_000_000),
        ("-1h", 3_600_000_000_000),
        ("-500ms", 500_000_000),
        ("-7d", 604_800_000_000_000),
        ("-1h30m", 5_400_000_000_000),
        ("-250us", 250_000),
        ("-3ns", 3),
    ],
)
def test_relative_times_count_back_from_now(text, offset):
    assert parse_time(text, now=NOW) == NOW - offset


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14T22:13:20Z", 1_700_000_000_000_000_000),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123_456_789),
        ("2023-11-14T22:13:20.1Z", 1_700_000_000_100_000_000),
        ("2023-11-14T23:13:20.000000001+01:00", 1_700_000_000_000_000_001),
        ("2023-11-14T17:13:20-0500", 1_700_000_000_000_000_000),
        ("2023-11-14 22:13:20z", 1_700_000_000_000_000_000),
    ],
)
def test_absolute_times_are_exact(text, expected):
    assert parse_time(text, now=NOW) == expected


def test_formatting_keeps_nanoseconds():
    assert format_time(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"


@pytest.mark.parametrize(
    ("text", "ns"), [("10s", 10**10), ("100ms", 10**8), ("1h30m", 5.4e12)]
)
def test_durations(text, ns):
    assert parse_duration(text) == ns
    assert parse_duration(format_duration(int(ns))) == ns


@pytest.mark.parametrize("text", ["0s", "", "10", "s", "1.5s", "-1s", "1y", "1e3s"])
def test_bad_durations(text):
    with pytest.raises(TimeFormatError):
        parse_duration(text)


@pytest.mark.parametrize(
    "text", ["1969-12-31T23:59:59Z", "2300-01-01T00:00:00Z", "2024-02-30T00:00:00Z"]
)
def test_out_of_range_or_impossible_times(text):
    with pytest.raises(TimeFormatError):
        parse_time(text, now=NOW)

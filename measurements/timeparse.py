"""Parsing of the times and durations the API accepts, to integer nanoseconds.

Relative times are Flux-style durations with a sign (`-1h`, `-15m`,
`-500ms`, `-1h30m`); absolute times are RFC 3339 / ISO 8601 with a zone and
up to nine fractional digits, kept exact to the nanosecond.
"""

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
MAX_TEXT = 64
# Times before 1970 or after 2200 are refused: nothing in a PMU archive lives
# there and int64 nanoseconds end in 2262.
MIN_NS = 0
MAX_NS = 7_258_118_400 * 1_000_000_000

_DURATION_PART = re.compile(r"(\d{1,19})(ns|us|µs|ms|s|m|h|d|w)", re.ASCII)
_DURATION = re.compile(r"(?:\d{1,19}(?:ns|us|µs|ms|s|m|h|d|w))+", re.ASCII)
_ABSOLUTE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})"
    r"(?:\.(\d{1,9}))?"
    r"([Zz]|[+-]\d{2}:?\d{2})",
    re.ASCII,
)


class TimeFormatError(ValueError):
    """The text is not a duration or time this API accepts."""


def now_ns():
    return time.time_ns()


def parse_duration(text):
    """Return a positive duration such as `10s` or `1h30m` in nanoseconds."""
    text = _checked(text)
    if not _DURATION.fullmatch(text):
        raise TimeFormatError(
            "expected a duration such as 100ms, 10s, 15m, 1h or 1h30m "
            "(units ns, us, ms, s, m, h, d, w)"
        )
    total = sum(
        int(amount) * NS_PER_UNIT[unit] for amount, unit in _DURATION_PART.findall(text)
    )
    if total <= 0:
        raise TimeFormatError("the duration must be greater than zero")
    if total > MAX_NS:
        raise TimeFormatError("the duration is too long")
    return total


def parse_time(text, *, now):
    """Return an instant in nanoseconds since the Unix epoch.

    `text` is a relative duration (`-1h`, `-500ms`, `now`) counted from
    `now`, or an absolute RFC 3339 time with a zone.
    """
    text = _checked(text)
    if text == "now" or text == "now()":
        return now
    if text[0] in "-+" and _DURATION.fullmatch(text[1:]):
        offset = parse_duration(text[1:])
        instant = now - offset if text[0] == "-" else now + offset
    else:
        instant = _parse_absolute(text)
    if not MIN_NS <= instant <= MAX_NS:
        raise TimeFormatError("the time must lie between 1970 and 2200")
    return instant


def _checked(text):
    if not isinstance(text, str) or not text:
        raise TimeFormatError("a value is required")
    if len(text) > MAX_TEXT:
        raise TimeFormatError(f"the value is longer than {MAX_TEXT} characters")
    if not text.isascii() and "µs" not in text:
        raise TimeFormatError("the value must be plain ASCII")
    return text


def _parse_absolute(text):
    match = _ABSOLUTE.fullmatch(text)
    if not match:
        raise TimeFormatError(
            "expected a relative duration such as -1h, -15m or -500ms, or an "
            "RFC 3339 time with a zone such as 2024-05-01T12:00:00.123456789Z"
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= timedelta(hours=24):
            raise TimeFormatError("the zone offset is out of range")
        tz = timezone(sign * offset)
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise TimeFormatError(f"not a valid calendar time: {exc}") from exc
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    whole = moment - epoch
    seconds = whole.days * 86_400 + whole.seconds
    nanos = int((fraction or "").ljust(9, "0") or 0)
    return seconds * 1_000_000_000 + nanos


def format_times(ns):
    """Format int64 nanoseconds as RFC 3339 UTC strings, exact to the ns."""
    stamps = np.datetime_as_string(np.asarray(ns, dtype="datetime64[ns]"), unit="ns")
    return np.char.add(stamps, "Z")


def format_time(ns):
    return str(format_times(np.array([ns]))[0])


def format_duration(ns):
    """The shortest exact spelling of a duration (`1h30m`, `250ms`)."""
    parts = []
    for unit in ("d", "h", "m", "s", "ms", "us", "ns"):
        size = NS_PER_UNIT[unit]
        if ns >= size:
            amount, ns = divmod(ns, size)
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"

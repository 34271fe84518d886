"""Validation of the read endpoints' query parameters.

Everything is checked here, before any store is touched; a bad value raises
`InvalidParameter` naming the parameter and what it accepts.
"""

import re
from dataclasses import dataclass

from django.conf import settings

from measurements.timeparse import (
    TimeFormatError,
    format_duration,
    now_ns,
    parse_duration,
    parse_time,
)
from pmuproject.errors import InvalidParameter, TooManyRows

PMU_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
PMU_ID_RULE = (
    "1 to 64 characters: letters, digits and _ . : -, starting with a letter or digit"
)
PHASORS = ("a", "b", "c")


@dataclass(frozen=True)
class TimeRange:
    start_ns: int
    stop_ns: int
    #: True when `stop` was not given: the range runs up to now (live use).
    open_ended: bool = False


def single_param(query, name):
    """The parameter's one value, or None; a repeated parameter is refused."""
    values = query.getlist(name) if hasattr(query, "getlist") else [query.get(name)]
    if len(values) > 1:
        raise InvalidParameter(name, f"`{name}` is given more than once.")
    return values[0] if values else None


def pmu_id_param(query, name="pmu"):
    value = single_param(query, name)
    if value is None or not value.strip():
        raise InvalidParameter(name, f"`{name}` is required: the PMU id.")
    if not PMU_ID.fullmatch(value):
        raise InvalidParameter(name, f"`{name}` must be a PMU id of {PMU_ID_RULE}.")
    return value


def phasor_param(query, name="phasor"):
    value = (single_param(query, name) or "").lower()
    if value not in PHASORS:
        raise InvalidParameter(
            name, f"`{name}` must be one of a, b, c.", accepted=list(PHASORS)
        )
    return value


def time_range_param(query, *, default_start="-1h"):
    """The half-open range [start, stop); stop defaults to now."""
    now = now_ns()
    start = _time(query, "start", default_start, now)
    stop = _time(query, "stop", "now", now)
    if start >= stop:
        raise InvalidParameter(
            "start", "`start` must be earlier than `stop` (the range is [start, stop))."
        )
    return TimeRange(start, stop, open_ended=not single_param(query, "stop"))


def _time(query, name, default, now):
    value = single_param(query, name)
    if value is None or value == "":
        value = default
    try:
        return parse_time(value, now=now)
    except TimeFormatError as exc:
        raise InvalidParameter(name, f"`{name}`: {exc}.") from exc


def duration_param(query, name, default=None):
    value = single_param(query, name)
    if value is None or value == "":
        if default is None:
            return None
        value = default
    try:
        return parse_duration(value.lstrip("-") if name == "since" else value)
    except TimeFormatError as exc:
        raise InvalidParameter(
            name, f"`{name}` must be a positive duration: {exc}."
        ) from exc


def windows_touched(time_range, window_ns):
    first = time_range.start_ns // window_ns
    last = (time_range.stop_ns - 1) // window_ns
    return last - first + 1


def smallest_window(time_range, limit):
    """The smallest window, to three significant digits, that fits the limit."""
    span = time_range.stop_ns - time_range.start_ns

    def fits(window_ns):
        return windows_touched(time_range, window_ns) <= limit

    low, high = max(1, -(-span // limit)), span
    # Alignment makes the count jitter by one near the bound, so the search
    # may settle a little above the true minimum; the bound itself is tried.
    if fits(low):
        high = low
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    step = 10 ** max(0, len(str(low)) - 3)
    window_ns = -(-low // step) * step
    while not fits(window_ns):
        window_ns += step
    return format_duration(window_ns)


def check_window_count(time_range, window_ns):
    limit = settings.PMU_MAX_ROWS
    if windows_touched(time_range, window_ns) > limit:
        smallest = smallest_window(time_range, limit)
        raise TooManyRows(
            f"This range and window could give more than {limit} rows; "
            f"use a window of at least {smallest} or a shorter range.",
            parameter="window",
            limit=limit,
            smallest_window=smallest,
        )


def check_sample_count(time_range, count):
    limit = settings.PMU_MAX_ROWS
    if count > limit:
        smallest = smallest_window(time_range, limit)
        raise TooManyRows(
            f"The range holds {count} samples, more than the limit of {limit}; "
            "ask for a shorter range, or for /api/power_timeseries with a "
            f"window of at least {smallest}.",
            parameter="start",
            limit=limit,
            rows=count,
            smallest_window=smallest,
        )

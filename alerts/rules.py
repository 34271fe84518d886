"""Threshold rules as plain data: checking a rule and evaluating it on samples.

Nothing here touches the database or the channel layer. The worker hands in
numpy arrays of every sample since its previous tick, and `track_samples`
walks the runs of out-of-limit and back-inside samples, so a sag that starts
and ends between two ticks is still seen, with its worst value.
"""

import math
from dataclasses import dataclass

import numpy as np

from measurements.power import PHASES, phase_power

VOLTAGE = "voltage"
CURRENT = "current"
POWER_FACTOR = "power_factor"
FREQUENCY = "frequency"
QUANTITIES = (VOLTAGE, CURRENT, POWER_FACTOR, FREQUENCY)
# Quantities measured once per PMU rather than per phase.
PER_PMU = (FREQUENCY,)
ANY_PHASE = "any"
ABSOLUTE = "absolute"
PER_UNIT = "pu"
SEVERITIES = ("info", "warning", "critical")

UNIT_SYMBOLS = {VOLTAGE: "V", CURRENT: "A", FREQUENCY: "Hz", POWER_FACTOR: ""}
# Longest minimum duration a rule may ask for; longer ones are mistakes
# (the worker keeps pending states in memory only).
MAX_MIN_DURATION_S = 3600.0


@dataclass(frozen=True)
class Nominals:
    """What a registered PMU is expected to run at (None where unknown)."""

    voltage: float | None = None
    current: float | None = None
    frequency: float | None = None

    def of(self, quantity):
        return {
            VOLTAGE: self.voltage,
            CURRENT: self.current,
            FREQUENCY: self.frequency,
        }.get(quantity)


@dataclass(frozen=True)
class Limits:
    """A rule's limits in the rule's own unit."""

    low: float | None
    high: float | None
    hysteresis: float = 0.0
    min_duration_ns: int = 0
    clear_duration_ns: int = 0

    def crossed(self, side):
        return self.low if side == "low" else self.high


@dataclass
class Track:
    """What the worker remembers about one (rule, PMU, phase)."""

    active: bool = False
    side: str | None = None  # "low" or "high" while active
    worst: float | None = None
    pending_since: int | None = None  # ns, while outside but not yet raised
    clearing_since: int | None = None  # ns, while back inside but not yet cleared


@dataclass(frozen=True)
class Change:
    """A raise or a clear found in the samples."""

    state: str  # "raised" or "cleared"
    time_ns: int
    value: float
    limit: float
    worst: float


def unit_symbol(quantity, unit):
    return "pu" if unit == PER_UNIT else UNIT_SYMBOLS[quantity]


def rule_problems(
    *,
    pmu,
    quantity,
    phase,
    low,
    high,
    unit,
    hysteresis,
    min_duration,
    nominals,
    clear_duration=0.0,
):
    """Mistakes in a rule, as {field: message}; empty when the rule is sound.

    `nominals` is the registry entry of the rule's PMU (None when the rule
    covers every PMU or the PMU is not registered).
    """
    problems = {}
    for name, value in (
        ("low", low),
        ("high", high),
        ("hysteresis", hysteresis),
        ("min_duration", min_duration),
        ("clear_duration", clear_duration),
    ):
        if value is not None and not math.isfinite(value):
            problems[name] = "Must be a finite number."
    if problems:
        return problems

    if low is None and high is None:
        problems["low"] = "Set a low limit, a high limit or both."
    elif low is not None and high is not None and low >= high:
        problems["low"] = f"The low limit ({low}) must be below the high one ({high})."
    if hysteresis is not None and hysteresis < 0:
        problems["hysteresis"] = "The hysteresis cannot be negative."
    elif (
        low is not None
        and high is not None
        and hysteresis is not None
        and low < high
        and low + hysteresis > high - hysteresis
    ):
        problems["hysteresis"] = (
            "The hysteresis is more than half the band between the limits, "
            "so an alert could never clear."
        )
    if clear_duration is not None and clear_duration < 0:
        problems["clear_duration"] = "The clear duration cannot be negative."
    elif clear_duration is not None and clear_duration > MAX_MIN_DURATION_S:
        problems["clear_duration"] = (
            f"The clear duration is at most {MAX_MIN_DURATION_S:g} seconds."
        )
    if min_duration is not None and min_duration < 0:
        problems["min_duration"] = "The minimum duration cannot be negative."
    elif min_duration is not None and min_duration > MAX_MIN_DURATION_S:
        problems["min_duration"] = (
            f"The minimum duration is at most {MAX_MIN_DURATION_S:g} seconds."
        )

    if quantity in PER_PMU and phase != ANY_PHASE:
        problems["phase"] = f"The {quantity} is measured per PMU: use phase `any`."
    if quantity == POWER_FACTOR:
        if unit == PER_UNIT:
            problems["unit"] = "The power factor has no nominal: use `absolute`."
        for name, value in (("low", low), ("high", high)):
            if value is not None and not -1 <= value <= 1 and name not in problems:
                problems[name] = "A power factor limit lies between -1 and 1."
    elif quantity in (VOLTAGE, CURRENT, FREQUENCY):
        for name, value in (("low", low), ("high", high)):
            if value is not None and value < 0 and name not in problems:
                problems[name] = f"A {quantity} limit cannot be negative."
    if unit == PER_UNIT and quantity != POWER_FACTOR and pmu:
        if nominals is None:
            problems["unit"] = (
                f"PMU {pmu} is not in the registry, so it has no nominal "
                f"{quantity}: register it or use `absolute`."
            )
        elif nominals.of(quantity) is None:
            problems["unit"] = (
                f"PMU {pmu} has no nominal {quantity}: set it in the registry "
                "or use `absolute`."
            )
    return problems


def rule_phases(quantity, phase):
    """The phases a rule watches; (None,) for quantities measured per PMU."""
    if quantity in PER_PMU:
        return (None,)
    return PHASES if phase == ANY_PHASE else (phase,)


def quantity_values(samples, quantity, phase):
    """The quantity as a float array over the samples; NaN where unknown.

    The power factor is P/|S| per sample; where |S| is zero the PMU sees no
    load and the power factor says nothing, so those samples are NaN (not
    evaluated) rather than the 0 that the window figures report.
    """
    columns = samples.columns
    if quantity == VOLTAGE:
        return columns[f"v_{phase}_mag"]
    if quantity == CURRENT:
        return columns[f"i_{phase}_mag"]
    if quantity == FREQUENCY:
        return columns["freq"]
    p, _, s = phase_power(
        columns[f"v_{phase}_mag"],
        columns[f"v_{phase}_ang"],
        columns[f"i_{phase}_mag"],
        columns[f"i_{phase}_ang"],
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, p / np.where(s > 0, s, 1.0), np.nan)


def track_samples(track, times, values, limits):
    """Advance `track` over samples in time order; return the changes found.

    A raise needs the value outside the limits without a break for
    `min_duration_ns` (a pending run carries over between calls); a clear
    needs it back inside by the hysteresis for `clear_duration_ns` (likewise).
    NaN samples are skipped. Only the runs between transitions are visited,
    never each sample in Python.
    """
    known = np.isfinite(values)
    times, values = times[known], values[known]
    n = len(values)
    if n == 0:
        return []

    below = np.zeros(n, dtype=bool) if limits.low is None else values < limits.low
    above = np.zeros(n, dtype=bool) if limits.high is None else values > limits.high
    outside = below | above
    back = np.ones(n, dtype=bool)
    if limits.low is not None:
        back &= values >= limits.low + limits.hysteresis
    if limits.high is not None:
        back &= values <= limits.high - limits.hysteresis
    outside_at = np.flatnonzero(outside)
    within_at = np.flatnonzero(~outside)
    back_at = np.flatnonzero(back)
    away_at = np.flatnonzero(~back)

    changes = []
    i = 0
    while i < n:
        if track.active:
            end = _next_index(back_at, i, n)
            if end > i:
                track.worst = _worse(track.side, track.worst, values[i:end])
            if end == n:
                track.clearing_since = None
                break
            # A clear needs the value back inside without a break for
            # `clear_duration_ns`, as a raise needs it outside for
            # `min_duration_ns`.
            at, run_end, track.clearing_since = _held(
                times,
                end,
                _next_index(away_at, end, n),
                track.clearing_since,
                limits.clear_duration_ns,
            )
            if at is None:
                i = run_end
                continue
            changes.append(
                Change(
                    "cleared",
                    int(times[at]),
                    float(values[at]),
                    limits.crossed(track.side),
                    track.worst,
                )
            )
            track.active, track.side, track.worst = False, None, None
            i = at + 1
            continue

        start = _next_index(outside_at, i, n)
        if start == n:
            track.pending_since = None
            break
        at, run_end, track.pending_since = _held(
            times,
            start,
            _next_index(within_at, start, n),
            track.pending_since,
            limits.min_duration_ns,
        )
        if at is None:
            i = run_end
            continue

        track.active = True
        track.side = "low" if below[at] else "high"
        track.worst = float(values[at])
        changes.append(
            Change(
                "raised",
                int(times[at]),
                float(values[at]),
                limits.crossed(track.side),
                track.worst,
            )
        )
        i = at + 1
    return changes


def _held(times, start, run_end, carried_since, duration_ns):
    """Where a run of samples `[start, run_end)` has lasted `duration_ns`.

    The run began at `carried_since` when it continues one left open by the
    previous call (it opens this call, at index 0), else at `times[start]`.
    Returns (index or None, run_end, the start to carry over): a run that
    reaches the end of the call without lasting long enough is carried.
    """
    since = carried_since if start == 0 and carried_since is not None else None
    since = int(times[start]) if since is None else since
    at = start + int(np.searchsorted(times[start:run_end], since + duration_ns))
    if at < run_end:
        return at, run_end, None
    return None, run_end, since if run_end == len(times) else None


def _next_index(indices, start, n):
    """The first of the sorted `indices` at or after `start`, else n."""
    k = np.searchsorted(indices, start)
    return int(indices[k]) if k < len(indices) else n


def _worse(side, worst, values):
    extreme = float(values.min() if side == "low" else values.max())
    if worst is None:
        return extreme
    return min(worst, extreme) if side == "low" else max(worst, extreme)

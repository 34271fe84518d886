"""Helpers for the alert tests: sample builders, a clock, a recording publisher."""

import numpy as np

from alerts.models import AlertRule
from measurements.gateway import Samples
from measurements.models import Pmu

NS = 1_000_000_000
PERIOD = 8_333_333  # 120 frames per second
# A fixed, recent-looking start so tests never depend on the wall clock.
T0 = 1_760_000_000 * NS


class Clock:
    """A worker clock the test moves by hand."""

    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += round(seconds * NS)
        return self.now


class Recorder:
    """Stands in for `broadcast.publish`: keeps what would be sent."""

    def __init__(self):
        self.messages = []

    async def __call__(self, alerts):
        self.messages.extend([alert] for alert in alerts)

    @property
    def alerts(self):
        return [alert for message in self.messages for alert in message]

    def events(self):
        return [(a["event"], a["type"], a["phase"]) for a in self.alerts]


def phasor_samples(pmu_id, start_ns, seconds, *, volts=230.0, amps=100.0, sag=None):
    """Balanced three-phase frames at 120/s; `sag` maps phase to
    (first frame, last frame, depth in pu) for a rectangular sag."""
    n = round(seconds * 120)
    times = start_ns + PERIOD * np.arange(n, dtype=np.int64)
    columns = {"freq": np.full(n, 60.0)}
    for offset, phase in zip((0.0, -120.0, 120.0), "abc", strict=True):
        magnitude = np.full(n, volts)
        if sag and phase in sag:
            first, last, depth = sag[phase]
            magnitude[first : last + 1] = volts * depth
        columns[f"v_{phase}_mag"] = magnitude
        columns[f"v_{phase}_ang"] = np.full(n, offset)
        columns[f"i_{phase}_mag"] = np.full(n, amps)
        columns[f"i_{phase}_ang"] = np.full(n, offset - 20.0)
    return Samples(pmu_id, times, columns)


def make_rule(**fields):
    defaults = {
        "name": "undervoltage",
        "quantity": "voltage",
        "phase": "any",
        "low": 0.9,
        "unit": "pu",
        "hysteresis": 0.02,
        "severity": "critical",
    }
    defaults.update(fields)
    rule = AlertRule(**defaults)
    rule.full_clean()
    rule.save()
    return rule


def register_pmu(pmu_id, **fields):
    defaults = {"nominal_voltage": 230.0, "nominal_current": 100.0}
    defaults.update(fields)
    return Pmu.objects.create(id=pmu_id, **defaults)

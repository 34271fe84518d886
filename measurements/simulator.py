"""A demo PMU simulator that writes through the gateway like a real source.

Balanced three-phase phasors at the nominal frequency with measurement
noise, a slow load change and, now and then, a voltage sag of a few cycles,
so a dashboard pointed at the demo moves and alerts have something to find.
"""

import logging
import threading
import time

import numpy as np

from measurements.gateway import Samples, get_store
from pmuproject.errors import ServiceError

logger = logging.getLogger(__name__)

SIMULATED_PMUS = (
    # id, nominal line-to-neutral volts, nominal amperes, power-factor angle
    ("SIM-1", 230.0, 100.0, 18.0),
    ("SIM-2", 120.0, 60.0, 25.0),
    ("SIM-3", 7200.0, 40.0, -10.0),
)
FREQUENCY_HZ = 60.0
WRITE_EVERY_S = 0.25


class Simulator:
    """Generates frames for a fixed set of PMUs, one call per time slice."""

    def __init__(self, *, rate, seed=None, pmus=SIMULATED_PMUS):
        self.rate = rate
        self.pmus = pmus
        self.rng = np.random.default_rng(seed)
        self.sag_until = {pmu[0]: 0 for pmu in pmus}

    def frames(self, start_ns, stop_ns):
        """Samples of every PMU for the frame instants in [start_ns, stop_ns)."""
        period = round(1e9 / self.rate)
        first = -(-start_ns // period) * period
        times = np.arange(first, stop_ns, period, dtype=np.int64)
        return [self._pmu_frames(pmu, times) for pmu in self.pmus]

    def _pmu_frames(self, pmu, times):
        pmu_id, volts, amps, pf_angle = pmu
        n = len(times)
        seconds = times / 1e9
        # The angle drifts as the grid frequency wanders around nominal.
        frequency = FREQUENCY_HZ + 0.02 * np.sin(2 * np.pi * seconds / 97)
        drift = (frequency - FREQUENCY_HZ) * 360.0 * (seconds % 1000)
        load = 0.75 + 0.2 * np.sin(2 * np.pi * seconds / 300 + len(pmu_id))
        depth = np.ones(n)
        if n and self.rng.random() < 0.003 and times[0] > self.sag_until[pmu_id]:
            cycles = self.rng.integers(3, 30)
            end = times[0] + int(cycles / FREQUENCY_HZ * 1e9)
            self.sag_until[pmu_id] = end + 60 * 1_000_000_000
            depth = np.where(times < end, self.rng.uniform(0.4, 0.85), 1.0)
        columns = {"freq": frequency + self.rng.normal(0, 0.001, n)}
        for offset, phase in zip((0.0, -120.0, 120.0), "abc", strict=True):
            v_angle = drift + offset + self.rng.normal(0, 0.05, n)
            columns[f"v_{phase}_mag"] = (
                volts * depth * (1 + self.rng.normal(0, 0.002, n))
            )
            columns[f"v_{phase}_ang"] = v_angle
            columns[f"i_{phase}_mag"] = amps * load * (1 + self.rng.normal(0, 0.005, n))
            columns[f"i_{phase}_ang"] = v_angle - pf_angle + self.rng.normal(0, 0.1, n)
        return Samples(pmu_id, times, columns)


def run(stop_event, *, rate):
    simulator = Simulator(rate=rate)
    store = get_store()
    last = time.time_ns()
    failing = False
    logger.info(
        "PMU simulator writing %d PMUs at %d frames/s", len(simulator.pmus), rate
    )
    while not stop_event.wait(WRITE_EVERY_S):
        now = time.time_ns()
        try:
            store.write(simulator.frames(last, now))
            if failing:
                logger.info("PMU simulator writes again")
            failing = False
        except ServiceError as exc:
            if not failing:
                logger.warning("PMU simulator cannot write: %s", exc.detail)
            failing = True
        last = now


def start_in_thread():
    from django.conf import settings

    stop_event = threading.Event()
    thread = threading.Thread(
        target=run,
        args=(stop_event,),
        kwargs={"rate": settings.PMU_SIMULATE_RATE},
        name="pmu-simulator",
        daemon=True,
    )
    thread.start()
    return stop_event

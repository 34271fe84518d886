"""The demo simulator: balanced, noisy, moving phasors through the gateway."""

import threading

import numpy as np
import pytest

from measurements import simulator
from measurements.gateway import get_store
from measurements.power import PHASES, phase_power, wrap_degrees

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND


def test_frames_are_at_the_rate_and_balanced():
    sim = simulator.Simulator(rate=30, seed=1)

    batches = sim.frames(T0, T0 + SECOND)

    assert [b.pmu_id for b in batches] == ["SIM-1", "SIM-2", "SIM-3"]
    for batch, (_, volts, _, pf_angle) in zip(
        batches, simulator.SIMULATED_PMUS, strict=True
    ):
        assert len(batch) == 30
        assert np.all(np.diff(batch.time) == round(SECOND / 30))
        spread = wrap_degrees(batch.columns["v_a_ang"] - batch.columns["v_b_ang"])
        np.testing.assert_allclose(spread, 120.0, atol=1.0)
        assert np.median(batch.columns["v_a_mag"]) == pytest.approx(volts, rel=0.01)
        p, q, s = phase_power(
            batch.columns["v_a_mag"],
            batch.columns["v_a_ang"],
            batch.columns["i_a_mag"],
            batch.columns["i_a_ang"],
        )
        assert np.median(p / s) == pytest.approx(np.cos(np.radians(pf_angle)), abs=0.01)
        assert np.sign(np.median(q)) == np.sign(pf_angle)
        assert all(f"v_{ph}_mag" in batch.columns for ph in PHASES)


def test_a_sag_happens_over_a_long_run():
    sim = simulator.Simulator(rate=30, seed=7)
    lowest = np.inf
    for k in range(4000):
        for batch in sim.frames(T0 + k * SECOND // 4, T0 + (k + 1) * SECOND // 4):
            if batch.pmu_id == "SIM-1":
                lowest = min(lowest, batch.columns["v_a_mag"].min())

    assert lowest < 0.9 * 230.0


def test_run_writes_through_the_gateway_until_stopped(monkeypatch):
    monkeypatch.setattr(simulator, "WRITE_EVERY_S", 0.02)
    stop = threading.Event()
    thread = threading.Thread(target=simulator.run, args=(stop,), kwargs={"rate": 100})
    thread.start()
    try:
        for _ in range(500):
            if get_store().list_pmus() == ["SIM-1", "SIM-2", "SIM-3"]:
                break
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert get_store().list_pmus() == ["SIM-1", "SIM-2", "SIM-3"]
    assert not thread.is_alive()

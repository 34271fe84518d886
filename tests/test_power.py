"""The power module: definitions, signs, wrapping and window means."""

import numpy as np
import pytest

from measurements.power import (
    FIELDS,
    WindowAccumulator,
    circular_mean_degrees,
    phase_power,
    window_figures,
    wrap_degrees,
)


def test_wrap_maps_into_the_half_open_interval():
    angles = np.array([-540.0, -180.0, -179.5, 0.0, 180.0, 181.0, 455.0, 720.0])

    np.testing.assert_allclose(
        wrap_degrees(angles), [180.0, 180.0, -179.5, 0.0, 180.0, -179.0, 95.0, 0.0]
    )


def test_lagging_current_gives_positive_q_and_leading_negative():
    p_lag, q_lag, s_lag = phase_power(230.0, 30.0, 10.0, 0.0)
    p_lead, q_lead, _ = phase_power(230.0, 0.0, 10.0, 30.0)

    assert s_lag == pytest.approx(2300.0)
    assert p_lag == pytest.approx(2300.0 * np.cos(np.radians(30)))
    assert q_lag == pytest.approx(1150.0)
    assert q_lead == pytest.approx(-1150.0)
    assert p_lead == pytest.approx(p_lag)


def test_unwrapped_angles_give_the_same_power_as_wrapped_ones():
    wrapped = phase_power(120.0, 95.0, 5.0, -170.0)
    unwrapped = phase_power(120.0, 455.0, 5.0, 190.0)

    np.testing.assert_allclose(wrapped, unwrapped, atol=1e-9)


def test_circular_mean_across_the_180_degree_seam():
    angles = np.radians([179.0, -179.0, 181.0, 539.0])

    mean = circular_mean_degrees(np.sin(angles).mean(), np.cos(angles).mean())

    assert mean == pytest.approx(180.0)


def columns_for(n, *, v=230.0, i=10.0, v_ang=0.0, i_ang=-30.0):
    columns = {}
    for index, phase in enumerate("abc"):
        shift = -120.0 * index
        columns[f"v_{phase}_mag"] = np.full(n, v)
        columns[f"v_{phase}_ang"] = np.full(n, v_ang + shift)
        columns[f"i_{phase}_mag"] = np.full(n, i)
        columns[f"i_{phase}_ang"] = np.full(n, i_ang + shift)
    assert set(columns) == set(FIELDS)
    return columns


def test_windows_are_epoch_aligned_and_labelled_with_their_end():
    second = 1_000_000_000
    times = np.array([10 * second + 1, 10 * second + 500_000_000, 11 * second + 2])
    accumulator = WindowAccumulator(
        start_ns=10 * second, stop_ns=11 * second + 700_000_000, window_ns=second
    )

    accumulator.add(times, columns_for(3))
    ends, counts, _ = accumulator.result()

    assert ends.tolist() == [11 * second, 11 * second + 700_000_000]
    assert counts.tolist() == [2, 1]


def test_totals_add_phases_and_pf_is_total_p_over_total_s():
    columns = columns_for(4)
    columns["i_b_mag"] = np.full(4, 0.0)
    accumulator = WindowAccumulator(start_ns=0, stop_ns=10, window_ns=10)
    accumulator.add(np.arange(4), columns)

    figures = window_figures(accumulator.result()[2])

    p_phase = 2300.0 * np.cos(np.radians(30))
    assert figures["P"][0] == pytest.approx(2 * p_phase)
    assert figures["S"][0] == pytest.approx(4600.0)
    assert figures["PF"][0] == pytest.approx(np.cos(np.radians(30)))
    assert figures["PF_B"][0] == 0.0


def test_window_means_are_means_of_sample_power_not_power_of_means():
    # Two samples with opposite current angles: the mean phasor would have
    # Q = 0 and a large P; the energy-consistent means keep both samples' P.
    columns = columns_for(2)
    columns["i_a_ang"] = np.array([-60.0, 60.0])
    accumulator = WindowAccumulator(start_ns=0, stop_ns=10, window_ns=10)
    accumulator.add(np.arange(2), columns)

    figures = window_figures(accumulator.result()[2])

    assert figures["P_A"][0] == pytest.approx(2300.0 * 0.5)
    assert figures["Q_A"][0] == pytest.approx(0.0, abs=1e-9)
    assert figures["S_A"][0] == pytest.approx(2300.0)

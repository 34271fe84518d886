"""What the read endpoints return, computed from the gateway's answers.

Each function takes validated parameters and returns plain data (lists of
dicts, or a dict) in the dashboard's JSON shapes.
"""

import itertools

import numpy as np

from measurements.gateway import get_store
from measurements.params import check_sample_count, check_window_count
from measurements.power import ANGLES, PHASES, window_figures, wrap_degrees
from measurements.timeparse import format_times
from pmuproject.errors import NoData

SECOND_NS = 1_000_000_000

TIMESERIES_KEYS = (
    *(
        f"{figure}_{phase.upper()}"
        for phase in PHASES
        for figure in ("V", "I", "P", "Q", "S", "PF")
    ),
    "P",
    "Q",
    "S",
    "PF",
)

# /api/data keys and the store columns behind them.
DATA_COLUMNS = tuple(
    (f"{kind}_{phase}", f"{kind}_{phase}_mag") for kind in "vi" for phase in PHASES
) + tuple((angle, angle) for angle in ANGLES)


def pmus_list(*, since_ns=None):
    return {"pmus": get_store().list_pmus(since_ns=since_ns)}


def power_timeseries(pmu_id, time_range, window_ns, *, batch_rows=20_000):
    """Yield lists of window rows, a batch at a time, after a size check."""
    check_window_count(time_range, window_ns)
    windows = get_store().read_windows(
        pmu_id,
        start_ns=time_range.start_ns,
        stop_ns=time_range.stop_ns,
        window_ns=window_ns,
    )
    figures = window_figures(windows.means)
    columns = [figures[key] for key in TIMESERIES_KEYS]
    return _row_batches(("time", *TIMESERIES_KEYS), windows.time, columns, batch_rows)


def _row_batches(keys, times, columns, batch_rows):
    """Rows as dicts, `batch_rows` at a time: a time column, then `columns`."""
    for start in range(0, len(times), batch_rows):
        part = slice(start, start + batch_rows)
        values = [format_times(times[part]).tolist()]
        values += [column[part].tolist() for column in columns]
        yield [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def power_of_phase(pmu_id, phasor, time_range):
    """Figures for the most recent epoch-aligned second with data in range.

    When the range is open-ended (no `stop`: live use) the second still in
    progress is skipped for the last complete one, so a live value does not
    jump as the current second fills up; it is used only when it is the
    only one with data.
    """
    store = get_store()
    start_ns, stop_ns = time_range.start_ns, time_range.stop_ns
    latest = store.last_time(pmu_id, start_ns=start_ns, stop_ns=stop_ns)
    if latest is None:
        raise NoData(f"PMU {pmu_id} has no data in the requested range.", pmu=pmu_id)
    second_start = latest // SECOND_NS * SECOND_NS
    if time_range.open_ended and second_start + SECOND_NS > stop_ns:
        earlier = store.last_time(pmu_id, start_ns=start_ns, stop_ns=second_start)
        if earlier is not None:
            second_start = earlier // SECOND_NS * SECOND_NS
    windows = store.read_windows(
        pmu_id,
        start_ns=max(second_start, start_ns),
        stop_ns=min(second_start + SECOND_NS, stop_ns),
        window_ns=SECOND_NS,
    )
    if not len(windows):
        raise NoData(f"PMU {pmu_id} has no data in the requested range.", pmu=pmu_id)
    figures = {
        name: values[0] for name, values in window_figures(windows.means).items()
    }
    upper = phasor.upper()
    # The angle by which the current lags the voltage, from the window's mean
    # P and Q: it always agrees with the sign of Q and with PF, and equals the
    # difference of the mean angles when the phasors do not rotate within
    # the second. At off-nominal frequency the phasors rotate and their mean
    # angles (still reported) lose meaning; this angle does not.
    phi = np.degrees(np.arctan2(figures[f"Q_{upper}"], figures[f"P_{upper}"]))
    return {
        "pmu_id": pmu_id,
        "phasor": phasor,
        "time": format_times(windows.time)[0].item(),
        "samples": int(windows.count[0]),
        **{angle: float(figures[angle]) for angle in ANGLES},
        "V": float(figures[f"V_{upper}"]),
        "I": float(figures[f"I_{upper}"]),
        "S": float(figures[f"S_{upper}"]),
        "P": float(figures[f"P_{upper}"]),
        "Q": float(figures[f"Q_{upper}"]),
        "PF": float(figures[f"PF_{upper}"]),
        "phi_deg": float(wrap_degrees(phi)),
    }


def samples_rows(pmu_id, time_range, *, batch_rows=20_000):
    """Yield lists of /api/data rows, a batch at a time, after a size check."""
    store = get_store()
    count = store.count_samples(
        pmu_id, start_ns=time_range.start_ns, stop_ns=time_range.stop_ns
    )
    check_sample_count(time_range, count)
    batches = _rows_in_batches(store, pmu_id, time_range, batch_rows)
    # The first batch is read before the response starts, so a store that
    # fails now still gets a 503 rather than a 200 with an empty body.
    first = next(batches, None)
    return batches if first is None else itertools.chain([first], batches)


def _rows_in_batches(store, pmu_id, time_range, batch_rows):
    keys = ("time", *(key for key, _ in DATA_COLUMNS), "pmu_id")
    for batch in store.iter_samples(
        pmu_id, start_ns=time_range.start_ns, stop_ns=time_range.stop_ns
    ):
        columns = [
            wrap_degrees(batch.columns[column])
            if key.endswith("_ang")
            else batch.columns[column]
            for key, column in DATA_COLUMNS
        ]
        columns.append(
            np.broadcast_to(np.array(pmu_id, dtype=object), batch.time.shape)
        )
        yield from _row_batches(keys, batch.time, columns, batch_rows)

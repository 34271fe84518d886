"""Reading recorded PMU files (CSV) into `Samples`, column by name.

Two layouts are told apart by their header:

- the project's own: a `time` column (integer nanoseconds since the epoch or
  RFC 3339), an optional `pmu_id` column, and the schema's field names
  (`v_a_mag`, `v_a_ang`, ... or the `/api/data` names `v_a`, `i_a`, ...),
  with optional `freq` and `rocof`;
- the micro-PMU layout of the LBNL event library: an unnamed first column of
  integer nanoseconds and `L1-Mag [Vrms]`, `C1-Ang [Deg]`, ... columns; the
  PMU id is the file name's prefix (`B90_raw_data.csv` is PMU `B90`).

Other columns are ignored. A file is parsed whole before anything is
written, so a malformed file is rejected with its name and line number.
"""

import contextlib
import csv
import queue
import re
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv as pa_csv

from measurements.gateway import COLUMNS, Samples
from measurements.params import PMU_ID, PMU_ID_RULE
from measurements.power import FIELDS, MAGNITUDES
from measurements.timeparse import MAX_NS, MIN_NS, TimeFormatError, parse_time


class CsvFormatError(ValueError):
    """A file that cannot be imported; says which file, line and why."""

    def __init__(self, path, message, *, line=None):
        self.path, self.line = str(path), line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")


# Arrow parses the file in blocks of this many bytes.
BLOCK_BYTES = 8 << 20

_MICRO_PMU = re.compile(r"([LC])([123])-(Mag|Ang)\b")
_PHASE = {"1": "a", "2": "b", "3": "c"}
_ALIASES = {f"{k}_{p}": f"{k}_{p}_mag" for k in "vi" for p in "abc"}


def expand_paths(paths):
    """CSV files named directly, and every *.csv below named folders, sorted."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() == ".csv" and p.is_file()
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise CsvFormatError(path, "no such file or folder")
    return found


def read_pmu_csv(path, *, pmu_id=None):
    """Parse one file into one `Samples` per PMU, each ascending in time."""
    parts = {}
    for batches in iter_pmu_csv(path, pmu_id=pmu_id):
        for batch in batches:
            parts.setdefault(batch.pmu_id, []).append(batch)
    return [
        Samples.concat(name, batches).normalised()
        for name, batches in sorted(parts.items())
    ]


def iter_pmu_csv(path, *, pmu_id=None, block_bytes=None):
    """Parse one file a block at a time: yields a list of `Samples` per block.

    Memory holds one block however large the file. An error in a later block
    is raised when that block is reached, so a caller writing blocks as they
    come must do so in one transaction (as `Store.write_stream` does).
    """
    path = Path(path)
    header = _header(path)
    layout = _layout(path, header)
    if layout["pmu_column"] is None:
        pmu_id = pmu_id or _pmu_from_name(path)
    rows_before = 0
    for table in _blocks(path, header, layout, block_bytes or BLOCK_BYTES):
        times = _times(path, table.pop("time"), rows_before)
        pmus = table.pop("pmu_id", None)
        if pmus is not None:
            _check_pmu_ids(path, pmus, rows_before)
        rows_before += len(times)
        if pmus is None or pmu_id:
            yield [Samples(pmu_id, times, table)]
        else:
            yield [
                Samples(
                    name,
                    times[pmus == name],
                    {k: v[pmus == name] for k, v in table.items()},
                )
                for name in sorted(set(pmus.tolist()))
            ]
    if rows_before == 0:
        raise CsvFormatError(path, "the file has a header but no rows", line=2)


def prefetched(iterable, depth=2):
    """Iterate in a background thread, up to `depth` items ahead.

    Arrow parses with the GIL released, so the next block is parsed while
    the caller writes the previous one. Exceptions reach the caller in order.
    """
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in iterable:
                if stop.is_set():
                    return
                items.put((item, None))
            items.put((done, None))
        except BaseException as exc:  # handed over to the consuming thread
            items.put((done, exc))

    thread = threading.Thread(target=produce, name="csv-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                items.get_nowait()
        thread.join(timeout=10)


def _header(path):
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvFormatError(path, f"cannot be read: {exc}") from exc
    if not header:
        raise CsvFormatError(path, "the file is empty", line=1)
    return header


def _layout(path, header):
    names = [name.strip() for name in header]
    columns = {}
    if "time" in names:
        for index, name in enumerate(names):
            target = _ALIASES.get(name, name)
            if target in COLUMNS:
                _claim(path, columns, target, index, header)
        time_column = names.index("time")
        pmu_column = names.index("pmu_id") if "pmu_id" in names else None
    else:
        for index, name in enumerate(names):
            match = _MICRO_PMU.match(name)
            if match:
                kind = "v" if match[1] == "L" else "i"
                part = match[3].lower()
                _claim(
                    path, columns, f"{kind}_{_PHASE[match[2]]}_{part}", index, header
                )
        time_column, pmu_column = 0, None
        if names[0] != "":
            columns = {}
    missing = [name for name in FIELDS if name not in columns]
    if missing:
        raise CsvFormatError(
            path,
            "the header does not match a known layout: expected either `time` "
            "and the fields v_a_mag, v_a_ang, ... i_c_ang, or the micro-PMU "
            f"columns L1-Mag [Vrms] ... C3-Ang [Deg]; missing {', '.join(missing)}",
            line=1,
        )
    return {"columns": columns, "time": time_column, "pmu_column": pmu_column}


def _claim(path, columns, target, index, header):
    if target in columns:
        raise CsvFormatError(
            path,
            f"columns {header[columns[target]]!r} and {header[index]!r} both "
            f"give {target}; keep one",
            line=1,
        )
    columns[target] = index


def _pmu_from_name(path):
    candidate = path.stem.removesuffix("_raw_data")
    if not PMU_ID.fullmatch(candidate):
        raise CsvFormatError(
            path,
            f"the PMU id cannot be taken from the file name ({candidate!r} is "
            f"not {PMU_ID_RULE}); name it with --pmu",
        )
    return candidate


def _blocks(path, header, layout, block_bytes):
    """Columns of each block, parsed by Arrow's CSV reader.

    On a parse or conversion error, or a value that is not a finite number,
    the file is read again row by row to name the line (`_diagnose`).
    """
    names = [f"c{index}" for index in range(len(header))]
    fields = layout["columns"]
    types = {names[index]: pa.float64() for index in fields.values()}
    types[names[layout["time"]]] = pa.string()
    wanted = [*types]
    if layout["pmu_column"] is not None:
        types[names[layout["pmu_column"]]] = pa.string()
        wanted.append(names[layout["pmu_column"]])
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(
                column_names=names, skip_rows=1, block_size=block_bytes
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, include_columns=wanted, strings_can_be_null=False
            ),
        )
        for batch in reader:
            table = {
                name: batch.column(names[index]).to_numpy(zero_copy_only=False)
                for name, index in fields.items()
            }
            if batch.num_rows and (
                any(column.null_count for column in batch.columns)
                or not all(np.all(np.isfinite(v)) for v in table.values())
                or any(np.any(table[name] < 0) for name in MAGNITUDES)
            ):
                _diagnose(path, header, layout)
                raise CsvFormatError(path, "the file holds an empty or invalid value")
            table["time"] = batch.column(names[layout["time"]])
            if layout["pmu_column"] is not None:
                table["pmu_id"] = batch.column(names[layout["pmu_column"]]).to_numpy(
                    zero_copy_only=False
                )
            yield table
    except (pa.ArrowInvalid, ValueError) as exc:
        if isinstance(exc, CsvFormatError):
            raise
        _diagnose(path, header, layout)
        raise CsvFormatError(path, f"the file cannot be parsed: {exc}") from None


def _check_pmu_ids(path, pmus, rows_before):
    for index, name in enumerate(pmus.tolist()):
        if not PMU_ID.fullmatch(name):
            raise CsvFormatError(
                path, f"pmu_id must be {PMU_ID_RULE}", line=rows_before + index + 2
            )


def _times(path, column, rows_before):
    """Integer nanoseconds from a column of digits or of RFC 3339 text.

    Arrow converts a column of one form in C; a column that mixes both
    forms is converted row by row.
    """
    for target in (pa.int64(), pa.timestamp("ns", tz="UTC")):
        try:
            times = column.cast(target).to_numpy(zero_copy_only=False)
            break
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    else:
        times = np.array(
            [
                _time_of_text(path, text, rows_before + index + 2)
                for index, text in enumerate(column.to_pylist())
            ],
            dtype=np.int64,
        )
    times = times.astype(np.int64, copy=False)
    out = np.flatnonzero((times < MIN_NS) | (times > MAX_NS))
    if len(out):
        raise CsvFormatError(
            path, "the time is outside 1970-2200", line=rows_before + int(out[0]) + 2
        )
    return times


def _diagnose(path, header, layout):
    """Find the first bad row the slow way and raise an error naming it."""
    wanted = {**layout["columns"], "time": layout["time"]}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                raise CsvFormatError(
                    path,
                    f"expected {len(header)} fields, found {len(row)}",
                    line=line,
                )
            for name, index in wanted.items():
                if name == "time":
                    _time_of_text(path, row[index], line)
                    continue
                try:
                    value = float(row[index])
                except ValueError:
                    value = None
                if value is None or not np.isfinite(value):
                    raise CsvFormatError(
                        path,
                        f"column {header[index]!r} holds {row[index]!r}, not a "
                        "finite number",
                        line=line,
                    )
                if name in MAGNITUDES and value < 0:
                    raise CsvFormatError(
                        path,
                        f"column {header[index]!r} holds {row[index]!r}: an RMS "
                        "magnitude cannot be negative",
                        line=line,
                    )


def _time_of_text(path, text, line):
    try:
        value = int(text) if text.isdigit() else parse_time(text, now=0)
    except TimeFormatError as exc:
        raise CsvFormatError(path, f"time {text!r}: {exc}", line=line) from None
    if not MIN_NS <= value <= MAX_NS:
        raise CsvFormatError(path, "the time is outside 1970-2200", line=line)
    return value

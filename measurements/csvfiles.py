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

import csv
import re
import warnings
from pathlib import Path

import numpy as np

from measurements.gateway import COLUMNS, Samples
from measurements.params import PMU_ID, PMU_ID_RULE
from measurements.power import FIELDS
from measurements.timeparse import MAX_NS, MIN_NS, TimeFormatError, parse_time


class CsvFormatError(ValueError):
    """A file that cannot be imported; says which file, line and why."""

    def __init__(self, path, message, *, line=None):
        self.path, self.line = str(path), line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")


_MICRO_PMU = re.compile(r"([LC])([123])-(Mag|Ang)\b")
_PHASE = {"1": "a", "2": "b", "3": "c"}
_ALIASES = {f"{k}_{p}": f"{k}_{p}_mag" for k in "vi" for p in "abc"}


def expand_paths(paths):
    """CSV files named directly, and every *.csv below named folders, sorted."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.csv") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CsvFormatError(path, "no such file or folder")
    return found


def read_pmu_csv(path, *, pmu_id=None):
    """Parse one file into one `Samples` per PMU, each ascending in time."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvFormatError(path, f"cannot be read: {exc}") from exc
    if not header:
        raise CsvFormatError(path, "the file is empty", line=1)

    layout = _layout(path, header)
    if layout["pmu_column"] is None:
        pmu_id = pmu_id or _pmu_from_name(path)
    table = _parse(path, header, layout)
    times = table.pop("time")
    pmus = table.pop("pmu_id", None)
    if pmus is None or pmu_id:
        return [Samples(pmu_id, times, table).normalised()]
    return [
        Samples(
            name, times[pmus == name], {k: v[pmus == name] for k, v in table.items()}
        ).normalised()
        for name in sorted(set(pmus.tolist()))
    ]


def _layout(path, header):
    names = [name.strip() for name in header]
    columns = {}
    if "time" in names:
        for index, name in enumerate(names):
            target = _ALIASES.get(name, name)
            if target in COLUMNS:
                columns[target] = index
        time_column = names.index("time")
        pmu_column = names.index("pmu_id") if "pmu_id" in names else None
    else:
        for index, name in enumerate(names):
            match = _MICRO_PMU.match(name)
            if match:
                kind = "v" if match[1] == "L" else "i"
                part = match[3].lower()
                columns[f"{kind}_{_PHASE[match[2]]}_{part}"] = index
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


def _pmu_from_name(path):
    candidate = path.stem.removesuffix("_raw_data")
    if not PMU_ID.fullmatch(candidate):
        raise CsvFormatError(
            path,
            f"the PMU id cannot be taken from the file name ({candidate!r} is "
            f"not {PMU_ID_RULE}); name it with --pmu",
        )
    return candidate


def _parse(path, header, layout):
    """Fast path with numpy's C parser; on any doubt, a row-by-row diagnosis."""
    columns = layout["columns"]
    try:
        values = _load(path, list(columns.values()), np.float64, ndmin=2)
        raw_times = _load(path, [layout["time"]], str)
        pmus = None
        if layout["pmu_column"] is not None:
            pmus = _load(path, [layout["pmu_column"]], str)
    except ValueError:
        _diagnose(path, header, layout)
        raise CsvFormatError(path, "the file cannot be parsed") from None
    if len(raw_times) == 0:
        raise CsvFormatError(path, "the file has a header but no rows", line=2)
    if not np.all(np.isfinite(values)):
        _diagnose(path, header, layout)
    times = _times(path, raw_times)
    if pmus is not None:
        bad = [i for i, name in enumerate(pmus.tolist()) if not PMU_ID.fullmatch(name)]
        if bad:
            raise CsvFormatError(path, f"pmu_id must be {PMU_ID_RULE}", line=bad[0] + 2)
    table = {"time": times}
    table.update({name: values[:, i] for i, name in enumerate(columns)})
    if pmus is not None:
        table["pmu_id"] = pmus
    return table


def _load(path, usecols, dtype, ndmin=1):
    with warnings.catch_warnings():
        # A file without rows is reported as our own error, not a warning.
        warnings.simplefilter("ignore", UserWarning)
        return np.loadtxt(
            path,
            delimiter=",",
            skiprows=1,
            usecols=usecols,
            dtype=dtype,
            ndmin=ndmin,
            encoding="utf-8",
            quotechar='"',
        )


def _times(path, raw):
    if np.all(np.char.isdigit(raw)):
        lengths = np.char.str_len(raw)
        if lengths.max() <= 19:
            times = raw.astype(np.int64)
            out = np.nonzero((times < MIN_NS) | (times > MAX_NS))[0]
            if len(out) == 0:
                return times
            line = int(out[0]) + 2
        else:
            line = int(np.argmax(lengths > 19)) + 2
        raise CsvFormatError(
            path, "the time is outside 1970-2200 in nanoseconds", line=line
        )
    times = np.empty(len(raw), dtype=np.int64)
    for index, text in enumerate(raw.tolist()):
        try:
            times[index] = int(text) if text.isdigit() else parse_time(text, now=0)
        except TimeFormatError as exc:
            raise CsvFormatError(
                path, f"time {text!r}: {exc}", line=index + 2
            ) from None
    return times


def _diagnose(path, header, layout):
    """Find the first bad row the slow way and raise an error naming it."""
    wanted = {**layout["columns"], "time": layout["time"]}
    with Path(path).open(newline="", encoding="utf-8") as handle:
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

"""Annotated CSV, the InfluxDB query answer, parsed straight into numpy columns.

The client library's own parser builds a Python object per record and a
`datetime` per time (losing nanoseconds). Here the rows of each block go
to Arrow's CSV reader in one call, typed from the `#datatype` row, so
floats and times are parsed in C++ and land in numpy arrays, exact to the
nanosecond.

Format: each block opens with `#datatype`, `#group` and `#default` rows,
then a header row, then data rows of one or more tables told apart by the
`table` column. A new block (normally after a blank line) starts when the
schema changes. An empty cell takes the column's `#default`. An error met
after the answer started streaming arrives as a block whose columns are
`error` and `reference`.
"""

import base64
import csv
import io
import itertools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "long": pa.int64(),
    "unsignedLong": pa.uint64(),
    "boolean": pa.bool_(),
    "duration": pa.int64(),
    "base64Binary": pa.string(),
    "dateTime:RFC3339": pa.timestamp("ns", tz="UTC"),
    "dateTime:RFC3339Nano": pa.timestamp("ns", tz="UTC"),
}


class AnnotatedCsvError(ValueError):
    """The answer is not annotated CSV this parser understands."""


class FluxQueryError(Exception):
    """The server reported an error inside the answer (an error table)."""

    def __init__(self, message, reference=""):
        super().__init__(message)
        self.message = message
        self.reference = reference


@dataclass
class Block:
    """Rows of one schema, as typed numpy columns keyed by column name.

    Times are int64 nanoseconds, strings object arrays of str. `nulls`
    holds a mask for each column that had empty cells and no default;
    doubles are NaN there, integers and times 0.
    """

    names: list
    datatypes: dict
    group: dict
    defaults: dict
    columns: dict = field(default_factory=dict)
    nulls: dict = field(default_factory=dict)
    size: int = 0

    def __len__(self):
        return self.size

    def take(self, rows):
        """The rows picked by a slice, a boolean mask or an index array."""
        return Block(
            self.names,
            self.datatypes,
            self.group,
            self.defaults,
            {name: values[rows] for name, values in self.columns.items()},
            {name: mask[rows] for name, mask in self.nulls.items()},
            int(np.arange(self.size)[rows].size),
        )

    def tables(self):
        """The block split into its tables (by the `table` column)."""
        if not self.size:
            return []
        if "table" not in self.columns:
            return [self]
        ids = self.columns["table"]
        edges = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        bounds = [0, *edges.tolist(), self.size]
        return [self.take(slice(a, b)) for a, b in itertools.pairwise(bounds)]


def parse(data, columns=None):
    """Every block of an annotated CSV answer, in order.

    `columns` names the columns to convert (all when None); `table` is
    always converted so that blocks split into tables. Raises
    `FluxQueryError` for an error table and `AnnotatedCsvError` for text
    that is not annotated CSV.
    """
    if isinstance(data, str):
        data = data.encode()
    wanted = None if columns is None else {*columns, "table"}
    eol = b"\r\n" if b"\r\n" in data[:65536] else b"\n"
    view = memoryview(data)
    blocks = []
    position = 0
    while position < len(data):
        if data.startswith(eol, position):
            position += len(eol)
            continue
        annotations = {}
        while data.startswith(b"#", position):
            line, position = _line(data, position, eol)
            cells = _cells(line)
            annotations[cells[0]] = cells
        if position >= len(data) or data.startswith(eol, position):
            continue
        line, position = _line(data, position, eol)
        names = _cells(line)
        # The rows run to the next blank line, or to annotation rows that
        # follow data rows directly (allowed, though InfluxDB adds the blank
        # line); data rows never start with "#", their first cell is empty.
        end = _first(data, (eol + eol, eol + b"#"), position)
        rows = view[position:end]
        position = end + len(eol)
        if len(names) >= 3 and names[1] == "error" and names[2] == "reference":
            _raise_error(bytes(rows))
        blocks.append(_block(names, annotations, rows, wanted))
    return blocks


def _line(data, position, eol):
    end = data.find(eol, position)
    end = len(data) if end < 0 else end
    return data[position:end], end + len(eol)


def _first(data, needles, position):
    found = [data.find(needle, position) for needle in needles]
    found = [index for index in found if index >= 0]
    return min(found, default=len(data))


def _cells(line):
    return next(csv.reader(io.StringIO(line.decode("utf-8"))), [""])


def _raise_error(rows):
    parsed = list(csv.reader(io.StringIO(rows.decode("utf-8", "replace"))))
    first = parsed[0] if parsed else []
    message = first[1] if len(first) > 1 and first[1] else "unknown error"
    reference = first[2] if len(first) > 2 else ""
    raise FluxQueryError(message, reference)


def _block(names, annotations, rows, wanted):
    width = len(names)
    datatypes = annotations.get("#datatype", ["#datatype"] + ["string"] * (width - 1))
    group = annotations.get("#group", ["#group"] + ["false"] * (width - 1))
    defaults = annotations.get("#default", ["#default"] + [""] * (width - 1))
    if any(len(row) != width for row in (datatypes, group, defaults)):
        raise AnnotatedCsvError("an annotation row does not match the header")
    unknown = set(datatypes[1:]) - set(ARROW_TYPES)
    if unknown:
        raise AnnotatedCsvError(f"unknown datatype {sorted(unknown)[0]!r}")
    block = Block(
        names=names[1:],
        datatypes=dict(zip(names[1:], datatypes[1:], strict=True)),
        group={n: g == "true" for n, g in zip(names[1:], group[1:], strict=True)},
        defaults=dict(zip(names[1:], defaults[1:], strict=True)),
    )
    if not len(rows):
        return block
    chosen = [n for n in block.names if wanted is None or n in wanted]
    # The first CSV column is the empty annotation column; its name must
    # differ from every real one for Arrow.
    arrow_names = ["\x00annotation", *block.names]
    types = {name: ARROW_TYPES[block.datatypes[name]] for name in block.names}
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(rows)),
            read_options=pa_csv.ReadOptions(column_names=arrow_names),
            parse_options=pa_csv.ParseOptions(delimiter=","),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                include_columns=chosen or arrow_names[:1],
                null_values=[""],
                strings_can_be_null=False,
                true_values=["true"],
                false_values=["false"],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise AnnotatedCsvError(f"unreadable rows: {exc}") from exc
    block.size = table.num_rows
    for name in chosen:
        _store(block, name, table.column(name))
    return block


def _store(block, name, column):
    """Put one Arrow column into `block` as numpy, applying its default."""
    kind = block.datatypes[name]
    default = block.defaults.get(name, "")
    if kind in ("string", "base64Binary"):
        values = column.to_numpy(zero_copy_only=False).astype(object)
        empty = values == ""
        if default and empty.any():
            values[empty] = default
        elif empty.any():
            block.nulls[name] = empty
        if kind == "base64Binary":
            values = np.array([base64.b64decode(v) for v in values], dtype=object)
        block.columns[name] = values
        return
    if column.null_count:
        if default:
            filler = _default_value(kind, default, column.type)
            column = pc.fill_null(column, filler)
        else:
            block.nulls[name] = column.is_null().to_numpy(zero_copy_only=False)
            if kind != "double":
                column = pc.fill_null(column, pa.scalar(0).cast(column.type))
    if kind.startswith("dateTime"):
        values = column.cast(pa.int64()).to_numpy()
    else:
        values = column.to_numpy()
    block.columns[name] = np.ascontiguousarray(values)


def _default_value(kind, default, arrow_type):
    """The `#default` text of a column as an Arrow scalar of its type."""
    try:
        text = pa.array([default]).cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise AnnotatedCsvError(f"bad #default {default!r} for {kind}") from exc
    return text[0]

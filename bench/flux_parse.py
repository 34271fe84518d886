"""Benchmark: parsing a pivoted InfluxDB answer, ours against the client's.

    python bench/flux_parse.py [--rows 50000] [--repeat 5]

Both parsers read the same bytes: the annotated CSV InfluxDB sends for the
store's page-of-samples query, `rows` rows of `_time` and the 12 phasor
fields. The baseline is influxdb-client's own parser (one FluxRecord per
row), turned into the same numpy columns; ours is
`measurements.stores.annotated_csv.parse`. `measure()` returns the median
time of each over `repeat` runs and their ratio.
"""

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from influxdb_client.client.flux_csv_parser import (
    FluxCsvParser,
    FluxSerializationMode,
)

from measurements.power import FIELDS
from measurements.stores import annotated_csv

START_NS = 1_714_521_600_000_000_000
# 120 frames per second, plus a few nanoseconds so fractions have all digits.
PERIOD_NS = 8_333_333


def answer_bytes(rows=50_000, *, seed=0):
    """The annotated CSV of a pivoted answer with `rows` rows, CRLF ended."""
    rng = np.random.default_rng(seed)
    times = START_NS + np.arange(rows, dtype=np.int64) * PERIOD_NS + 7
    seconds = np.datetime_as_string(
        (times // 1_000_000_000).astype("datetime64[s]"), unit="s"
    )
    fractions = (times % 1_000_000_000).tolist()
    stamps = [
        f"{second}.{fraction:09d}".rstrip("0").rstrip(".") + "Z"
        for second, fraction in zip(seconds.tolist(), fractions, strict=True)
    ]
    values = np.column_stack(
        [
            rng.normal(230.0, 2.0, rows)
            if name.endswith("_mag")
            else rng.uniform(-180.0, 180.0, rows)
            for name in FIELDS
        ]
    )
    header = [
        "#datatype,string,long,dateTime:RFC3339," + ",".join(["double"] * len(FIELDS)),
        "#group,false,false,false," + ",".join(["false"] * len(FIELDS)),
        "#default,_result,,," + "," * (len(FIELDS) - 1),
        ",result,table,_time," + ",".join(FIELDS),
    ]
    lines = [
        f",,0,{stamp}," + ",".join(map(repr, row))
        for stamp, row in zip(stamps, values.tolist(), strict=True)
    ]
    return ("\r\n".join(header + lines) + "\r\n\r\n").encode()


def parse_with_client(data):
    """The client's path: FluxRecord objects, then numpy columns."""
    parser = FluxCsvParser(
        response=io.BytesIO(data), serialization_mode=FluxSerializationMode.tables
    )
    for _ in parser.generator():
        pass
    records = [record for table in parser.table_list() for record in table.records]
    columns = {"_time": np.array([record.get_time().timestamp() for record in records])}
    for name in FIELDS:
        columns[name] = np.array([record[name] for record in records])
    return columns


def parse_with_store(data):
    """Our path: annotated CSV straight into numpy columns."""
    (block,) = annotated_csv.parse(data, ("_time", *FIELDS))
    return block.columns


def _median(function, data, repeat):
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(data)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def measure(rows=50_000, repeat=5):
    """Median seconds over `repeat` runs of both parsers on the same bytes."""
    data = answer_bytes(rows)
    ours = parse_with_store(data)
    theirs = parse_with_client(data)
    for name in FIELDS:
        if not np.array_equal(ours[name], theirs[name]):
            raise AssertionError(f"the parsers disagree on {name}")
    client_s = _median(parse_with_client, data, repeat)
    store_s = _median(parse_with_store, data, repeat)
    return {
        "rows": rows,
        "fields": len(FIELDS),
        "bytes": len(data),
        "client_s": client_s,
        "store_s": store_s,
        "speedup": client_s / store_s,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.rows, args.repeat)
    print(f"rows x fields        {result['rows']} x {result['fields']}")
    print(f"answer size          {result['bytes'] / 1e6:.1f} MB")
    print(f"influxdb-client      {result['client_s'] * 1000:.1f} ms")
    print(f"annotated_csv.parse  {result['store_s'] * 1000:.1f} ms")
    print(f"speed-up             {result['speedup']:.1f}x")


if __name__ == "__main__":
    main()

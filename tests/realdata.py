"""An independent reader of the recorded micro-PMU files, for expectations.

Deliberately shares no code with `measurements.csvfiles`: the tests compare
the service's answers with what the file itself says.
"""

import csv

import numpy as np


def read_event_file(path):
    """{column name: array} with `time` as int64 nanoseconds."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    table = {"time": np.array([int(row[0]) for row in body], dtype=np.int64)}
    for index, name in enumerate(header[1:], start=1):
        try:
            table[name] = np.array([float(row[index]) for row in body])
        except ValueError:
            continue
    return table


def wrap(angle):
    wrapped = (np.asarray(angle) + 180.0) % 360.0 - 180.0
    return np.where(wrapped == -180.0, 180.0, wrapped)


def circular_mean(angles_deg):
    radians = np.radians(angles_deg)
    return wrap(np.degrees(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())))


def ns_to_rfc3339(ns):
    return str(np.datetime64(int(ns), "ns")) + "Z"


def rfc3339_to_ns(text):
    assert text.endswith("Z"), text
    return int(np.datetime64(text[:-1], "ns").astype(np.int64))

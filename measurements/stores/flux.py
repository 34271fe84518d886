"""The fixed Flux texts the InfluxDB store sends, and how values reach them.

No text here is ever built from a request: every value that varies (bucket,
PMU id, times, window, page size) is a named parameter, sent beside the
query as a typed `extern` option, and field names come from the schema's
fixed list. `checked_params` checks each value's type before anything is
sent.
"""

import re
from dataclasses import dataclass

from measurements.gateway import COLUMNS
from measurements.power import ANGLES, FIELDS, MAGNITUDES, PHASES, WINDOW_MEANS

MEASUREMENT = "pmu_measurements"
TAG = "pmu_id"
# Every name pasted into a text below comes from these constants; the check
# keeps a future schema change from smuggling a quote into a query.
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
if not all(
    _NAME.fullmatch(name) for name in (MEASUREMENT, TAG, *COLUMNS, *WINDOW_MEANS)
):
    raise ImportError("a schema name is not a plain identifier")

# Parameter names and the Python types their values must have.
PARAM_TYPES = {
    "p_bucket": str,
    "p_pmu": str,
    "p_start": int,
    "p_stop": int,
    "p_window": int,
    "p_limit": int,
}


@dataclass(frozen=True)
class FluxQuery:
    name: str
    imports: str
    body: str
    params: tuple
    #: The answer's columns the store reads.
    answer: tuple = ()

    @property
    def text(self):
        return f"{self.imports}\n\n{self.body}" if self.imports else self.body


def _fields_test(names):
    return " or ".join(f'r._field == "{name}"' for name in names)


def _quoted(names):
    return ", ".join(f'"{name}"' for name in names)


_ALL_FIELDS = _fields_test(COLUMNS)
_SAMPLE_COLUMNS = _quoted(("_time", *COLUMNS))
_PIVOT = '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'

# One PMU's points in [p_start, p_stop).
_ONE_PMU = f"""from(bucket: p_bucket)
  |> range(start: time(v: p_start), stop: time(v: p_stop))
  |> filter(fn: (r) => r._measurement == "{MEASUREMENT}" and r.{TAG} == p_pmu)"""

# Every PMU's points in [p_start, p_stop).
_ALL_PMUS = f"""from(bucket: p_bucket)
  |> range(start: time(v: p_start), stop: time(v: p_stop))
  |> filter(fn: (r) => r._measurement == "{MEASUREMENT}")"""


# Tag values come from the series index, not from reading points.
LIST_PMUS = FluxQuery(
    "list_pmus",
    'import "influxdata/influxdb/v1"',
    f"""v1.tagValues(
  bucket: p_bucket,
  tag: "{TAG}",
  predicate: (r) => r._measurement == "{MEASUREMENT}",
  start: time(v: 0)
)""",
    ("p_bucket",),
    ("_value",),
)

# last() reads one point per series, so the cost does not grow with the
# length of the range.
LIST_PMUS_SINCE = FluxQuery(
    "list_pmus_since",
    "",
    f"""{_ALL_PMUS}
  |> filter(fn: (r) => {_ALL_FIELDS})
  |> last()
  |> keep(columns: ["{TAG}"])
  |> group()
  |> distinct(column: "{TAG}")""",
    ("p_bucket", "p_start", "p_stop"),
    ("_value",),
)

# count() runs in the storage engine, one count per field; the largest is
# the number of samples when some field is present in every sample.
COUNT_SAMPLES = FluxQuery(
    "count_samples",
    "",
    f"""{_ONE_PMU}
  |> filter(fn: (r) => {_ALL_FIELDS})
  |> count()
  |> group()
  |> max()
  |> keep(columns: ["_value"])""",
    ("p_bucket", "p_pmu", "p_start", "p_stop"),
    ("_value",),
)

# One page of samples: the caller bounds the range, the limit bounds the
# rows, and the sort makes the limit keep the earliest ones.
SAMPLES_PAGE = FluxQuery(
    "samples_page",
    "",
    f"""{_ONE_PMU}
  |> filter(fn: (r) => {_ALL_FIELDS})
  {_PIVOT}
  |> keep(columns: [{_SAMPLE_COLUMNS}])
  |> sort(columns: ["_time"])
  |> limit(n: p_limit)""",
    ("p_bucket", "p_pmu", "p_start", "p_stop", "p_limit"),
    ("_time", *COLUMNS),
)

LAST_TIME = FluxQuery(
    "last_time",
    "",
    f"""{_ONE_PMU}
  |> filter(fn: (r) => {_ALL_FIELDS})
  |> last()
  |> keep(columns: ["_time"])
  |> group()
  |> sort(columns: ["_time"], desc: true)
  |> limit(n: 1)""",
    ("p_bucket", "p_pmu", "p_start", "p_stop"),
    ("_time",),
)

# The latest point of each field of each PMU; the store keeps the row at
# the latest time of each PMU, as the embedded store does.
LATEST = FluxQuery(
    "latest",
    "",
    f"""from(bucket: p_bucket)
  |> range(start: time(v: 0), stop: time(v: p_stop))
  |> filter(fn: (r) => r._measurement == "{MEASUREMENT}")
  |> filter(fn: (r) => {_ALL_FIELDS})
  |> last()
  {_PIVOT}
  |> keep(columns: ["_time", "{TAG}", {_quoted(COLUMNS)}])""",
    ("p_bucket", "p_stop"),
    ("_time", TAG, *COLUMNS),
)

# Every PMU at once, one table per PMU: one request per alert-worker tick.
RECENT = FluxQuery(
    "recent",
    "",
    f"""{_ALL_PMUS}
  |> filter(fn: (r) => {_ALL_FIELDS})
  {_PIVOT}
  |> keep(columns: ["_time", "{TAG}", {_quoted(COLUMNS)}])""",
    ("p_bucket", "p_start", "p_stop"),
    ("_time", TAG, *COLUMNS),
)


def _window_terms():
    """The map() record: every per-sample term of `power.sample_terms`."""
    terms = ["_time: r._time", "_start: r._start", "_stop: r._stop", "n: 1.0"]
    terms += [f"{name}: r.{name}" for name in MAGNITUDES]
    for phase in PHASES:
        v, i = f"r.v_{phase}", f"r.i_{phase}"
        phi = f"({v}_ang - {i}_ang) * rad"
        terms.append(f"p_{phase}: {v}_mag * {i}_mag * math.cos(x: {phi})")
        terms.append(f"q_{phase}: {v}_mag * {i}_mag * math.sin(x: {phi})")
        terms.append(f"s_{phase}: {v}_mag * {i}_mag")
    for angle in ANGLES:
        terms.append(f"{angle}_sin: math.sin(x: r.{angle} * rad)")
        terms.append(f"{angle}_cos: math.cos(x: r.{angle} * rad)")
    return ",\n    ".join(terms)


_SUMS = _quoted(("n", *WINDOW_MEANS))

# Power is computed per sample (map) before any averaging, so a window's P
# is the mean of per-sample P, as in the embedded store. cumulativeSum plus
# last() gives every column's sum per window in one pass; the store divides
# by n. Windows are epoch-aligned and clipped to the range, and _stop is the
# label, as aggregateWindow() labels them.
WINDOWS = FluxQuery(
    "windows",
    'import "math"',
    f"""rad = math.pi / 180.0

{_ONE_PMU}
  |> filter(fn: (r) => {_fields_test(FIELDS)})
  {_PIVOT}
  |> map(fn: (r) => ({{
    {_window_terms()}
  }}))
  |> window(every: duration(v: p_window))
  |> cumulativeSum(columns: [{_SUMS}])
  |> last(column: "n")
  |> keep(columns: ["_stop", {_SUMS}])
  |> group()""",
    ("p_bucket", "p_pmu", "p_start", "p_stop", "p_window"),
    ("_stop", "n", *WINDOW_MEANS),
)

# Touches authentication, the organisation and the bucket, reads nothing.
HEALTH = FluxQuery(
    "health",
    "",
    """from(bucket: p_bucket)
  |> range(start: time(v: 0), stop: time(v: 1))
  |> limit(n: 1)""",
    ("p_bucket",),
    (),
)

QUERIES = (
    LIST_PMUS,
    LIST_PMUS_SINCE,
    COUNT_SAMPLES,
    SAMPLES_PAGE,
    LAST_TIME,
    LATEST,
    RECENT,
    WINDOWS,
    HEALTH,
)


def checked_params(query, values):
    """The parameters of `query`, each checked against its declared type."""
    if set(values) != set(query.params):
        raise ValueError(f"{query.name} takes {sorted(query.params)}")
    for name, value in values.items():
        kind = PARAM_TYPES[name]
        # bool is an int subclass and numpy integers are not ints: both would
        # reach the server as something other than an integer literal.
        if type(value) is not kind:
            raise TypeError(f"{name} must be {kind.__name__}")
    return dict(values)


def inline_text(query, values):
    """The query with its parameters as a Flux preamble, for InfluxDB 1.x.

    InfluxDB 1.8 ignores `extern` (influxdata/influxdb#17794), so for it the
    same checked values are written as literals ahead of the fixed text.
    Strings are escaped for Flux; only checked ints and strs get here.
    """
    lines = [f"{name} = {flux_literal(value)}" for name, value in values.items()]
    preamble = "\n".join(lines)
    parts = [query.imports, preamble, query.body]
    return "\n\n".join(part for part in parts if part)


def flux_literal(value):
    if type(value) is int:
        return str(value)
    if type(value) is str:
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("$", "\\$")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        return f'"{escaped}"'
    raise TypeError("only int and str values become Flux literals")

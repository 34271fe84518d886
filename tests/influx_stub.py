"""A loopback stand-in for InfluxDB 2.x, for the requests the store sends.

It keeps written points in memory and answers the store's fixed Flux texts
(recognised by their exact text, parameters read from the request's
`extern`) by evaluating them in Python, with the annotated CSV a real
server would send: `#datatype`/`#group`/`#default` rows, a new block when
the schema changes, several tables per block, CRLF line ends, a chunked
body. Errors come as InfluxDB's JSON bodies with its status codes. Every
request is recorded so tests can check what the client sent.

Switches for failure tests: `token` (401 on any other), `writable` (401
naming the permission on writes), `error_after_rows` (an error table after
that many data rows), `write_failures` (5xx answers before a write
succeeds), `query_failure` ((status, code, message) for every query),
`delay_s` (answer late), `v1` (ignore `extern` as InfluxDB 1.8
does and read a literal preamble instead).
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

from measurements.gateway import COLUMNS
from measurements.power import FIELDS
from measurements.stores import flux

MEASUREMENT = "pmu_measurements"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def flux(self):
        return self.json["query"]

    @property
    def params(self):
        """The `extern` option statements as {name: Python value}."""
        extern = self.json.get("extern") or {}
        return {
            statement["assignment"]["id"]["name"]: _literal(
                statement["assignment"]["init"]
            )
            for statement in extern.get("body") or []
        }


def _literal(node):
    kind = node["type"]
    if kind == "StringLiteral":
        return node["value"]
    if kind == "IntegerLiteral":
        return int(node["value"])
    if kind == "FloatLiteral":
        return float(node["value"])
    if kind == "BooleanLiteral":
        return bool(node["value"])
    return node


@dataclass
class Table:
    """One output table: (name, datatype, in group key) columns and rows."""

    columns: list
    rows: list = field(default_factory=list)


class QueryFailed(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class InfluxStub:
    """The server state and behaviour; `start()` serves it on loopback."""

    def __init__(self, *, token="stub-token", org="pmu-org", bucket="pmu-bucket"):
        self.token = token
        self.org = org
        self.bucket = bucket
        self.writable = True
        self.error_after_rows = None
        self.write_failures = []
        self.delay_s = 0.0
        self.query_failure = None
        self.v1 = False
        self.requests = []
        # {(pmu_id, field): {time_ns: value}}
        self.points = {}
        self._lock = threading.Lock()
        self._server = None

    # --- serving ----------------------------------------------------------

    def start(self, port=0):
        stub = self

        class Handler(_Handler):
            server_stub = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queries(self):
        return [r for r in self.requests if r.path == "/api/v2/query"]

    def writes(self):
        return [r for r in self.requests if r.path == "/api/v2/write"]

    # --- writes -----------------------------------------------------------

    def write_lines(self, text, precision="ns"):
        scale = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[precision]
        parsed = [_parse_line(line, scale) for line in text.splitlines() if line]
        with self._lock:
            for measurement, tags, fields, stamp in parsed:
                if measurement != MEASUREMENT or "pmu_id" not in tags:
                    continue
                for name, value in fields.items():
                    self.points.setdefault((tags["pmu_id"], name), {})[stamp] = value

    # --- data views used by the query evaluators --------------------------

    def _series(self, pmu_id=None, names=COLUMNS):
        """{pmu_id: {field: (sorted times, values)}} of the chosen fields."""
        with self._lock:
            items = list(self.points.items())
        out = {}
        for (pmu, name), points in items:
            if (pmu_id is not None and pmu != pmu_id) or name not in names:
                continue
            times = np.array(sorted(points), dtype=np.int64)
            values = np.array([points[t] for t in times.tolist()], dtype=np.float64)
            out.setdefault(pmu, {})[name] = (times, values)
        return out

    def _in_range(self, series, start, stop):
        picked = {}
        for name, (times, values) in series.items():
            lo, hi = np.searchsorted(times, [start, stop])
            if hi > lo:
                picked[name] = (times[lo:hi], values[lo:hi])
        return picked

    def _pivot(self, series):
        """Rows on the union of times; fields sorted, as storage orders them."""
        names = sorted(series)
        if not names:
            return np.empty(0, dtype=np.int64), {}
        times = np.unique(np.concatenate([series[n][0] for n in names]))
        columns = {}
        for name in names:
            column = np.full(len(times), np.nan)
            where = np.searchsorted(times, series[name][0])
            column[where] = series[name][1]
            columns[name] = column
        return times, columns

    # --- the query evaluators, one per fixed text -------------------------

    def evaluate(self, name, p):
        return getattr(self, f"_q_{name}")(p)

    def _q_health(self, p):
        return []

    def _q_list_pmus(self, p):
        pmus = sorted(self._series())
        if not pmus:
            return []
        return [Table([("_value", "string", False)], [[pmu] for pmu in pmus])]

    def _q_list_pmus_since(self, p):
        pmus = sorted(
            pmu
            for pmu, series in self._series().items()
            if self._in_range(series, p["p_start"], p["p_stop"])
        )
        if not pmus:
            return []
        return [Table([("_value", "string", False)], [[pmu] for pmu in pmus])]

    def _q_count_samples(self, p):
        series = self._series(p["p_pmu"]).get(p["p_pmu"], {})
        picked = self._in_range(series, p["p_start"], p["p_stop"])
        if not picked:
            return []
        count = max(len(times) for times, _ in picked.values())
        return [Table([("_value", "long", False)], [[count]])]

    def _q_last_time(self, p):
        series = self._series(p["p_pmu"]).get(p["p_pmu"], {})
        picked = self._in_range(series, p["p_start"], p["p_stop"])
        if not picked:
            return []
        latest = max(int(times[-1]) for times, _ in picked.values())
        return [Table([("_time", "dateTime:RFC3339", False)], [[latest]])]

    def _q_samples_page(self, p):
        series = self._series(p["p_pmu"]).get(p["p_pmu"], {})
        times, columns = self._pivot(self._in_range(series, p["p_start"], p["p_stop"]))
        if not len(times):
            return []
        limit = p["p_limit"]
        names = list(columns)
        table = Table([("_time", "dateTime:RFC3339", False)])
        table.columns += [(name, "double", False) for name in names]
        for index in range(min(limit, len(times))):
            table.rows.append(
                [int(times[index]), *(float(columns[n][index]) for n in names)]
            )
        return [table]

    def _pmu_tables(self, per_pmu):
        tables = []
        for pmu in sorted(per_pmu):
            times, columns = self._pivot(per_pmu[pmu])
            if not len(times):
                continue
            names = list(columns)
            table = Table(
                [("_time", "dateTime:RFC3339", False), ("pmu_id", "string", True)]
                + [(name, "double", False) for name in names]
            )
            for index in range(len(times)):
                table.rows.append(
                    [
                        int(times[index]),
                        pmu,
                        *(float(columns[n][index]) for n in names),
                    ]
                )
            tables.append(table)
        return tables

    def _q_recent(self, p):
        per_pmu = {
            pmu: self._in_range(series, p["p_start"], p["p_stop"])
            for pmu, series in self._series().items()
        }
        return self._pmu_tables(per_pmu)

    def _q_latest(self, p):
        per_pmu = {}
        for pmu, series in self._series().items():
            picked = self._in_range(series, 0, p["p_stop"])
            per_pmu[pmu] = {
                name: (times[-1:], values[-1:])
                for name, (times, values) in picked.items()
            }
        return self._pmu_tables(per_pmu)

    def _q_windows(self, p):
        series = self._series(p["p_pmu"], FIELDS).get(p["p_pmu"], {})
        times, c = self._pivot(self._in_range(series, p["p_start"], p["p_stop"]))
        if not len(times) or len(c) < len(FIELDS):
            return []
        rad = np.pi / 180.0
        terms = {"n": np.ones(len(times))}
        for kind in "vi":
            for phase in "abc":
                terms[f"{kind}_{phase}_mag"] = c[f"{kind}_{phase}_mag"]
        for phase in "abc":
            s = c[f"v_{phase}_mag"] * c[f"i_{phase}_mag"]
            phi = (c[f"v_{phase}_ang"] - c[f"i_{phase}_ang"]) * rad
            terms[f"p_{phase}"] = s * np.cos(phi)
            terms[f"q_{phase}"] = s * np.sin(phi)
            terms[f"s_{phase}"] = s
        for kind in "vi":
            for phase in "abc":
                angle = f"{kind}_{phase}_ang"
                terms[f"{angle}_sin"] = np.sin(c[angle] * rad)
                terms[f"{angle}_cos"] = np.cos(c[angle] * rad)
        window = p["p_window"]
        index = times // window
        # map() builds records whose columns come out in label order.
        names = sorted(terms)
        table = Table(
            [("_stop", "dateTime:RFC3339", False)]
            + [(name, "double", False) for name in names]
        )
        for k in np.unique(index).tolist():
            rows = index == k
            stop = min((k + 1) * window, p["p_stop"])
            # cumulativeSum() then last(): a running sum in row order.
            sums = [float(np.cumsum(terms[name][rows])[-1]) for name in names]
            table.rows.append([stop, *sums])
        return [table]


# The fixed texts the stub recognises, by exact text.
KNOWN = {query.text: query for query in flux.QUERIES}
_PREAMBLE = re.compile(r'^(p_[a-z]+) = (-?\d+|"(?:[^"\\]|\\.)*")$')


def _flux_string(literal):
    body = literal[1:-1]
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m[1], m[1]), body
    )


def _v1_query(text):
    """(fixed query, params) from a text with a literal preamble, or None."""
    params, kept = {}, []
    for line in text.split("\n"):
        match = _PREAMBLE.match(line)
        if match:
            name, literal = match.groups()
            params[name] = (
                _flux_string(literal) if literal.startswith('"') else int(literal)
            )
        else:
            kept.append(line)
    rebuilt = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    query = KNOWN.get(rebuilt)
    return (query, params) if query else (None, {})


def _parse_line(line, scale):
    """(measurement, tags, float fields, time) of one line-protocol line."""
    try:
        head, fields_text, stamp = _split_unescaped(line, " ")
        parts = _split_unescaped(head, ",")
        measurement = parts[0]
        tags = dict(_split_unescaped(part, "=", 1) for part in parts[1:])
        fields = {}
        for item in _split_unescaped(fields_text, ","):
            name, value = _split_unescaped(item, "=", 1)
            fields[name] = float(value)
        return measurement, tags, fields, int(stamp) * scale
    except (ValueError, TypeError) as exc:
        raise QueryFailed(
            400, "invalid", f"unable to parse '{line[:60]}': {exc}"
        ) from exc


def _split_unescaped(text, separator, limit=-1):
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if limit > 0 and len(parts) != limit + 1:
        raise ValueError("missing " + separator)
    if separator == " " and len(parts) != 3:
        raise ValueError("expected measurement, fields and time")
    return parts


# --- annotated CSV, as the server writes it -------------------------------


def format_time(ns):
    """RFC 3339 with up to nine fraction digits, trailing zeros trimmed."""
    seconds, fraction = divmod(int(ns), 1_000_000_000)
    stamp = np.datetime_as_string(np.datetime64(seconds, "s"), unit="s")
    if fraction:
        return f"{stamp}.{fraction:09d}".rstrip("0") + "Z"
    return f"{stamp}Z"


def format_cell(kind, value):
    if value is None:
        return ""
    if kind == "double":
        if np.isnan(value):
            return ""
        if np.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return np.format_float_positional(value, unique=True, trim="-")
    if kind.startswith("dateTime"):
        return format_time(value)
    if kind in ("long", "unsignedLong"):
        return str(int(value))
    if kind == "boolean":
        return "true" if value else "false"
    text = str(value)
    if any(char in text for char in ',"\r\n') or text.startswith(" "):
        return '"' + text.replace('"', '""') + '"'
    return text


def annotated_csv(tables):
    """The CSV the server streams for these result tables."""
    out = []
    schema = None
    for table_id, table in enumerate(tables):
        columns = [("result", "string", False), ("table", "long", False)]
        columns += table.columns
        if columns != schema:
            if schema is not None:
                out.append("")
            schema = columns
            out.append("#datatype," + ",".join(kind for _, kind, _ in columns))
            out.append(
                "#group," + ",".join("true" if g else "false" for _, _, g in columns)
            )
            out.append("#default,_result" + "," * (len(columns) - 1))
            out.append("," + ",".join(name for name, _, _ in columns))
        for row in table.rows:
            cells = ["", str(table_id)]
            cells += [
                format_cell(kind, value)
                for (_, kind, _), value in zip(table.columns, row, strict=True)
            ]
            out.append("," + ",".join(cells))
    return out


ERROR_TABLE = [
    "#datatype,string,string",
    "#group,true,true",
    "#default,,",
    ",error,reference",
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_stub = None

    def log_message(self, format, *args):
        pass

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            self.command,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            dict(self.headers.items()),
            body,
        )
        self.server_stub.requests.append(request)
        return request

    def _send(self, status, body=b"", content_type="application/json; charset=utf-8"):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Influxdb-Build", "OSS")
        self.send_header("X-Influxdb-Version", "v2.7.11")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _error(self, status, code, message):
        body = json.dumps({"code": code, "message": message}).encode()
        self._send(status, body)

    def do_GET(self):
        request = self._record()
        if request.path == "/ping":
            self._send(204)
        elif request.path == "/health":
            body = {
                "name": "influxdb",
                "message": "ready for queries and writes",
                "status": "pass",
                "checks": [],
                "version": "v2.7.11",
                "commit": "stub",
            }
            self._send(200, json.dumps(body).encode())
        else:
            self._error(404, "not found", "path not found")

    def do_POST(self):
        stub = self.server_stub
        request = self._record()
        if stub.delay_s:
            time.sleep(stub.delay_s)
        try:
            self._authorise(request)
            if request.path == "/api/v2/write":
                self._write(request)
            elif request.path == "/api/v2/query":
                self._query(request)
            else:
                self._error(404, "not found", "path not found")
        except QueryFailed as exc:
            self._error(exc.status, exc.code, exc.message)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _authorise(self, request):
        stub = self.server_stub
        if request.headers.get("Authorization") != f"Token {stub.token}":
            raise QueryFailed(401, "unauthorized", "unauthorized access")
        org = request.query.get("org")
        if org != stub.org:
            raise QueryFailed(404, "not found", f'organization name "{org}" not found')

    def _write(self, request):
        stub = self.server_stub
        bucket = request.query.get("bucket")
        if bucket != stub.bucket:
            raise QueryFailed(404, "not found", f'bucket "{bucket}" not found')
        if not stub.writable:
            raise QueryFailed(
                401,
                "unauthorized",
                "write:orgs/0a1b2c3d4e5f6a7b/buckets/1a2b3c4d5e6f7a8b is unauthorized",
            )
        if stub.write_failures:
            status = stub.write_failures.pop(0)
            raise QueryFailed(status, "unavailable", "the service is unavailable")
        stub.write_lines(request.body.decode(), request.query.get("precision", "ns"))
        self._send(204)

    def _query(self, request):
        stub = self.server_stub
        if stub.query_failure:
            raise QueryFailed(*stub.query_failure)
        text = request.flux
        if stub.v1:
            query, params = _v1_query(text)
        else:
            query, params = KNOWN.get(text), request.params
        if query is None:
            raise QueryFailed(400, "invalid", "compilation failed: unknown query")
        for name in query.params:
            if name not in params:
                raise QueryFailed(
                    400, "invalid", f"error @1:1-1:9: undefined identifier {name}"
                )
            if type(params[name]) is not flux.PARAM_TYPES[name]:
                raise QueryFailed(400, "invalid", f"type error: {name}")
        if params["p_bucket"] != stub.bucket:
            raise QueryFailed(
                404,
                "not found",
                "failed to initialize execute state: could not find bucket "
                f'"{params["p_bucket"]}"',
            )
        lines = annotated_csv(stub.evaluate(query.name, params))
        if stub.error_after_rows is not None:
            lines = _cut_with_error(lines, stub.error_after_rows)
        self._stream(((lines and "\r\n".join(lines) + "\r\n\r\n") or "\r\n").encode())

    def _stream(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 4096):
            chunk = body[start : start + 4096]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


def _cut_with_error(lines, rows):
    """The first `rows` data rows, then an error table, as mid-stream."""
    kept, seen = [], 0
    for line in lines:
        if line.startswith(",") and not line.startswith(",result,"):
            if seen >= rows:
                break
            seen += 1
        kept.append(line)
    return [*kept, "", *ERROR_TABLE, ",panic: runtime error: stub failure,"]


def store_for(stub, **overrides):
    """An InfluxStore pointed at the stub, with any setting overridden."""
    from measurements.stores.influx import InfluxStore

    options = {
        "url": stub.url,
        "token": stub.token,
        "org": stub.org,
        "bucket": stub.bucket,
        "timeout_s": 5,
    }
    options.update(overrides)
    return InfluxStore(**options)

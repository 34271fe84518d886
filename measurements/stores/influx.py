"""The InfluxDB 2.x store: Flux queries and line-protocol writes.

Schema (kept from the system this replaces): measurement `pmu_measurements`,
tag `pmu_id`, one float field per column of `measurements.gateway.COLUMNS`.
Queries are the fixed texts of `measurements.stores.flux`; every value that
varies travels as a typed parameter. Answers are parsed by
`measurements.stores.annotated_csv` straight into numpy columns. Every
failure of the server or the network becomes one of the service's store
errors, and no message ever carries the token.

InfluxDB 1.8 with Flux enabled works too: org `-`, token `user:password`,
bucket `database/retention_policy`. It ignores the `extern` parameters, so
with org `-` the same checked values are sent as a literal preamble instead.
"""

import logging
import re
from urllib.parse import urlsplit

import numpy as np
import urllib3
from django.conf import settings
from influxdb_client import Dialect, InfluxDBClient
from influxdb_client.client.write.retry import WritesRetry
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from measurements.gateway import COLUMNS, Samples, Store, Windows
from measurements.params import PMU_ID
from measurements.power import WINDOW_MEANS
from measurements.stores import annotated_csv, flux
from measurements.timeparse import MAX_NS
from pmuproject.errors import (
    InvalidParameter,
    StoreBucketMissing,
    StoreCredentialsRefused,
    StoreError,
    StoreUnreachable,
    StoreWriteError,
)

logger = logging.getLogger(__name__)

# A page of samples holds at most this many rows ...
PAGE_ROWS = 50_000
# ... and the first page spans this long: PAGE_ROWS at 240 frames/s, the
# fastest rate C37.118 devices commonly stream. Later pages adapt the span
# to the density the previous page showed.
FIRST_PAGE_NS = PAGE_ROWS * 1_000_000_000 // 240
# Lines per write request: large enough to amortise the request, small
# enough that one retry resends little.
WRITE_BATCH_LINES = 5_000
WRITE_RETRIES = 3
WRITE_RETRY_INTERVAL_S = 0.5
WRITE_MAX_RETRY_DELAY_S = 4.0

DIALECT = Dialect(
    header=True,
    delimiter=",",
    comment_prefix="#",
    annotations=["datatype", "group", "default"],
    date_time_format="RFC3339Nano",
)
# The org name InfluxDB 1.8 expects; it also selects the 1.x way of
# passing parameters (see `flux.inline_text`).
V1_ORG = "-"

_BUCKET_WORDS = re.compile(r"bucket", re.IGNORECASE)


class InfluxStore(Store):
    kind = "influxdb"

    def __init__(self, *, url, token, org, bucket, timeout_s=5.0):
        self.url = url
        self.org = org
        self.bucket = bucket
        self.timeout_s = float(timeout_s)
        self._token = token
        self._inline_params = org == V1_ORG
        # Outages are logged when they start and end, not on every request.
        self._down = False
        # The client applies the timeout to every request (connect and each
        # read); queries are never retried here, writes retry per request.
        self._client = InfluxDBClient(
            url=url,
            token=token,
            org=org,
            timeout=int(self.timeout_s * 1000),
            enable_gzip=False,
        )
        self._queries = self._client.query_api()
        self._writes = WriteService(self._client.api_client)

    @classmethod
    def from_settings(cls):
        return cls(
            url=settings.INFLUX_URL,
            token=settings.INFLUX_TOKEN,
            org=settings.INFLUX_ORG,
            bucket=settings.INFLUX_BUCKET,
            timeout_s=settings.INFLUX_TIMEOUT,
        )

    def close(self):
        self._client.close()

    @property
    def where(self):
        """The server as shown in messages: scheme, host and port only."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"

    # --- reads ------------------------------------------------------------

    def list_pmus(self, *, since_ns=None):
        if since_ns is None:
            blocks = self._query(flux.LIST_PMUS, {})
        else:
            since_ns = _checked_time(since_ns, "since")
            blocks = self._query(
                flux.LIST_PMUS_SINCE, {"p_start": since_ns, "p_stop": MAX_NS + 1}
            )
        ids = set()
        for block in blocks:
            column = block.columns.get("_value")
            if column is not None:
                ids.update(value for value in column.tolist() if value)
        return sorted(ids)

    def count_samples(self, pmu_id, *, start_ns, stop_ns):
        params = self._one_pmu(pmu_id, start_ns, stop_ns)
        if params is None:
            return 0
        counts = [
            int(value)
            for block in self._query(flux.COUNT_SAMPLES, params)
            for value in block.columns.get("_value", [])
        ]
        return max(counts, default=0)

    def iter_samples(self, pmu_id, *, start_ns, stop_ns):
        params = self._one_pmu(pmu_id, start_ns, stop_ns)
        if params is None:
            return
        cursor, stop_ns, span = params["p_start"], params["p_stop"], FIRST_PAGE_NS
        while cursor < stop_ns:
            page_stop = min(stop_ns, cursor + span)
            page = self._samples_page(pmu_id, cursor, page_stop)
            if len(page) >= PAGE_ROWS:
                # The page was cut by the limit: its rows are the earliest
                # ones, each instant complete, so the next page starts just
                # after its last row, spanning as long as this one filled.
                last = int(page.time[-1])
                span = max(last - cursor + 1, 1)
                cursor = last + 1
            else:
                if len(page) < PAGE_ROWS // 4:
                    span *= 2
                cursor = page_stop
            if len(page):
                yield page

    def _samples_page(self, pmu_id, start_ns, stop_ns):
        params = {
            "p_pmu": pmu_id,
            "p_start": start_ns,
            "p_stop": stop_ns,
            "p_limit": PAGE_ROWS,
        }
        blocks = self._query(flux.SAMPLES_PAGE, params)
        parts = [_samples_of(pmu_id, block) for block in blocks]
        return Samples.concat(pmu_id, parts).normalised()

    def read_windows(self, pmu_id, *, start_ns, stop_ns, window_ns):
        params = self._one_pmu(pmu_id, start_ns, stop_ns)
        window_ns = _checked_window(window_ns)
        if params is None:
            return _no_windows(pmu_id)
        params["p_window"] = window_ns
        ends, counts, sums = [], [], {name: [] for name in WINDOW_MEANS}
        for block in self._query(flux.WINDOWS, params):
            if not len(block):
                continue
            ends.append(block.columns["_stop"])
            counts.append(block.columns["n"])
            for name in WINDOW_MEANS:
                sums[name].append(block.columns[name])
        if not ends:
            return _no_windows(pmu_id)
        time_ = np.concatenate(ends)
        count = np.rint(np.concatenate(counts)).astype(np.int64)
        order = np.argsort(time_, kind="stable")
        keep = count[order] > 0
        order = order[keep]
        means = {
            name: np.concatenate(sums[name])[order] / count[order] for name in sums
        }
        return Windows(pmu_id, time_[order], count[order], means)

    def last_time(self, pmu_id, *, start_ns, stop_ns):
        params = self._one_pmu(pmu_id, start_ns, stop_ns)
        if params is None:
            return None
        times = [
            int(value)
            for block in self._query(flux.LAST_TIME, params)
            for value in block.columns.get("_time", [])
        ]
        return max(times, default=None)

    def read_latest(self):
        latest = {}
        for pmu_id, samples in self._by_pmu(
            self._query(flux.LATEST, {"p_stop": MAX_NS + 1})
        ).items():
            latest[pmu_id] = samples.take(slice(len(samples) - 1, len(samples)))
        return latest

    def read_recent(self, *, start_ns, stop_ns):
        start_ns = _checked_time(start_ns, "start")
        stop_ns = _checked_time(stop_ns, "stop")
        if start_ns >= stop_ns:
            return {}
        blocks = self._query(flux.RECENT, {"p_start": start_ns, "p_stop": stop_ns})
        return self._by_pmu(blocks)

    def _by_pmu(self, blocks):
        parts = {}
        for block in blocks:
            for table in block.tables():
                ids = table.columns.get(flux.TAG)
                if ids is None or not len(ids):
                    continue
                # A table holds one PMU (pmu_id is its group key), but a
                # hand-made answer could mix them: split to be sure.
                for pmu_id in dict.fromkeys(ids.tolist()):
                    selected = table.take(ids == pmu_id)
                    parts.setdefault(pmu_id, []).append(_samples_of(pmu_id, selected))
        return {
            pmu_id: Samples.concat(pmu_id, pieces).normalised()
            for pmu_id, pieces in sorted(parts.items())
        }

    def _one_pmu(self, pmu_id, start_ns, stop_ns):
        """Checked parameters for one PMU's range; None for an empty range."""
        if not isinstance(pmu_id, str) or not PMU_ID.fullmatch(pmu_id):
            raise InvalidParameter("pmu", "The PMU id is not a valid PMU id.")
        start_ns = _checked_time(start_ns, "start")
        stop_ns = _checked_time(stop_ns, "stop")
        if start_ns >= stop_ns:
            return None
        return {"p_pmu": pmu_id, "p_start": start_ns, "p_stop": stop_ns}

    # --- writes -----------------------------------------------------------

    def write(self, batches):
        lines, written = [], 0
        for batch in batches:
            if not len(batch):
                continue
            if not isinstance(batch.pmu_id, str) or not PMU_ID.fullmatch(batch.pmu_id):
                raise InvalidParameter(
                    "pmu_id", f"{batch.pmu_id!r} is not a valid PMU id."
                )
            batch_lines = line_protocol(batch.normalised())
            lines.extend(batch_lines)
            written += len(batch_lines)
        for start in range(0, len(lines), WRITE_BATCH_LINES):
            body = "\n".join(lines[start : start + WRITE_BATCH_LINES]).encode()
            self._post_write(body)
        return written

    def _post_write(self, body):
        retry = WritesRetry(
            total=WRITE_RETRIES,
            retry_interval=WRITE_RETRY_INTERVAL_S,
            max_retry_delay=WRITE_MAX_RETRY_DELAY_S,
            max_retry_time=WRITE_RETRIES * (self.timeout_s + WRITE_MAX_RETRY_DELAY_S),
            exponential_base=2,
            allowed_methods=["POST"],
        )
        try:
            self._writes.post_write(
                org=self.org,
                bucket=self.bucket,
                body=body,
                precision="ns",
                content_type="text/plain; charset=utf-8",
                urlopen_kw={"retries": retry},
            )
        except Exception as exc:
            raise self._translated(exc, writing=True) from exc

    # --- health -----------------------------------------------------------

    def ping(self):
        self._query(flux.HEALTH, {})
        return {"url": self.where, "bucket": self.bucket}

    # --- the one way queries go out ---------------------------------------

    def _query(self, query, values):
        """Send a fixed query with checked parameters; the answer's blocks."""
        params = flux.checked_params(query, {"p_bucket": self.bucket, **values})
        if self._inline_params:
            text, params = flux.inline_text(query, params), None
        else:
            text = query.text
        response = None
        try:
            response = self._queries.query_raw(
                text, org=self.org, dialect=DIALECT, params=params
            )
            data = response.read()
            blocks = annotated_csv.parse(data, query.answer)
            if self._down:
                self._down = False
                logger.info("InfluxDB at %s answers again", self.where)
            return blocks
        except annotated_csv.FluxQueryError as exc:
            logger.warning("InfluxDB query %s failed mid-answer", query.name)
            raise StoreError(
                f"InfluxDB at {self.where} failed while answering: "
                f"{self._scrubbed(exc.message)}"
            ) from exc
        except annotated_csv.AnnotatedCsvError as exc:
            raise StoreError(
                f"InfluxDB at {self.where} sent an answer that cannot be read: {exc}"
            ) from exc
        except Exception as exc:
            raise self._translated(exc, writing=False) from exc
        finally:
            if response is not None:
                response.release_conn()

    def _translated(self, exc, *, writing):
        """One of our errors for an exception of the client or the network."""
        if isinstance(exc, ApiException) and exc.status:
            return self._http_error(exc, writing=writing)
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason:
            if isinstance(exc.reason, urllib3.exceptions.ResponseError):
                what = "kept failing" if writing else "kept failing to answer"
                return self._unreachable(f"{what} after {WRITE_RETRIES} retries")
            exc = exc.reason
        if isinstance(exc, urllib3.exceptions.NameResolutionError):
            host = urlsplit(self.url).hostname
            return self._unreachable(f"cannot be reached: {host} does not resolve")
        if isinstance(exc, urllib3.exceptions.NewConnectionError):
            if "refused" in str(exc).lower():
                return self._unreachable("refused the connection")
            return self._unreachable("cannot be reached")
        if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
            return self._unreachable(f"did not answer within {self.timeout_s:g} s")
        if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
            # Resets, truncated answers, TLS failures.
            name = type(exc).__name__
            return self._unreachable(f"broke the connection ({name})")
        if isinstance(exc, ApiException):
            # The client reports TLS set-up failures as status 0.
            return self._unreachable("could not set up the connection (TLS)")
        logger.error("Unexpected error from the InfluxDB client", exc_info=exc)
        return StoreError(f"InfluxDB at {self.where} failed: {type(exc).__name__}")

    def _unreachable(self, what):
        if not self._down:
            self._down = True
            logger.warning("InfluxDB at %s %s", self.where, what)
        return StoreUnreachable(f"InfluxDB at {self.where} {what}.")

    def _http_error(self, exc, *, writing):
        status = exc.status
        message = self._scrubbed(_server_message(exc))
        if writing and status in (401, 403):
            return StoreWriteError(
                f"The InfluxDB token may not write to bucket {self.bucket!r} "
                f"(HTTP {status}: {message}).",
                bucket=self.bucket,
            )
        if status in (401, 403):
            return StoreCredentialsRefused(
                f"InfluxDB at {self.where} refused the token (HTTP {status}: "
                f"{message}); check INFLUX_TOKEN.",
            )
        if status == 404:
            what = "bucket" if _BUCKET_WORDS.search(message) else "organization"
            return StoreBucketMissing(
                f"InfluxDB at {self.where} has no {what} for bucket "
                f"{self.bucket!r} in organization {self.org!r}: {message}",
                bucket=self.bucket,
            )
        if status in (502, 503, 504):
            return self._unreachable(f"is unavailable (HTTP {status}: {message})")
        if writing:
            return StoreWriteError(
                f"InfluxDB refused a write to bucket {self.bucket!r} "
                f"(HTTP {status}: {message}).",
                bucket=self.bucket,
            )
        return StoreError(
            f"InfluxDB at {self.where} refused the query (HTTP {status}: {message})."
        )

    def _scrubbed(self, text):
        text = str(text)
        if self._token:
            text = text.replace(self._token, "***")
        return text[:500]


def _server_message(exc):
    """The `message` of InfluxDB's JSON error body, or the HTTP reason."""
    message = getattr(exc, "message", None)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return str(message or exc.reason or "no message")


def _checked_time(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidParameter(name, f"`{name}` must be integer nanoseconds.")
    value = int(value)
    if not 0 <= value <= MAX_NS + 1:
        raise InvalidParameter(name, f"`{name}` must lie between 1970 and 2200.")
    return value


def _checked_window(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidParameter("window", "`window` must be integer nanoseconds.")
    value = int(value)
    if not 0 < value <= MAX_NS:
        raise InvalidParameter("window", "`window` must be a positive duration.")
    return value


def _no_windows(pmu_id):
    return Windows(
        pmu_id,
        np.empty(0, dtype=np.int64),
        np.empty(0, dtype=np.int64),
        {name: np.empty(0) for name in WINDOW_MEANS},
    )


def _samples_of(pmu_id, block):
    """Samples from a block with `_time` and some of the field columns."""
    if "_time" not in block.columns:
        return Samples.empty(pmu_id)
    columns = {name: block.columns[name] for name in COLUMNS if name in block.columns}
    return Samples(pmu_id, block.columns["_time"], columns)


def line_protocol(samples):
    """Line-protocol lines for one PMU's samples, times in nanoseconds.

    NaN and infinite values cannot be stored in InfluxDB: such a field is
    left out of its line, and a sample with no finite value at all is not
    written (logged).
    """
    # The PMU id was checked against PMU_ID, which admits none of the
    # characters line protocol would need escaped in a tag value.
    prefix = f"{flux.MEASUREMENT},{flux.TAG}={samples.pmu_id} "
    names = [name for name in COLUMNS if np.isfinite(samples.columns[name]).any()]
    if not names:
        logger.warning(
            "Skipped %d samples of %s without values", len(samples), samples.pmu_id
        )
        return []
    values = [samples.columns[name] for name in names]
    finite = np.logical_and.reduce([np.isfinite(column) for column in values])
    times = samples.time.tolist()
    rows = [column.tolist() for column in values]
    template = prefix + ",".join(f"{name}=%r" for name in names) + " %d"
    lines = []
    skipped = 0
    for index, row in enumerate(zip(*rows, strict=True)):
        if finite[index]:
            lines.append(template % (*row, times[index]))
            continue
        present = [
            f"{name}={value!r}"
            for name, value in zip(names, row, strict=True)
            if np.isfinite(value)
        ]
        if present:
            lines.append(f"{prefix}{','.join(present)} {times[index]}")
        else:
            skipped += 1
    if skipped:
        logger.warning(
            "Skipped %d samples of %s without values", skipped, samples.pmu_id
        )
    return lines

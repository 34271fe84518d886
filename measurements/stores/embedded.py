"""The embedded store: PMU samples in one SQLite file, as columnar chunks.

Why this engine: SQLite in WAL mode lets any number of processes read while
one writes, survives a crash mid-write, and ships with Python. A row per
sample reads back at roughly 0.3 M rows/s through the sqlite3 module, which
makes an hour of 120 frames/s data a multi-second read. Storing each run of
up to CHUNK_SIZE consecutive samples of one PMU as one row whose body is
the raw numpy columns reads the same hour in milliseconds, keeps every
write one transaction, and still lets SQLite's B-tree find the chunks of a
time range. The measurements behind this choice are in the README.

Invariant: the chunks of one PMU never overlap in time, and each chunk's
times are strictly increasing.
"""

import logging
import os
import sqlite3
import threading
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np

from measurements.gateway import COLUMNS, Samples, Store
from pmuproject.errors import StoreError, StoreWriteError

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2048
# Reads hand samples on in batches of about this many, so a long range
# never sits in memory at once.
BATCH_SAMPLES = 262_144
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    pmu TEXT NOT NULL,
    t_first INTEGER NOT NULL,
    t_last INTEGER NOT NULL,
    n INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunk_by_time ON chunk (pmu, t_first);
-- Finds the recent chunks of every PMU at once (the alert worker's read).
CREATE INDEX IF NOT EXISTS chunk_by_last ON chunk (t_last);
CREATE TABLE IF NOT EXISTS pmu (
    pmu TEXT PRIMARY KEY,
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL
);
"""

_NCOL = len(COLUMNS)


def encode_chunk(times, data):
    """Body of a chunk: n int64 times, then the float64 columns, column-major."""
    return times.astype("<i8").tobytes() + data.astype("<f8").tobytes()


def decode_chunk(n, body):
    times = np.frombuffer(body, dtype="<i8", count=n)
    data = np.frombuffer(body, dtype="<f8", offset=8 * n).reshape(_NCOL, n)
    return times, data


class EmbeddedStore(Store):
    kind = "embedded"

    def __init__(self, path):
        self.path = str(path)
        self._local = threading.local()
        self._connections = []
        self._lock = threading.Lock()
        self._unavailable = False

    # --- connections ------------------------------------------------------

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = self._connect()
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    def _connect(self, *, shared=True):
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                logger.error(
                    "The embedded store at %s is of a newer version", self.path
                )
                raise StoreError(
                    "The embedded store was written by a newer version of this service."
                )
        except (sqlite3.Error, OSError) as exc:
            # Logged once per outage: every request and every writer retries.
            self._failed(exc)
            raise StoreError(
                f"The embedded store cannot be opened ({exc}); the server log "
                "names the file."
            ) from exc
        if shared:
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _transaction(self, *, write=False, error=StoreError, connection=None):
        """One consistent snapshot (reads) or one atomic change (writes)."""
        try:
            connection = connection or self._connection()
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            self._failed(exc, connection)
            raise error(f"The embedded store cannot be used: {exc}") from exc
        try:
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed(exc, connection)
            raise error(f"The embedded store failed: {exc}") from exc
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._answered()

    def _failed(self, exc, connection=None):
        """Log an outage once, and drop a connection that may be broken."""
        if not self._unavailable:
            self._unavailable = True
            logger.error("The embedded store at %s failed: %s", self.path, exc)
        if connection is None:
            return
        with suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            with suppress(sqlite3.Error):
                connection.close()

    def _answered(self):
        if self._unavailable:
            self._unavailable = False
            logger.info("The embedded store at %s answers again", self.path)

    def close(self):
        with self._lock:
            for connection in self._connections:
                with suppress(sqlite3.Error):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()

    # --- reads ------------------------------------------------------------

    def list_pmus(self, *, since_ns=None):
        with self._transaction() as db:
            if since_ns is None:
                rows = db.execute("SELECT pmu FROM pmu ORDER BY pmu")
            else:
                rows = db.execute(
                    "SELECT pmu FROM pmu WHERE last_time >= ? ORDER BY pmu",
                    (since_ns,),
                )
            return [row[0] for row in rows]

    def _chunk_rows(self, db, pmu_id, start_ns, stop_ns, columns="n, body"):
        # The chunk that may hold start_ns begins at or before it; every
        # later chunk that begins before stop_ns overlaps the range too.
        floor = db.execute(
            "SELECT MAX(t_first) FROM chunk WHERE pmu = ? AND t_first <= ?",
            (pmu_id, start_ns),
        ).fetchone()[0]
        return db.execute(
            f"SELECT t_first, t_last, {columns} FROM chunk "
            "WHERE pmu = ? AND t_first >= ? AND t_first < ? ORDER BY t_first",
            (pmu_id, start_ns if floor is None else floor, stop_ns),
        )

    def count_samples(self, pmu_id, *, start_ns, stop_ns):
        total = 0
        with self._transaction() as db:
            for t_first, t_last, n, body in self._chunk_rows(
                db, pmu_id, start_ns, stop_ns
            ):
                if t_first >= start_ns and t_last < stop_ns:
                    total += n
                elif t_last >= start_ns:
                    times = np.frombuffer(body, dtype="<i8", count=n)
                    total += int(
                        np.count_nonzero((times >= start_ns) & (times < stop_ns))
                    )
        return total

    def iter_samples(self, pmu_id, *, start_ns, stop_ns):
        # The caller may resume this generator from other threads while the
        # thread's shared connection serves other requests, so the snapshot
        # it holds lives on a connection of its own.
        connection = self._connect(shared=False)
        try:
            yield from self._iter_samples(connection, pmu_id, start_ns, stop_ns)
        finally:
            connection.close()

    def _iter_samples(self, connection, pmu_id, start_ns, stop_ns):
        with self._transaction(connection=connection) as db:
            pending, size = [], 0
            for t_first, t_last, n, body in self._chunk_rows(
                db, pmu_id, start_ns, stop_ns
            ):
                if t_last < start_ns:
                    continue
                times, data = decode_chunk(n, body)
                if t_first < start_ns or t_last >= stop_ns:
                    lo, hi = np.searchsorted(times, [start_ns, stop_ns])
                    times, data = times[lo:hi], data[:, lo:hi]
                pending.append((times, data))
                size += len(times)
                if size >= BATCH_SAMPLES:
                    yield _samples(pmu_id, pending)
                    pending, size = [], 0
            if pending:
                yield _samples(pmu_id, pending)

    def last_time(self, pmu_id, *, start_ns, stop_ns):
        with self._transaction() as db:
            row = db.execute(
                "SELECT t_last, n, body FROM chunk WHERE pmu = ? "
                "AND t_first < ? ORDER BY t_first DESC LIMIT 1",
                (pmu_id, stop_ns),
            ).fetchone()
        if row is None:
            return None
        t_last, n, body = row
        if t_last < stop_ns:
            latest = t_last
        else:
            times = np.frombuffer(body, dtype="<i8", count=n)
            latest = int(times[np.searchsorted(times, stop_ns) - 1])
        return latest if latest >= start_ns else None

    def read_latest(self):
        latest = {}
        with self._transaction() as db:
            rows = db.execute(
                "SELECT c.pmu, c.n, c.body FROM pmu p JOIN chunk c "
                "ON c.pmu = p.pmu AND c.t_first = (SELECT MAX(t_first) "
                "FROM chunk WHERE pmu = p.pmu) ORDER BY c.pmu"
            )
            for pmu_id, n, body in rows:
                times, data = decode_chunk(n, body)
                latest[pmu_id] = _samples(pmu_id, [(times[-1:], data[:, -1:])])
        return latest

    def read_recent(self, *, start_ns, stop_ns):
        parts = {}
        with self._transaction() as db:
            rows = db.execute(
                "SELECT pmu, n, body FROM chunk WHERE t_last >= ? AND t_first < ? "
                "ORDER BY pmu, t_first",
                (start_ns, stop_ns),
            )
            for pmu_id, n, body in rows:
                times, data = decode_chunk(n, body)
                lo, hi = np.searchsorted(times, [start_ns, stop_ns])
                if hi > lo:
                    parts.setdefault(pmu_id, []).append((times[lo:hi], data[:, lo:hi]))
        return {pmu_id: _samples(pmu_id, chunks) for pmu_id, chunks in parts.items()}

    # --- writes -----------------------------------------------------------

    def write(self, batches):
        return self.write_stream([batches])

    def write_stream(self, blocks):
        written = 0
        with self._transaction(write=True, error=StoreWriteError) as db:
            for batches in blocks:
                for batch in batches:
                    if len(batch):
                        batch = batch.normalised()
                        self._merge(db, batch)
                        written += len(batch)
        return written

    def _merge(self, db, batch):
        pmu_id = batch.pmu_id
        lo, hi = int(batch.time[0]), int(batch.time[-1])
        new_data = np.stack([batch.columns[name] for name in COLUMNS])
        old = []
        for t_first, t_last, n, body in self._chunk_rows(db, pmu_id, lo, hi + 1):
            # A full chunk that ends before the new samples stays as it is;
            # a partial one is topped up so appends do not leave tiny chunks.
            if t_last < lo and n >= CHUNK_SIZE:
                continue
            old.append((t_first, decode_chunk(n, body)))

        if old:
            times = np.concatenate([chunk[0] for _, chunk in old] + [batch.time])
            data = np.concatenate([chunk[1] for _, chunk in old] + [new_data], axis=1)
            # An append (the common case: a live source, or the next block of
            # a file) is already in order; anything else is sorted, the stable
            # sort keeping old before new at equal times so that keeping the
            # last of each run of equal times lets the new sample win.
            if old[-1][1][0][-1] >= lo:
                order = np.argsort(times, kind="stable")
                times, data = times[order], data[:, order]
                keep = np.ones(len(times), dtype=bool)
                keep[:-1] = times[1:] != times[:-1]
                times, data = times[keep], data[:, keep]
            db.executemany(
                "DELETE FROM chunk WHERE pmu = ? AND t_first = ?",
                [(pmu_id, t_first) for t_first, _ in old],
            )
        else:
            times, data = batch.time, new_data

        db.executemany(
            "INSERT INTO chunk (pmu, t_first, t_last, n, body) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    pmu_id,
                    int(times[start]),
                    int(times[min(start + CHUNK_SIZE, len(times)) - 1]),
                    len(times[start : start + CHUNK_SIZE]),
                    encode_chunk(
                        times[start : start + CHUNK_SIZE],
                        data[:, start : start + CHUNK_SIZE],
                    ),
                )
                for start in range(0, len(times), CHUNK_SIZE)
            ],
        )
        db.execute(
            "INSERT INTO pmu (pmu, first_time, last_time) VALUES (?, ?, ?) "
            "ON CONFLICT (pmu) DO UPDATE SET "
            "first_time = MIN(first_time, excluded.first_time), "
            "last_time = MAX(last_time, excluded.last_time)",
            (pmu_id, int(times[0]), int(times[-1])),
        )

    def ping(self):
        with self._transaction() as db:
            db.execute("SELECT COUNT(*) FROM pmu").fetchone()
        return {}


def _samples(pmu_id, parts):
    if len(parts) == 1:
        times, data = parts[0]
    else:
        times = np.concatenate([part[0] for part in parts])
        data = np.concatenate([part[1] for part in parts], axis=1)
    return Samples.trusted(pmu_id, times, dict(zip(COLUMNS, data, strict=True)))

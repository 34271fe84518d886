"""The one interface between the service and whichever store holds PMU data.

Views, the alert worker, import, replay and the simulator call `get_store()`
and the methods of `Store`; none of them knows which store answers. Times
are integer nanoseconds since the Unix epoch (UTC); ranges are half-open,
`[start_ns, stop_ns)`.
"""

import abc
import atexit
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from measurements.power import FIELDS, OPTIONAL_FIELDS, WindowAccumulator
from pmuproject.errors import StoreError

# Every column a store keeps, in a fixed order. Values a PMU does not send
# (frequency, ROCOF on most devices) are NaN.
COLUMNS = FIELDS + OPTIONAL_FIELDS


@dataclass
class Samples:
    """Samples of one PMU at full resolution, ascending in time."""

    pmu_id: str
    time: np.ndarray
    columns: dict = field(default_factory=dict)

    def __post_init__(self):
        self.time = np.asarray(self.time, dtype=np.int64)
        n = len(self.time)
        filled = {}
        for name in COLUMNS:
            values = self.columns.get(name)
            if values is None:
                filled[name] = np.full(n, np.nan)
            else:
                filled[name] = np.asarray(values, dtype=np.float64)
                if filled[name].shape != (n,):
                    raise ValueError(f"column {name} does not match the times")
        self.columns = filled

    def __len__(self):
        return len(self.time)

    @classmethod
    def trusted(cls, pmu_id, time, columns):
        """Samples from arrays a store already holds in the right form.

        Skips the checks of the normal constructor: `time` is int64,
        `columns` has every name in COLUMNS as float64 of the same length.
        """
        samples = cls.__new__(cls)
        samples.pmu_id, samples.time, samples.columns = pmu_id, time, columns
        return samples

    @classmethod
    def empty(cls, pmu_id):
        return cls(pmu_id, np.empty(0, dtype=np.int64))

    @classmethod
    def concat(cls, pmu_id, parts):
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls.empty(pmu_id)
        if len(parts) == 1:
            return parts[0]
        return cls(
            pmu_id,
            np.concatenate([part.time for part in parts]),
            {
                name: np.concatenate([part.columns[name] for part in parts])
                for name in COLUMNS
            },
        )

    def take(self, selector):
        """The samples picked by a boolean mask, a slice or an index array."""
        return Samples.trusted(
            self.pmu_id,
            self.time[selector],
            {name: values[selector] for name, values in self.columns.items()},
        )

    def normalised(self):
        """Sorted by time with one sample per instant (the last one wins)."""
        if len(self.time) < 2 or (np.all(np.diff(self.time) > 0)):
            return self
        order = np.argsort(self.time, kind="stable")
        ordered = self.time[order]
        keep = np.ones(len(ordered), dtype=bool)
        keep[:-1] = ordered[1:] != ordered[:-1]
        return self.take(order[keep])


@dataclass
class Windows:
    """Window aggregates of one PMU: see `measurements.power.WINDOW_MEANS`."""

    pmu_id: str
    time: np.ndarray  # window end, ns
    count: np.ndarray
    means: dict

    def __len__(self):
        return len(self.time)


class Store(abc.ABC):
    """What every measurement store answers, with the same meaning."""

    #: Short name shown in /api/health and logs.
    kind = "abstract"

    @abc.abstractmethod
    def list_pmus(self, *, since_ns=None):
        """Sorted ids of PMUs with data (heard from at or after `since_ns`)."""

    @abc.abstractmethod
    def count_samples(self, pmu_id, *, start_ns, stop_ns):
        """How many samples `read_samples` would return."""

    @abc.abstractmethod
    def iter_samples(self, pmu_id, *, start_ns, stop_ns):
        """Yield `Samples` batches in time order; memory stays bounded."""

    def read_samples(self, pmu_id, *, start_ns, stop_ns):
        batches = self.iter_samples(pmu_id, start_ns=start_ns, stop_ns=stop_ns)
        return Samples.concat(pmu_id, list(batches))

    def read_windows(self, pmu_id, *, start_ns, stop_ns, window_ns):
        """Means of the per-sample power terms over epoch-aligned windows."""
        accumulator = WindowAccumulator(
            start_ns=start_ns, stop_ns=stop_ns, window_ns=window_ns
        )
        for batch in self.iter_samples(pmu_id, start_ns=start_ns, stop_ns=stop_ns):
            accumulator.add(batch.time, batch.columns)
        ends, counts, means = accumulator.result()
        return Windows(pmu_id, ends, counts, means)

    @abc.abstractmethod
    def last_time(self, pmu_id, *, start_ns, stop_ns):
        """Time of the PMU's latest sample in the range, or None."""

    @abc.abstractmethod
    def read_latest(self):
        """The latest sample of every PMU, as {pmu_id: one-row Samples}."""

    @abc.abstractmethod
    def read_recent(self, *, start_ns, stop_ns):
        """Every PMU's samples in the range, as {pmu_id: Samples}, at once."""

    @abc.abstractmethod
    def write(self, batches):
        """Store `Samples` batches all or nothing; a sample already stored at
        the same instant for the same PMU is replaced, never duplicated.
        Returns the number of samples written."""

    def write_stream(self, blocks):
        """Write an iterable of `Samples` lists as they arrive.

        Stores that can do so keep the whole stream in one transaction, so
        an exception raised by the iterable (a malformed block of a file)
        leaves nothing of it stored; others write block by block.
        Returns the number of samples written.
        """
        return sum(self.write(batches) for batches in blocks)

    @abc.abstractmethod
    def ping(self):
        """Ask the store the cheapest question it answers; raise StoreError if
        it cannot. Returns a dict of details for /api/health."""

    def health(self):
        """Whether the store answers, and how fast, for /api/health."""
        started = time.perf_counter()
        try:
            details = self.ping()
        except StoreError as exc:
            return {
                "ok": False,
                "store": self.kind,
                "error": exc.code,
                "detail": exc.detail,
            }
        return {
            "ok": True,
            "store": self.kind,
            **details,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    def close(self):  # noqa: B027 - most stores hold nothing to release
        """Release connections held by this process."""


_store = None
_store_lock = threading.Lock()


def get_store():
    """The process's store, chosen by the settings on first use."""
    global _store
    with _store_lock:
        if _store is None:
            _store = _open_store()
            # Closed before the interpreter tears modules down, when a
            # client's own finaliser would fail noisily.
            atexit.register(reset_store)
        return _store


def reset_store():
    """Forget the process's store (tests, and after settings change)."""
    global _store
    with _store_lock:
        if _store is not None:
            _store.close()
        _store = None


def _open_store():
    if settings.INFLUX_URL:
        from measurements.stores.influx import InfluxStore

        return InfluxStore.from_settings()
    from measurements.stores.embedded import EmbeddedStore

    return EmbeddedStore(settings.PMU_STORE_PATH)

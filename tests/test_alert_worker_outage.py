"""A failing store pauses the worker with one logged outage; it never dies."""

import asyncio
import logging
import os
import shutil
import time

import pytest
from asgiref.sync import sync_to_async

from alerts.worker import AlertWorker
from measurements.stores.embedded import EmbeddedStore
from pmuproject.errors import StoreUnreachable
from tests.alerts_support import Recorder, make_rule, phasor_samples, register_pmu

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 20.0


class WatchedStore:
    """Passes reads on to a real store, counting them; can play a server that
    stops answering."""

    def __init__(self, inner):
        self.inner = inner
        self.reads = 0
        self.unreachable = False

    def read_recent(self, **window):
        self.reads += 1
        if self.unreachable:
            time.sleep(0.05)
            raise StoreUnreachable("The store did not answer within 5 s.")
        return self.inner.read_recent(**window)


def break_embedded(store):
    """Put a folder where the store's file was: it cannot be opened."""
    store.close()
    path = store.path
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.rename(path + suffix, path + suffix + ".away")
    os.mkdir(path)


def repair_embedded(store):
    path = store.path
    shutil.rmtree(path)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix + ".away"):
            os.rename(path + suffix + ".away", path + suffix)
    store.close()


async def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "failure", ["embedded store unreadable", "server not answering"]
)
async def test_a_store_outage_is_logged_once_and_alerts_resume(
    failure, tmp_path, caplog
):
    await sync_to_async(register_pmu)("OUT-1")
    await sync_to_async(make_rule)(pmu="OUT-1")
    embedded = EmbeddedStore(tmp_path / "outage.sqlite3")
    embedded.write([phasor_samples("OUT-1", time.time_ns() - 10**9, 0.5)])
    store = WatchedStore(embedded)
    recorder = Recorder()
    worker = AlertWorker(
        store=store, publish=recorder, interval_s=0.05, stale_after_s=3600.0
    )
    if failure == "server not answering":
        store.unreachable = True
    else:
        break_embedded(embedded)
    caplog.set_level(logging.INFO, logger="alerts.worker")

    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_for(lambda: store.reads >= 4, "four failed reads")
        assert not task.done()
        if failure == "server not answering":
            store.unreachable = False
        else:
            repair_embedded(embedded)
        embedded.write(
            [phasor_samples("OUT-1", time.time_ns(), 0.5, sag={"c": (10, 20, 0.2)})]
        )
        await wait_for(lambda: len(recorder.alerts) >= 2, "the alert after the outage")
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)

    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "alerts.worker" and record.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    assert "unavailable" in warnings[0]
    assert any("resumed" in record.getMessage() for record in caplog.records)
    assert recorder.events() == [
        ("raised", "voltage", "c"),
        ("cleared", "voltage", "c"),
    ]

"""The alert worker on an InfluxDB that is down: one logged outage, no death."""

import asyncio
import logging
import socket
import time

import pytest
from asgiref.sync import sync_to_async

from alerts.worker import AlertWorker
from measurements.stores.influx import InfluxStore
from pmuproject.errors import StoreError
from tests.alerts_support import Recorder, make_rule, phasor_samples, register_pmu
from tests.influx_stub import InfluxStub, store_for

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]

WAIT_S = 20.0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class CountingStore(InfluxStore):
    """Counts the alert worker's reads that failed."""

    failed = 0

    def read_recent(self, **window):
        try:
            return super().read_recent(**window)
        except StoreError:
            self.failed += 1
            raise


async def test_nothing_listening_pauses_the_worker_until_influxdb_answers(caplog):
    await sync_to_async(register_pmu)("OUT-1")
    await sync_to_async(make_rule)(pmu="OUT-1")
    port = free_port()
    store = CountingStore(
        url=f"http://127.0.0.1:{port}", token="t", org="o", bucket="b", timeout_s=0.5
    )
    recorder = Recorder()
    worker = AlertWorker(
        store=store, publish=recorder, interval_s=0.05, stale_after_s=3600.0
    )
    caplog.set_level(logging.INFO, logger="alerts.worker")
    failures = []
    caplog.handler.addFilter(
        lambda record: (
            failures.append(record) or True
            if record.name == "measurements.stores.influx"
            else True
        )
    )
    stub = InfluxStub(token="t", org="o", bucket="b")

    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_for(lambda: store.failed >= 3, "three failed reads")
        assert not task.done()
        stub.start(port)
        store_for(stub).write(
            [phasor_samples("OUT-1", time.time_ns(), 0.5, sag={"c": (10, 20, 0.2)})]
        )
        await wait_for(lambda: len(recorder.alerts) >= 2, "alerts after the outage")
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT_S)
        stub.stop()

    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "alerts.worker" and record.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    assert "refused the connection" in warnings[0]
    assert any("resumed" in record.getMessage() for record in caplog.records)
    assert recorder.events() == [
        ("raised", "voltage", "c"),
        ("cleared", "voltage", "c"),
    ]

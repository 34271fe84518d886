"""The worker in real processes: inside daphne, and scaled out over Redis."""

import asyncio
import time

import pytest
from django.core.management import CommandError, call_command

from measurements.stores.embedded import EmbeddedStore
from tests.alerts_processes import (  # noqa: F401 - redis_db is a fixture
    REDIS_TEST_URL,
    collect,
    free_port,
    migrate,
    post_json,
    print_logs,
    redis_db,
    service_env,
    start,
    start_daphne,
    stop,
    wait_for_log,
)
from tests.alerts_support import phasor_samples
from tests.wsclient import WebSocketClient

RULE = {
    "name": "undervoltage",
    "pmu": None,
    "quantity": "voltage",
    "phase": "any",
    "low": 200.0,
    "unit": "absolute",
    "hysteresis": 5.0,
    "severity": "critical",
}
# Long enough for a duplicate from a second worker or process to show up.
SETTLE_S = 2.0
WAIT_S = 45.0


def write_sag(store_path, pmu_id):
    """Half a second of 230 V on three phases with phase b at 92 V for a while."""
    store = EmbeddedStore(store_path)
    store.write(
        [
            phasor_samples(
                pmu_id,
                time.time_ns() - 500_000_000,
                0.5,
                sag={"b": (20, 30, 0.4)},
            )
        ]
    )
    store.close()


def raised_and_cleared(messages):
    states = [alert["state"] for message in messages for alert in message]
    return states.count("cleared") >= 1


def summary(messages):
    return [
        (alert["state"], alert["pmu"], alert["phase"], alert["id"])
        for message in messages
        for alert in message
    ]


def test_the_worker_refuses_to_run_alone_without_redis(settings):
    settings.REDIS_URL = ""

    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("alert_worker")


def test_without_redis_the_worker_runs_inside_the_daphne_process(tmp_path):
    store_path = tmp_path / "store.sqlite3"
    env = service_env(tmp_path, store_path=store_path)
    migrate(env)
    port = free_port()
    log = tmp_path / "daphne.log"
    server = start_daphne(env, port, log)
    try:
        post_json(port, "/api/alert-rules", RULE)
        wait_for_log([log], "Alert worker state loaded")

        async def scenario():
            client = await WebSocketClient.connect(port)
            write_sag(store_path, "EMB-1")
            messages = await collect(
                client, until=raised_and_cleared, settle_s=SETTLE_S, timeout_s=WAIT_S
            )
            await client.close()
            return messages

        messages = asyncio.run(scenario())
    finally:
        stop(server)
        print_logs([log])

    states = summary(messages)
    assert [state[:3] for state in states] == [
        ("raised", "EMB-1", "b"),
        ("cleared", "EMB-1", "b"),
    ]
    assert states[0][3] == states[1][3]


@pytest.mark.redis
@pytest.mark.usefixtures("redis_db")
@pytest.mark.parametrize("workers", [1, 2], ids=["one worker", "two workers"])
def test_with_redis_clients_of_two_daphne_processes_get_each_alert_once(
    tmp_path, workers
):
    store_path = tmp_path / "store.sqlite3"
    env = service_env(tmp_path, store_path=store_path, REDIS_URL=REDIS_TEST_URL)
    migrate(env)
    processes = []
    try:
        ports = [free_port(), free_port()]
        for number, port in enumerate(ports):
            processes.append(start_daphne(env, port, tmp_path / f"daphne-{number}.log"))
        worker_logs = [tmp_path / f"worker-{n}.log" for n in range(workers)]
        for log in worker_logs:
            processes.append(start(["manage.py", "alert_worker"], env, log))
        post_json(ports[0], "/api/alert-rules", RULE)
        # A worker evaluates what arrives once it runs: wait until one is
        # active and any second one has asked for the lease too.
        wait_for_log(worker_logs, "Alert worker state loaded")
        wait_for_log(worker_logs, "Alert worker running", count=workers)

        async def scenario():
            clients = [await WebSocketClient.connect(port) for port in ports]
            write_sag(store_path, "RED-1")
            received = await asyncio.gather(
                *(
                    collect(
                        client,
                        until=raised_and_cleared,
                        settle_s=SETTLE_S,
                        timeout_s=WAIT_S,
                    )
                    for client in clients
                )
            )
            for client in clients:
                await client.close()
            return received

        received = asyncio.run(scenario())
    finally:
        for process in processes:
            stop(process)
        print_logs(sorted(tmp_path.glob("*.log")))

    first, second = (summary(messages) for messages in received)
    assert [state[:3] for state in first] == [
        ("raised", "RED-1", "b"),
        ("cleared", "RED-1", "b"),
    ]
    assert second == first
    assert first[0][3] == first[1][3]
    # One worker did the work; a second one waited on standby. (Which one
    # holds the lease after the processes are stopped does not matter.)
    logs = [log.read_text() for log in worker_logs]
    assert sum("Alert raised" in log for log in logs) == 1
    if workers == 2:
        assert sum("is on standby" in log for log in logs) == 1

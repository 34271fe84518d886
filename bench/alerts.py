"""Alert benchmarks: one worker tick at scale, and WebSocket fan-out.

Imported by bench/run.py after Django is set up there.
"""

import asyncio
import gc
import os
import statistics
import time

import numpy as np

SECOND = 1_000_000_000
# Frames per second each benchmark PMU sends (C37.118 rates are 10-120).
TICK_RATE = 60
# Chance that a PMU sags in a tick: about one sag (three phase alerts
# raised and cleared) somewhere in the fleet every tick.
SAG_CHANCE = 0.001
FANOUT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


async def _no_publish(alerts):
    return None


def tick_fraction(*, pmus, rules, repeats):
    """Median time of one worker tick over `pmus` PMUs, / the tick interval.

    Every PMU is registered with nominals and sends `TICK_RATE` frames per
    second; `rules` rules apply to every PMU (voltage low and high in per
    unit, current high, power factor low). Each measured tick evaluates one
    interval of new samples from every PMU; about one PMU a tick sags.
    """
    from alerts.models import AlertRule
    from alerts.worker import AlertWorker
    from measurements.gateway import Samples, get_store
    from measurements.models import Pmu
    from measurements.power import FIELDS

    Pmu.objects.bulk_create(
        [
            Pmu(
                id=f"TICK-{k}",
                name=f"Feeder {k}",
                nominal_voltage=230.0,
                nominal_current=100.0,
                nominal_frequency=60,
            )
            for k in range(pmus)
        ]
    )
    templates = [
        {
            "quantity": "voltage",
            "phase": "any",
            "unit": "pu",
            "low": 0.9,
            "hysteresis": 0.02,
            "severity": "critical",
        },
        {
            "quantity": "voltage",
            "phase": "any",
            "unit": "pu",
            "high": 1.1,
            "hysteresis": 0.02,
            "severity": "warning",
        },
        {
            "quantity": "current",
            "phase": "any",
            "unit": "absolute",
            "high": 150.0,
            "hysteresis": 5.0,
            "severity": "warning",
        },
        {
            "quantity": "power_factor",
            "phase": "any",
            "unit": "absolute",
            "low": 0.8,
            "hysteresis": 0.02,
            "severity": "info",
        },
    ]
    for index in range(rules):
        AlertRule.objects.create(name=f"bench {index}", **templates[index % 4])

    store = get_store()
    interval_s = 1.0
    now = [time.time_ns() // SECOND * SECOND]
    rng = np.random.default_rng(3)

    def feed(stop_ns):
        times = stop_ns - SECOND + np.arange(TICK_RATE) * (SECOND // TICK_RATE)
        batches = []
        for k in range(pmus):
            sag = 0.5 if rng.random() < SAG_CHANCE else 1.0
            columns = {}
            for offset, phase in zip((0.0, -120.0, 120.0), "abc", strict=True):
                depth = np.where(np.arange(TICK_RATE) < 10, sag, 1.0)
                columns[f"v_{phase}_mag"] = 230.0 * depth + rng.normal(
                    0, 0.3, TICK_RATE
                )
                columns[f"v_{phase}_ang"] = np.full(TICK_RATE, offset)
                columns[f"i_{phase}_mag"] = 80.0 + rng.normal(0, 0.3, TICK_RATE)
                columns[f"i_{phase}_ang"] = np.full(TICK_RATE, offset - 20.0)
            assert set(columns) == set(FIELDS)
            batches.append(Samples(f"TICK-{k}", times, columns))
        store.write(batches)

    worker = AlertWorker(
        store=store, interval_s=interval_s, publish=_no_publish, clock=lambda: now[0]
    )

    async def ticks():
        runs = []
        for index in range(repeats + 1):
            now[0] += SECOND
            feed(now[0])
            started = time.perf_counter()
            await worker.tick()
            if index:  # the first tick also loads the worker's state
                runs.append(time.perf_counter() - started)
        return runs

    try:
        runs = asyncio.run(ticks())
    finally:
        # Leave nothing for the in-process worker of the servers measured next.
        from alerts.models import Alert, WorkerCursor

        for model in (Alert, AlertRule, WorkerCursor, Pmu):
            model.objects.all().delete()
    tick_s = statistics.median(runs)
    return {
        "ratio": tick_s / interval_s,
        "tick_s": tick_s,
        "pmus": pmus,
        "rules": rules,
        "samples_per_tick": pmus * TICK_RATE,
    }


def fanout(*, clients, alerts):
    """99th percentile of publish-to-last-client time over `alerts` alerts.

    A daphne process with the Redis channel layer serves `clients` WebSocket
    clients on loopback; this process publishes each alert the way the
    standalone worker does and times until every client has it.
    """
    import redis

    from alerts import broadcast
    from tests.servers import free_port, start_daphne, stop
    from tests.wsclient import WebSocketClient

    try:
        redis.Redis.from_url(FANOUT_REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return {"p99_s": None, "error": f"no Redis at {FANOUT_REDIS_URL}: {exc}"}

    from django.conf import settings

    from pmuproject.settings import redis_channel_layer

    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(FANOUT_REDIS_URL)}
    from channels import layers

    layers.channel_layers.backends.clear()

    port = free_port()
    server = start_daphne(
        {**os.environ, "REDIS_URL": FANOUT_REDIS_URL},
        port,
        os.environ.get("BENCH_SERVER_LOG", os.devnull),
    )

    async def run():
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = await WebSocketClient.connect(port, origin="http://127.0.0.1")
                await probe.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        sockets = []
        for _ in range(clients):
            sockets.append(
                await WebSocketClient.connect(port, origin="http://127.0.0.1")
            )
        delays = []
        # The first alert is not timed: it also waits for the last clients'
        # connection work (joining the group, the active-alerts snapshot).
        for number in range(-1, alerts):
            alert = {
                "id": 10_000_001 + number,
                "pmu": "BENCH",
                "type": "voltage",
                "phase": "a",
                "severity": "critical",
                "state": "raised",
                "value": 0.5,
                "limit": 0.9,
                "time": "2026-01-01T00:00:00Z",
            }
            started = time.perf_counter()
            await broadcast.publish([alert])
            await asyncio.gather(
                *(_wait_for(client, alert["id"]) for client in sockets)
            )
            if number >= 0:
                delays.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        for client in sockets:
            await client.close()
        return delays

    # The clients share this process with the earlier measurements' objects:
    # a collection pass over them would be timed as fan-out.
    gc.collect()
    gc.disable()
    try:
        delays = asyncio.run(run())
    finally:
        gc.enable()
        stop(server)
    return {
        "p99_s": float(np.percentile(delays, 99)),
        "median_s": statistics.median(delays),
        "max_s": max(delays),
        "clients": clients,
        "alerts": alerts,
    }


async def _wait_for(client, alert_id):
    while True:
        message = await client.receive_json(timeout=30)
        if any(item.get("id") == alert_id for item in message):
            return

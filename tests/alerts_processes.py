"""Real processes for the alert tests: daphne, the worker, and a WebSocket client.

Everything listens on 127.0.0.1 ports picked at random, and every process is
stopped by the test that started it.
"""

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from tests.servers import (  # noqa: F401 - re-exported for the alert tests
    START_TIMEOUT_S,
    free_port,
    migrate,
    start,
    start_daphne,
    stop,
)

REPO = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def service_env(tmp_path, *, store_path, **extra):
    """The environment of a served process: its own database file, the test's
    store, writes open (the test creates rules over HTTP), no simulator."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "INFLUX_", "PMU_", "REDIS_", "ALERT_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pmuproject.settings",
            "DJANGO_ENV_FILE": "",
            "DJANGO_SECRET_KEY": "alert-process-tests",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "PMU_STORE_PATH": str(store_path),
            "PMU_CONFIG_INI": str(tmp_path / "config.ini"),
            "PMU_SIMULATE": "0",
            "PMU_ALLOW_ANONYMOUS_WRITES": "1",
            "ALERT_WORKER_INTERVAL": "0.2",
            "ALERT_STALE_AFTER": "3600",
        }
    )
    env.update(extra)
    return env


def wait_for_log(paths, text, *, count=1, timeout_s=START_TIMEOUT_S):
    """Wait until `count` of the log files contain `text`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sum(text in Path(path).read_text(errors="replace") for path in paths)
        if found >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in {count} of {[str(p) for p in paths]}")


def print_logs(paths):
    """Shown by pytest when the test fails: what the processes said."""
    for path in paths:
        print(f"--- {path}\n{Path(path).read_text(errors='replace')}")


def post_json(port, path, payload):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def collect(client, *, until, settle_s, timeout_s):
    """Messages until `until(messages)` holds, then any more for `settle_s`."""
    messages = []
    deadline = time.monotonic() + timeout_s
    while not until(messages):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; received {messages}")
        try:
            messages.append(await client.receive_json(left))
        except TimeoutError:
            raise AssertionError(f"timed out; received {messages}") from None
    settle = time.monotonic() + settle_s
    while (left := settle - time.monotonic()) > 0:
        try:
            messages.append(await client.receive_json(left))
        except TimeoutError:
            break
    return messages


@pytest.fixture
def redis_db():
    """The dedicated Redis test database, emptied before and after; only it."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"no Redis at {REDIS_TEST_URL}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()

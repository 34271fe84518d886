"""The ASGI server as the run command starts it: simulator, CORS, docs."""

import json
import os
import time
import urllib.request

import pytest

from tests.servers import free_port, migrate, start_daphne, stop


def get(url, headers=None, timeout=5):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.headers, response.read()


@pytest.fixture
def served(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "INFLUX_", "PMU_", "REDIS_", "CORS_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pmuproject.settings",
            "DJANGO_ENV_FILE": "",
            "DJANGO_SECRET_KEY": "serve-test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "PMU_STORE_PATH": str(tmp_path / "store.sqlite3"),
            "PMU_CONFIG_INI": str(tmp_path / "config.ini"),
        }
    )
    migrate(env)
    server = start_daphne(env, port := free_port(), tmp_path / "daphne.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


def wait_for_pmus(base, expected, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            _, _, payload = get(f"{base}/api/getpmus")
            pmus = json.loads(payload)["pmus"]
            if pmus == expected:
                return pmus
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the server never listed {expected}")


def test_default_start_serves_the_simulated_pmus_with_cors_and_docs(served):
    wait_for_pmus(served, ["SIM-1", "SIM-2", "SIM-3"])

    status, headers, payload = get(
        f"{served}/api/power_a?pmu=SIM-1&phasor=a&start=-10s",
        headers={"Origin": "http://localhost:5173"},
    )
    figures = json.loads(payload)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert 200 < figures["V"] < 260

    status, headers, _ = get(
        f"{served}/api/getpmus", headers={"Origin": "http://evil.example"}
    )
    assert headers["Access-Control-Allow-Origin"] is None

    status, _, page = get(f"{served}/docs")
    assert status == 200
    assert b"swagger" in page.lower()

    # A second sample a while later shows the simulator keeps writing.
    _, _, first = get(f"{served}/api/data?pmu=SIM-2&start=-2s")
    time.sleep(1.0)
    _, _, second = get(f"{served}/api/data?pmu=SIM-2&start=-2s")
    assert json.loads(first)[-1]["time"] < json.loads(second)[-1]["time"]

"""Start-up settings: required values stop start-up with their name."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_python(args, **overrides):
    """Run Python in the project with only `overrides` as settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "INFLUX_", "PMU_", "REDIS_", "CORS_", "ALERT_")
        )
    }
    env.update(
        {
            "DJANGO_ENV_FILE": "",
            "DJANGO_SETTINGS_MODULE": "pmuproject.settings",
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def start(env_overrides, tmp_path):
    """Import the real settings in a clean process; return (rc, output)."""
    result = run_python(
        ["-c", "import django; django.setup(); print('started')"], **env_overrides
    )
    return result.returncode, result.stdout + result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    rc, output = start({"DJANGO_DEBUG": "0"}, tmp_path)

    assert rc != 0
    assert "DJANGO_SECRET_KEY is required" in output


def test_debug_runs_without_a_secret_key(tmp_path):
    rc, output = start({"DJANGO_DEBUG": "1"}, tmp_path)

    assert rc == 0, output


@pytest.mark.parametrize("missing", ["INFLUX_TOKEN", "INFLUX_ORG", "INFLUX_BUCKET"])
def test_influx_needs_token_org_and_bucket(tmp_path, missing):
    influx = {
        "INFLUX_URL": "http://127.0.0.1:9",
        "INFLUX_TOKEN": "t",
        "INFLUX_ORG": "o",
        "INFLUX_BUCKET": "b",
    }
    del influx[missing]

    rc, output = start({"DJANGO_DEBUG": "1", **influx}, tmp_path)

    assert rc != 0
    assert f"{missing} is required" in output


@pytest.mark.parametrize(
    ("name", "value"), [("DJANGO_DEBUG", "maybe"), ("PMU_MAX_ROWS", "lots")]
)
def test_malformed_values_are_named(tmp_path, name, value):
    rc, output = start({"DJANGO_DEBUG": "1", name: value}, tmp_path)

    assert rc != 0
    assert name in output


def test_env_example_lists_every_setting_the_code_reads():
    example = (REPO / ".env.example").read_text()
    listed = {
        line.lstrip("# ").split("=")[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=")[0].isupper()
    }
    read = set()
    for path in REPO.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        read.update(re.findall(r'env_[a-z]+\(\s*"([A-Z0-9_]+)"', path.read_text()))

    assert "PMU_MAX_ROWS" in read
    assert read <= listed, read - listed


def test_blank_values_in_a_copied_env_example_keep_the_defaults(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text((REPO / ".env.example").read_text())
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PMU_SIMULATE, s.ALLOWED_HOSTS, s.PMU_MAX_ROWS)"
    )
    result = run_python(["-c", code], DJANGO_ENV_FILE=str(env_file), DJANGO_DEBUG="1")

    assert result.stdout.split() == [
        "True",
        "['localhost',",
        "'127.0.0.1',",
        "'[::1]']",
        "200000",
    ], result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DJANGO_LOG_LEVEL": "LOUD"}, "DJANGO_LOG_LEVEL"),
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL"),
        ({"DJANGO_ENV_FILE": "/nonexistent/.env"}, "DJANGO_ENV_FILE"),
        ({"ALERT_STALE_AFTER": "nan"}, "ALERT_STALE_AFTER"),
        ({"ALERT_WORKER_INTERVAL": "inf"}, "ALERT_WORKER_INTERVAL"),
        ({"REDIS_URL": "notaurl"}, "REDIS_URL"),
        ({"PMU_SIMULATE_RATE": "1e9"}, "whole number"),
        ({"PMU_SIMULATE_RATE": "100000"}, "PMU_SIMULATE_RATE"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/notanumber"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/l2"}, "REDIS_URL"),
        ({"DATABASE_URL": "mysql://u:p@127.0.0.1/x"}, "DATABASE_URL"),
    ],
)
def test_more_malformed_settings_are_named(tmp_path, overrides, named):
    rc, output = start({"DJANGO_DEBUG": "1", **overrides}, tmp_path)

    assert rc != 0
    assert named in output


def test_manage_py_reports_a_missing_setting_in_one_line():
    result = run_python(["manage.py", "check"])

    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: The setting DJANGO_SECRET_KEY is required when "
        "DJANGO_DEBUG is off."
    )


@pytest.mark.parametrize(
    ("overrides", "simulate"),
    [
        ({}, "True"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/15"}, "False"),
        (
            {
                "INFLUX_URL": "http://127.0.0.1:9",
                "INFLUX_TOKEN": "t",
                "INFLUX_ORG": "o",
                "INFLUX_BUCKET": "b",
            },
            "False",
        ),
        ({"REDIS_URL": "redis://127.0.0.1:6379/15", "PMU_SIMULATE": "1"}, "True"),
    ],
)
def test_the_simulator_runs_by_default_only_in_the_embedded_demo(overrides, simulate):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PMU_SIMULATE)"
    )

    result = run_python(["-c", code], DJANGO_DEBUG="1", **overrides)

    assert result.stdout.strip() == simulate, result.stderr

"""50 changes from several processes at once: one valid file holding a value
that was sent, 50 audit rows in one unbroken chain, and no reader ever sees a
partial file."""

import configparser
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.protocol_support import HAND_WRITTEN

REPO = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, "-m", "tests.protocol_worker"]
PROCESSES = 5
CHANGES_EACH = 10
CHILD_LIMIT_S = 120


@pytest.fixture
def shared(tmp_path):
    """A config.ini and a SQLite database file that child processes share."""
    config = tmp_path / "config.ini"
    config.write_text(HAND_WRITTEN)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.protocol_child_settings",
        "PMU_TEST_CHILD_DB": str(tmp_path / "children.sqlite3"),
        "PMU_TEST_CHILD_CONFIG_INI": str(config),
        "PYTHONPATH": str(REPO),
    }
    return config, env


def test_fifty_changes_from_several_processes_leave_one_valid_file_and_50_rows(
    shared, tmp_path
):
    config, env = shared
    tokens = _run(env, "setup", str(PROCESSES))
    go, stop = tmp_path / "go", tmp_path / "stop"
    sent = {
        name: [
            ("tcp", "UDP", "udp", "Tcp")[(number + i) % 4] for i in range(CHANGES_EACH)
        ]
        for number, name in enumerate(sorted(tokens))
    }

    reader = _start(env, "read", str(config), str(stop))
    writers = [
        _start(env, "change", str(go), tokens[name], *values)
        for name, values in sent.items()
    ]
    go.touch()
    answers = [_finish(writer) for writer in writers]
    stop.touch()
    reads = _finish(reader)

    assert answers == [
        [[200, value.lower()] for value in values] for values in sent.values()
    ]
    final = _configparser_value(config)
    assert final in {value.lower() for values in sent.values() for value in values}
    assert config.read_text() == HAND_WRITTEN.replace(
        "protocol = udp", f"protocol = {final}"
    )
    assert reads["bad_count"] == 0, reads["bad"]
    assert reads["reads"] > 0

    rows = _audit_rows(env["PMU_TEST_CHILD_DB"])
    assert len(rows) == PROCESSES * CHANGES_EACH
    # Changes were made one at a time: each starts from where the last ended.
    assert [row[0] for row in rows] == ["udp"] + [row[1] for row in rows[:-1]]
    assert rows[-1][1] == final
    for name, values in sent.items():
        mine = [row[1] for row in rows if row[2] == name]
        assert mine == [value.lower() for value in values]
    assert {row[3] for row in rows} == {"api"}
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def _configparser_value(path):
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    return parser.get("transport", "protocol")


def _audit_rows(database):
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT from_protocol, to_protocol, changed_by_name, via "
            "FROM protocol_protocolchange ORDER BY id"
        ).fetchall()


def _start(env, *args):
    return subprocess.Popen(
        [*WORKER, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process):
    try:
        out, err = process.communicate(timeout=CHILD_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def _run(env, *args):
    return _finish(_start(env, *args))

"""A config.ini that cannot be written gets a clear JSON error and stays as it
was; nothing is recorded."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError

from protocol import services
from protocol.models import ProtocolChange
from tests.protocol_support import (
    HAND_WRITTEN,
    audit_rows,
    read_with_configparser,
    snapshot,
    temp_files,
)

pytest_plugins = ["tests.protocol_fixtures"]

REPO = Path(__file__).resolve().parent.parent
CHILD_LIMIT_S = 60
WORKER = [sys.executable, "-m", "tests.protocol_worker"]


@pytest.fixture
def written(protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)
    return snapshot(protocol_ini)


@pytest.mark.parametrize(
    ("target", "error", "reason"),
    [
        (
            "replace",
            PermissionError(errno.EACCES, "Permission denied"),
            "Permission denied",
        ),
        (
            "fsync",
            OSError(errno.ENOSPC, "No space left on device"),
            "No space left on device",
        ),
        (
            "mkstemp",
            OSError(errno.EROFS, "Read-only file system"),
            "Read-only file system",
        ),
    ],
)
def test_failed_write_answers_503_and_keeps_the_old_file(
    protocol_api, protocol_ini, written, monkeypatch, target, error, reason
):
    def fail(*args, **kwargs):
        raise error

    owner = services.config_ini.tempfile if target == "mkstemp" else os
    monkeypatch.setattr(owner, target, fail)

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json() == {
        "error": "config_write_failed",
        "detail": f"config.ini could not be written ({reason}); it is unchanged "
        "and the protocol was not changed to tcp.",
    }
    assert snapshot(protocol_ini) == written
    assert temp_files(protocol_ini.parent) == []
    assert audit_rows() == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="permission bits do not stop root",
)
def test_read_only_folder_answers_503_and_keeps_the_old_file(
    protocol_api, protocol_ini, written
):
    # The lock file must exist beforehand, as it does after any first change.
    (protocol_ini.parent / "config.ini.lock").touch()
    os.chmod(protocol_ini.parent, 0o555)
    try:
        response = protocol_api.post("/api/changeprotocol?protocol=tcp")
    finally:
        os.chmod(protocol_ini.parent, 0o755)

    assert response.status_code == 503
    assert response.json()["error"] == "config_write_failed"
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX resource limits")
def test_full_disk_midway_leaves_the_old_file_whole(protocol_ini, written):
    result = _child("write-beyond", str(protocol_ini), "64", "tcp")

    assert result == {"errno": errno.EFBIG}
    assert snapshot(protocol_ini) == written
    assert temp_files(protocol_ini.parent) == []


@pytest.mark.skipif(sys.platform == "win32", reason="os._exit mid-write")
def test_crash_midway_leaves_the_old_file_and_the_next_change_works(
    protocol_api, protocol_ini, written
):
    finished = _run_child("crash", str(protocol_ini), "tcp")

    assert finished.returncode == 3
    assert snapshot(protocol_ini) == written
    assert len(temp_files(protocol_ini.parent)) == 1

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert read_with_configparser(protocol_ini) == "tcp"
    assert temp_files(protocol_ini.parent) == []


def test_change_that_cannot_be_recorded_is_not_made(
    protocol_api, protocol_ini, written, monkeypatch
):
    def refuse(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(ProtocolChange.objects, "create", refuse)

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 503
    assert response.json() == {
        "error": "audit_unavailable",
        "detail": "The change could not be recorded, so it was not made; "
        "config.ini is as it was.",
    }
    assert snapshot(protocol_ini) == written


def test_lock_held_elsewhere_answers_503_busy(
    protocol_api, protocol_ini, written, monkeypatch
):
    monkeypatch.setattr(services, "LOCK_TIMEOUT_S", 0.2)
    holder = subprocess.Popen(
        [*WORKER, "hold-lock", f"{protocol_ini}.lock", str(CHILD_LIMIT_S)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(holder.stdout.readline()) == "held"
        response = protocol_api.post("/api/changeprotocol?protocol=tcp")
    finally:
        holder.kill()
        holder.wait(timeout=CHILD_LIMIT_S)
        holder.stdout.close()

    assert response.status_code == 503
    assert response.json() == {
        "error": "config_busy",
        "detail": "config.ini is being changed by another process; try again. "
        "The protocol was not changed to tcp.",
    }
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


def _run_child(*args):
    return subprocess.run(
        [*WORKER, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CHILD_LIMIT_S,
        check=False,
    )


def _child(*args):
    finished = _run_child(*args)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)

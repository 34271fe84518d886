"""Processes of the service for tests and the benchmark: daphne on loopback.

Each process writes its output to a log file the caller names, and is
stopped with `stop`.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def migrate(env):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )


def start(args, env, log_path):
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, *args], cwd=REPO, env=env, stdout=log, stderr=log
    )
    process.log = log
    return process


def start_daphne(env, port, log_path):
    process = start(
        [
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "pmuproject.asgi:application",
        ],
        env,
        log_path,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daphne exited: {Path(log_path).read_text()}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/alert-rules", timeout=2
            ):
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise AssertionError(f"daphne never answered: {Path(log_path).read_text()}")


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    process.log.close()

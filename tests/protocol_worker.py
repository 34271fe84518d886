"""Child processes for the protocol tests: `python -m tests.protocol_worker`.

Each mode prints one JSON line on stdout for the test that started it.
"""

import configparser
import json
import os
import sys
import time

WAIT_LIMIT_S = 60.0


def setup(count):
    """Migrate the shared database and make `count` users with tokens."""
    _django()
    from django.contrib.auth.models import Permission, User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    permission = Permission.objects.get(
        content_type__app_label="protocol", codename="change_protocolsetting"
    )
    tokens = {}
    for number in range(int(count)):
        user = User.objects.create_user(f"worker-{number}")
        user.user_permissions.add(permission)
        tokens[user.username] = Token.objects.create(user=user).key
    return tokens


def change(go_file, token, *values):
    """POST each value through the whole Django stack, once `go_file` exists."""
    _django()
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    _wait_for(go_file)
    answers = []
    for value in values:
        response = client.post(f"/api/changeprotocol?protocol={value}")
        answers.append([response.status_code, response.json().get("protocol")])
    return answers


def read(path, stop_file):
    """Read config.ini over and over until `stop_file` exists."""
    reads, bad = 0, []
    while not os.path.exists(stop_file):
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
            parser = configparser.ConfigParser()
            parser.read_string(text)
            value = parser.get("transport", "protocol")
            if value not in ("udp", "tcp") or "[pmus]" not in text:
                bad.append(text)
        except (OSError, configparser.Error) as exc:
            bad.append(repr(exc))
        reads += 1
    return {"reads": reads, "bad": bad[:5], "bad_count": len(bad)}


def hold_lock(lock_path, seconds):
    """Hold config.ini's lock, as a slow writer in another process would."""
    import filelock

    with filelock.FileLock(lock_path):
        print(json.dumps("held"), flush=True)
        time.sleep(float(seconds))
    return "released"


def crash(path, protocol):
    """Die, like a killed process, after the new bytes are written but
    before they replace the file."""
    from protocol import config_ini

    with open(path, encoding="utf-8") as file:
        text = config_ini.text_with_protocol(file.read(), protocol)

    def die(fd):
        os._exit(3)

    os.fsync = die
    config_ini.file_write_atomic(path, text.encode())
    return "not reached"


def write_beyond(path, limit, protocol):
    """Write config.ini when the process may not write more than `limit`
    bytes to any file, as on a full disk."""
    import resource
    import signal

    from protocol import config_ini

    with open(path, encoding="utf-8") as file:
        text = config_ini.text_with_protocol(file.read(), protocol)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    try:
        config_ini.file_write_atomic(path, text.encode())
    except OSError as exc:
        return {"errno": exc.errno}
    return {"errno": None}


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.protocol_child_settings")
    import django

    django.setup()


def _wait_for(path):
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear")
        time.sleep(0.01)


MODES = {
    "setup": setup,
    "change": change,
    "read": read,
    "hold-lock": hold_lock,
    "crash": crash,
    "write-beyond": write_beyond,
}

if __name__ == "__main__":
    result = MODES[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result), flush=True)

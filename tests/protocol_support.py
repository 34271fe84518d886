"""Helpers for the protocol tests: users, clients, reading config.ini."""

import configparser
import os

from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from protocol.models import ProtocolChange

ACCEPTED = ["udp", "tcp"]

HAND_WRITTEN = """\
# PMU collector settings, kept by the grid operations team.
; Do not remove the [pmus] section: the collector needs it.

[pmus]
# Station ids, comma separated.
ids = BUS1, BUS2 ; inline text stays part of the value
rate = 30

[transport]
# udp for the data stream, tcp when the firewall blocks udp.
protocol = udp
port = 4712

[logging]
level = INFO
"""


def user_with_perms(username, *codenames, is_staff=False):
    user = User.objects.create_user(username, password="pw-not-secret-1")
    user.is_staff = is_staff
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="protocol").filter(
            codename__in=codenames
        )
    )
    assert user.user_permissions.count() == len(codenames)
    return user


def token_client(user):
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def read_with_configparser(path):
    """The protocol as a collector using a default configparser reads it."""
    parser = configparser.ConfigParser()
    with open(path, encoding="utf-8") as file:
        parser.read_file(file)
    return parser.get("transport", "protocol")


def snapshot(path):
    """The file's bytes and inode: a replaced file gets a new inode."""
    return path.read_bytes(), os.stat(path).st_ino


def without_time(body):
    """`body` less `changed_at`, which must be a timestamp when present."""
    body = dict(body)
    changed_at = body.pop("changed_at")
    assert changed_at is None or changed_at.endswith("Z")
    return body


def audit_rows():
    return list(
        ProtocolChange.objects.order_by("id").values_list(
            "from_protocol", "to_protocol", "changed_by_name", "via"
        )
    )


def temp_files(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))

"""Changing the protocol is a control action: who may, and when writes open."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.protocol_support import (
    HAND_WRITTEN,
    audit_rows,
    read_with_configparser,
    snapshot,
    token_client,
    user_with_perms,
)

pytest_plugins = ["tests.protocol_fixtures"]

# Django accepts an unmasked 32-character secret as the header value.
CSRF_TOKEN = "a" * 32
DENIED = {
    "error": "permission_denied",
    "detail": "This action needs a signed-in user with permission to do it.",
}


@pytest.fixture
def written(protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)
    return snapshot(protocol_ini)


def test_anonymous_change_is_refused_with_debug_off(
    api, db, protocol_writes_closed, protocol_ini, written
):
    response = api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code in (401, 403)
    assert response.json() == {
        "error": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


def test_bad_token_is_refused(api, db, protocol_writes_closed, protocol_ini, written):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api.post("/api/changeprotocol?protocol=tcp")

    # 403 rather than 401 while session authentication comes first in the
    # settings, as DRF then has no WWW-Authenticate challenge to send.
    assert response.status_code in (401, 403)
    assert response.json() == {
        "error": "authentication_failed",
        "detail": "Invalid token.",
    }
    assert snapshot(protocol_ini) == written


@pytest.mark.parametrize(
    "codenames",
    [(), ("view_protocolsetting",), ("view_protocolchange",)],
)
def test_user_without_the_change_permission_is_refused(
    db, protocol_writes_closed, protocol_ini, written, codenames
):
    client = token_client(user_with_perms("viewer", *codenames, is_staff=True))

    response = client.post("/api/changeprotocol?protocol=tcp")

    assert (response.status_code, response.json()) == (403, DENIED)
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


def test_token_user_with_the_permission_may_change(protocol_api, protocol_ini, written):
    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert read_with_configparser(protocol_ini) == "tcp"
    assert audit_rows() == [("udp", "tcp", "operator", "api")]


def test_session_user_with_the_permission_may_change_with_a_csrf_token(
    protocol_operator, protocol_writes_closed, protocol_ini, written
):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(protocol_operator)
    client.cookies["csrftoken"] = CSRF_TOKEN

    without_token = client.post("/api/changeprotocol?protocol=tcp")
    with_token = client.post(
        "/api/changeprotocol?protocol=tcp", HTTP_X_CSRFTOKEN=CSRF_TOKEN
    )

    assert without_token.status_code == 403
    assert without_token.json()["error"] == "permission_denied"
    assert with_token.status_code == 200
    assert audit_rows() == [("udp", "tcp", "operator", "api")]


def test_superuser_may_change(db, protocol_writes_closed, protocol_ini, written):
    admin = User.objects.create_superuser("root", password="pw-not-secret-1")

    response = token_client(admin).post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert audit_rows() == [("udp", "tcp", "root", "api")]


def test_demo_switch_opens_changes_to_anonymous(
    api, db, settings, protocol_ini, written
):
    settings.DEBUG = False
    settings.PMU_ALLOW_ANONYMOUS_WRITES = True

    response = api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert response.json()["changed_by"] is None
    assert read_with_configparser(protocol_ini) == "tcp"
    assert audit_rows() == [("udp", "tcp", "", "api")]


def test_debug_opens_changes_to_anonymous(api, db, settings, protocol_ini, written):
    settings.DEBUG = True
    settings.PMU_ALLOW_ANONYMOUS_WRITES = False

    response = api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert read_with_configparser(protocol_ini) == "tcp"


def test_reading_the_protocol_is_open_to_anonymous(
    api, db, protocol_writes_closed, protocol_ini, written
):
    response = api.get("/api/protocol")

    assert response.status_code == 200
    assert response.json()["protocol"] == "udp"

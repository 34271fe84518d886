"""POST /api/changeprotocol and GET /api/protocol, end to end."""

import pytest

from tests.protocol_support import (
    audit_rows,
    read_with_configparser,
    without_time,
)

pytest_plugins = ["tests.protocol_fixtures"]


def test_change_by_query_is_what_get_and_configparser_then_read(
    protocol_api, protocol_ini
):
    changed = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert changed.status_code == 200
    assert without_time(changed.json()) == {
        "message": "Protocol changed to tcp",
        "protocol": "tcp",
        "previous": None,
        "changed_by": "operator",
        "via": "api",
    }
    current = protocol_api.get("/api/protocol")
    assert current.status_code == 200
    assert without_time(current.json()) == {
        "protocol": "tcp",
        "changed_by": "operator",
        "via": "api",
        "problem": None,
    }
    assert current.json()["changed_at"] == changed.json()["changed_at"]
    assert read_with_configparser(protocol_ini) == "tcp"
    assert protocol_ini.read_text() == "[transport]\nprotocol = tcp\n"


def test_change_by_json_body(protocol_api, protocol_ini):
    response = protocol_api.post(
        "/api/changeprotocol", {"protocol": "tcp"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["message"] == "Protocol changed to tcp"
    assert read_with_configparser(protocol_ini) == "tcp"


def test_change_by_form_body(protocol_api, protocol_ini):
    response = protocol_api.post(
        "/api/changeprotocol",
        "protocol=udp",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert read_with_configparser(protocol_ini) == "udp"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("UDP", "udp"), ("Tcp", "tcp"), ("tCP", "tcp"), (" udp ", "udp")],
)
def test_value_is_case_insensitive_and_answered_in_lower_case(
    protocol_api, protocol_ini, sent, stored
):
    response = protocol_api.post(
        "/api/changeprotocol", {"protocol": sent}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["message"] == f"Protocol changed to {stored}"
    assert response.json()["protocol"] == stored
    assert read_with_configparser(protocol_ini) == stored


def test_previous_value_is_answered(protocol_api, protocol_ini):
    protocol_api.post("/api/changeprotocol?protocol=tcp")

    response = protocol_api.post("/api/changeprotocol?protocol=udp")

    assert response.json()["previous"] == "tcp"
    assert response.json()["protocol"] == "udp"


def test_query_and_body_that_agree_are_accepted(protocol_api, protocol_ini):
    response = protocol_api.post(
        "/api/changeprotocol?protocol=TCP", {"protocol": "tcp"}, format="json"
    )

    assert response.status_code == 200
    assert read_with_configparser(protocol_ini) == "tcp"


def test_get_without_a_file_answers_the_default_and_creates_nothing(
    api, db, protocol_ini
):
    response = api.get("/api/protocol")

    assert response.status_code == 200
    assert response.json() == {
        "protocol": "udp",
        "changed_at": None,
        "changed_by": None,
        "via": "default",
        "problem": None,
    }
    assert not protocol_ini.exists()


def test_get_sees_a_hand_edit_after_an_api_change(protocol_api, protocol_ini):
    protocol_api.post("/api/changeprotocol?protocol=tcp")
    protocol_ini.write_text("[transport]\nprotocol = udp\n")

    response = protocol_api.get("/api/protocol")

    assert without_time(response.json()) == {
        "protocol": "udp",
        "changed_by": None,
        "via": "file",
        "problem": None,
    }
    assert response.json()["changed_at"] is not None


def test_get_names_the_problem_of_an_unusable_value(api, db, protocol_ini):
    protocol_ini.write_text("[transport]\nprotocol = ftp\n")

    response = api.get("/api/protocol")

    assert response.status_code == 200
    assert without_time(response.json()) == {
        "protocol": None,
        "changed_by": None,
        "via": "file",
        "problem": "config.ini names the protocol 'ftp', which is neither udp "
        "nor tcp; the collector cannot use it.",
    }


def test_get_names_the_problem_of_a_file_that_is_not_ini(api, db, protocol_ini):
    protocol_ini.write_text("[transport]\nprotocol = tcp\n[transport]\n")

    response = api.get("/api/protocol")

    assert response.status_code == 200
    assert response.json() == {
        "protocol": None,
        "changed_at": None,
        "changed_by": None,
        "via": "file",
        "problem": "config.ini is not a valid INI file: line 3 repeats the "
        "section [transport].",
    }


def test_an_unusable_value_can_be_replaced_through_the_api(protocol_api, protocol_ini):
    protocol_ini.write_text("[transport]\nprotocol = ftp\n")

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert response.json()["previous"] == "ftp"
    assert protocol_ini.read_text() == "[transport]\nprotocol = tcp\n"
    assert audit_rows() == [("ftp", "tcp", "operator", "api")]

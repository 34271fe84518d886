"""Values other than udp and tcp get a 400 in the one error shape; the file
stays as it was."""

from urllib.parse import urlencode

import pytest

from tests.protocol_support import ACCEPTED, HAND_WRITTEN, audit_rows, snapshot

pytest_plugins = ["tests.protocol_fixtures"]

MUST = "`protocol` must be udp or tcp, in any case; got"


@pytest.fixture
def written(protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)
    return snapshot(protocol_ini)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("ftp", f"{MUST} 'ftp'."),
        ("", "`protocol` must be udp or tcp, in any case; got an empty value."),
        ("   ", "`protocol` must be udp or tcp, in any case; got an empty value."),
        ("x" * 10_000, f"{MUST} a value of 10000 characters."),
        ("udp" * 3_334, f"{MUST} a value of 10002 characters."),
        ("ｕｄｐ", f"{MUST} a value with characters other than printable ASCII."),
        ("tсp", f"{MUST} a value with characters other than printable ASCII."),
        ("udp\x00", f"{MUST} a value with characters other than printable ASCII."),
        ("udp\ntcp", f"{MUST} a value with characters other than printable ASCII."),
        ("udp;tcp", f"{MUST} 'udp;tcp'."),
        ("udp tcp", f"{MUST} 'udp tcp'."),
        ("'udp'", f"{MUST} \"'udp'\"."),
        ("UDP6", f"{MUST} 'UDP6'."),
    ],
)
def test_invalid_value_in_query_or_body_is_refused(
    protocol_api, protocol_ini, written, value, detail
):
    expected = {
        "error": "invalid_parameter",
        "parameter": "protocol",
        "detail": detail,
        "accepted": ACCEPTED,
    }

    by_body = protocol_api.post(
        "/api/changeprotocol", {"protocol": value}, format="json"
    )
    by_query = protocol_api.post(
        f"/api/changeprotocol?{urlencode({'protocol': value})}"
    )

    assert (by_body.status_code, by_body.json()) == (400, expected)
    assert (by_query.status_code, by_query.json()) == (400, expected)
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "`protocol` is required: udp or tcp."),
        ({"protocol": None}, "`protocol` is required: udp or tcp."),
        ({"protocol": 17}, "`protocol` must be a string: udp or tcp."),
        ({"protocol": ["udp"]}, "`protocol` must be a string: udp or tcp."),
        ({"protocol": {"value": "udp"}}, "`protocol` must be a string: udp or tcp."),
        ({"protocol": True}, "`protocol` must be a string: udp or tcp."),
        (
            ["udp"],
            'The body must be a JSON object such as {"protocol": "tcp"}.',
        ),
        (
            "udp",
            'The body must be a JSON object such as {"protocol": "tcp"}.',
        ),
    ],
)
def test_invalid_json_body_is_refused(
    protocol_api, protocol_ini, written, body, detail
):
    response = protocol_api.post("/api/changeprotocol", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_parameter",
        "parameter": "protocol",
        "detail": detail,
        "accepted": ACCEPTED,
    }
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


def test_missing_protocol_is_refused(protocol_api, protocol_ini, written):
    response = protocol_api.post("/api/changeprotocol")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_parameter",
        "parameter": "protocol",
        "detail": "`protocol` is required: udp or tcp.",
        "accepted": ACCEPTED,
    }
    assert snapshot(protocol_ini) == written


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("protocol=udp&protocol=tcp", None),
        ("protocol=udp", {"protocol": "tcp"}),
    ],
)
def test_values_that_disagree_are_refused(
    protocol_api, protocol_ini, written, query, body
):
    response = protocol_api.post(f"/api/changeprotocol?{query}", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_parameter",
        "parameter": "protocol",
        "detail": "`protocol` was given more than once with different values.",
        "accepted": ACCEPTED,
    }
    assert snapshot(protocol_ini) == written
    assert audit_rows() == []


def test_malformed_json_is_refused_and_the_file_kept(
    protocol_api, protocol_ini, written
):
    response = protocol_api.post(
        "/api/changeprotocol", '{"protocol": "tcp"', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert snapshot(protocol_ini) == written


def test_invalid_value_creates_no_file(protocol_api, protocol_ini):
    response = protocol_api.post("/api/changeprotocol?protocol=ftp")

    assert response.status_code == 400
    assert not protocol_ini.exists()

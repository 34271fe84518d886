"""/api/alerts (filters, pages) and POST /api/alerts/<id>/acknowledge."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission, User

from alerts.models import Alert

pytestmark = pytest.mark.django_db


def moment(minute):
    return datetime(2026, 1, 1, 12, minute, tzinfo=UTC)


def alert(pmu, minute, *, cleared=None, severity="warning", phase="a"):
    return Alert.objects.create(
        key=f"rule|1|voltage|pu|{pmu}|{phase}|{minute}",
        pmu=pmu,
        quantity="voltage",
        phase=phase,
        severity=severity,
        unit="pu",
        value=0.85,
        limit=0.9,
        worst=0.4,
        raised_at=moment(minute),
        cleared_at=None if cleared is None else moment(cleared),
        cleared_value=None if cleared is None else 0.97,
    )


@pytest.fixture
def history():
    return {
        "old": alert("B90", 0, cleared=5),
        "fg": alert("FG", 10, cleared=12, severity="critical"),
        "active": alert("B90", 20),
    }


def ids(response):
    return [item["id"] for item in response.json()["results"]]


def test_the_history_lists_newest_first_with_the_whole_alert_object(api, history):
    response = api.get("/api/alerts")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert ids(response) == [history[k].id for k in ("active", "fg", "old")]
    assert body["results"][2] == {
        "id": history["old"].id,
        "pmu": "B90",
        "type": "voltage",
        "phase": "a",
        "severity": "warning",
        "state": "cleared",
        "value": 0.97,
        "limit": 0.9,
        "worst": 0.4,
        "unit": "pu",
        "time": "2026-01-01T12:05:00.000000Z",
        "rule": None,
        "rule_name": "",
        "raised_at": "2026-01-01T12:00:00.000000Z",
        "cleared_at": "2026-01-01T12:05:00.000000Z",
        "acknowledged_by": None,
        "acknowledged_at": None,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active=true", ["active"]),
        ("active=false", ["fg", "old"]),
        ("pmu=B90", ["active", "old"]),
        ("severity=critical", ["fg"]),
        ("start=2026-01-01T12:11:00Z", ["active", "fg"]),
        ("stop=2026-01-01T12:10:00Z", ["old"]),
        ("start=2026-01-01T12:06:00Z&stop=2026-01-01T12:15:00Z", ["fg"]),
    ],
)
def test_the_history_filters(api, history, query, expected):
    assert ids(api.get(f"/api/alerts?{query}")) == [history[k].id for k in expected]


def test_the_history_is_paginated(api, history):
    first = api.get("/api/alerts?limit=2").json()
    second = api.get("/api/alerts?limit=2&offset=2").json()

    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["next"].endswith("/api/alerts?limit=2&offset=2")
    assert [item["id"] for item in second["results"]] == [history["old"].id]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("active=maybe", "active"),
        ("pmu=bad id", "pmu"),
        ("severity=loud", "severity"),
        ("start=yesterday", "start"),
        ("active=true&active=false", "active"),
        ("pmu=B90&pmu=FG", "pmu"),
        ("limit=1&limit=2", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("offset=-5", "offset"),
        ("offset=abc", "offset"),
        ("start=now&stop=-1h", "start"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(api, query, parameter):
    response = api.get(f"/api/alerts?{query}")

    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_acknowledging_records_who_and_when(api, history):
    user = User.objects.create_user("operator")
    user.user_permissions.add(Permission.objects.get(codename="acknowledge_alert"))
    api.force_authenticate(user)

    response = api.post(f"/api/alerts/{history['active'].id}/acknowledge")

    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "operator"
    stored = Alert.objects.get(pk=history["active"].id)
    assert stored.acknowledged_by == user
    assert stored.acknowledged_at is not None

    again = api.post(f"/api/alerts/{history['active'].id}/acknowledge")
    assert again.json()["acknowledged_at"] == response.json()["acknowledged_at"]


def test_acknowledging_needs_the_permission_when_debug_is_off(api, history):
    url = f"/api/alerts/{history['active'].id}/acknowledge"
    assert api.post(url).status_code in (401, 403)

    api.force_authenticate(User.objects.create_user("viewer"))
    assert api.post(url).status_code == 403
    assert Alert.objects.get(pk=history["active"].id).acknowledged_at is None


def test_acknowledging_an_unknown_alert_is_a_404(api, settings):
    settings.PMU_ALLOW_ANONYMOUS_WRITES = True

    response = api.post("/api/alerts/999/acknowledge")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_admin_acknowledge_action(admin_client, admin_user, history):
    response = admin_client.post(
        "/admin/alerts/alert/",
        {"action": "acknowledge", "_selected_action": [history["active"].id]},
    )

    assert response.status_code == 302
    assert Alert.objects.get(pk=history["active"].id).acknowledged_by == admin_user

"""/api/alert-rules: CRUD, the checks that refuse mistakes, and who may write."""

import pytest
from django.contrib.auth.models import Permission, User

from alerts.models import AlertRule
from measurements.models import Pmu

pytestmark = pytest.mark.django_db

RULE = {
    "name": "B90 undervoltage",
    "enabled": True,
    "pmu": "B90",
    "quantity": "voltage",
    "phase": "any",
    "low": 0.9,
    "high": None,
    "unit": "pu",
    "hysteresis": 0.02,
    "min_duration": 0.0,
    "clear_duration": 0.0,
    "severity": "critical",
}


@pytest.fixture(autouse=True)
def b90():
    return Pmu.objects.create(id="B90", name="Building 90", nominal_voltage=282.0)


@pytest.fixture
def writer(api):
    api.force_authenticate(
        User.objects.create_user("writer", is_superuser=True, is_staff=True)
    )
    return api


def without_stamps(body):
    return {k: v for k, v in body.items() if k not in ("created_at", "updated_at")}


def test_a_rule_is_created_read_listed_updated_and_deleted(writer):
    created = writer.post("/api/alert-rules", RULE, format="json")
    assert created.status_code == 201
    rule_id = created.json()["id"]
    assert without_stamps(created.json()) == {"id": rule_id, **RULE}

    assert without_stamps(writer.get(f"/api/alert-rules/{rule_id}").json()) == {
        "id": rule_id,
        **RULE,
    }
    assert [r["id"] for r in writer.get("/api/alert-rules").json()] == [rule_id]

    patched = writer.patch(
        f"/api/alert-rules/{rule_id}", {"low": 0.85, "enabled": False}, format="json"
    )
    assert patched.status_code == 200
    assert (patched.json()["low"], patched.json()["enabled"]) == (0.85, False)

    replaced = writer.put(
        f"/api/alert-rules/{rule_id}", {**RULE, "pmu": None}, format="json"
    )
    assert replaced.status_code == 200
    assert replaced.json()["pmu"] is None

    assert writer.delete(f"/api/alert-rules/{rule_id}").status_code == 204
    assert not AlertRule.objects.exists()
    missing = writer.get(f"/api/alert-rules/{rule_id}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_the_paths_have_no_trailing_slash(api):
    assert api.get("/api/alert-rules").status_code == 200
    assert api.get("/api/alert-rules/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"low": 1.1, "high": 0.9}, "low", "must be below"),
        ({"low": None, "high": None}, "low", "Set a low limit"),
        ({"hysteresis": -0.01}, "hysteresis", "cannot be negative"),
        ({"low": 0.9, "high": 1.1, "hysteresis": 0.2}, "hysteresis", "never clear"),
        ({"min_duration": -1}, "min_duration", "cannot be negative"),
        ({"clear_duration": -1}, "clear_duration", "cannot be negative"),
        ({"clear_duration": 1e9}, "clear_duration", "at most"),
        ({"pmu": "FG"}, "unit", "not in the registry"),
        ({"pmu": "NO-NOMINAL"}, "unit", "no nominal voltage"),
        ({"quantity": "current"}, "unit", "no nominal current"),
        ({"quantity": "power_factor", "unit": "absolute", "low": 1.5}, "low", "-1"),
        ({"quantity": "power_factor"}, "unit", "no nominal"),
        ({"quantity": "frequency", "phase": "a", "unit": "absolute"}, "phase", "any"),
        ({"unit": "absolute", "low": -5}, "low", "cannot be negative"),
        ({"quantity": "apparent"}, "quantity", "not a valid choice"),
        ({"severity": "loud"}, "severity", "not a valid choice"),
        ({"low": "low"}, "low", "valid number"),
        ({"pmu": "bad id!"}, "pmu", "PMU id"),
    ],
)
def test_mistakes_are_refused_in_the_one_error_shape_naming_the_field(
    writer, change, field, fragment
):
    Pmu.objects.create(id="NO-NOMINAL")

    response = writer.post("/api/alert-rules", {**RULE, **change}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == field
    assert fragment in body["detail"]
    assert field in body["fields"]
    assert not AlertRule.objects.exists()


def test_a_patch_is_checked_against_the_whole_rule(writer):
    rule_id = writer.post("/api/alert-rules", RULE, format="json").json()["id"]

    response = writer.patch(f"/api/alert-rules/{rule_id}", {"high": 0.5}, format="json")

    assert response.status_code == 400
    assert response.json()["parameter"] == "low"
    assert AlertRule.objects.get().high is None


def test_the_admin_form_refuses_the_same_mistakes(admin_client):
    response = admin_client.post(
        "/admin/alerts/alertrule/add/",
        {**{k: v for k, v in RULE.items() if v is not None}, "low": 1.2, "high": 1.1},
    )

    assert response.status_code == 200
    assert "must be below" in response.content.decode()
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("post", "/api/alert-rules", "add_alertrule"),
        ("patch", "/api/alert-rules/{id}", "change_alertrule"),
        ("put", "/api/alert-rules/{id}", "change_alertrule"),
        ("delete", "/api/alert-rules/{id}", "delete_alertrule"),
    ],
)
def test_rule_writes_need_the_matching_permission_when_debug_is_off(
    api, method, path, permission
):
    rule = AlertRule.objects.create(**{**RULE, "pmu": "B90"})
    url = path.format(id=rule.id)
    send = getattr(api, method)

    anonymous = send(url, RULE, format="json")
    assert anonymous.status_code in (401, 403)
    assert set(anonymous.json()) >= {"error", "detail"}

    user = User.objects.create_user("someone")
    api.force_authenticate(user)
    assert send(url, RULE, format="json").status_code == 403

    user.user_permissions.add(Permission.objects.get(codename=permission))
    api.force_authenticate(User.objects.get(pk=user.pk))
    assert send(url, RULE, format="json").status_code in (200, 201, 204)


def test_reads_stay_open(api):
    AlertRule.objects.create(**RULE)

    assert api.get("/api/alert-rules").status_code == 200


def test_the_demo_switch_opens_rule_writes(api, settings):
    settings.PMU_ALLOW_ANONYMOUS_WRITES = True

    assert api.post("/api/alert-rules", RULE, format="json").status_code == 201

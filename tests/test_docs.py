"""OpenAPI 3 at /api/schema and interactive docs at /docs."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_describes_every_read_endpoint_and_parameter(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    expected = {
        "/api/getpmus": {"since"},
        "/api/power_timeseries": {"pmu", "start", "stop", "window"},
        "/api/power_a": {"pmu", "phasor", "start", "stop"},
        "/api/data": {"pmu", "start", "stop"},
    }
    for path, names in expected.items():
        parameters = schema["paths"][path]["get"]["parameters"]
        assert {p["name"] for p in parameters} == names
        assert all(p.get("description") for p in parameters), path


def test_docs_page_is_served_without_external_assets(api):
    response = api.get("/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/schema" in page
    assert "cdn" not in page.lower()


def test_cors_allows_the_dashboard_origin(api):
    response = api.get("/api/getpmus", HTTP_ORIGIN="http://localhost:5173")

    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"

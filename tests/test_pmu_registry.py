"""The PMU registry: ids, nominals, and the admin page."""

import pytest
from django.core.exceptions import ValidationError

from measurements.models import Pmu

pytestmark = pytest.mark.django_db


def test_a_registered_pmu_keeps_its_name_and_nominals():
    Pmu(
        id="B90", name="Building 90", nominal_voltage=282.0, nominal_current=150.0
    ).full_clean()

    pmu = Pmu.objects.create(id="FG", nominal_voltage=121.0, nominal_frequency=60)

    assert Pmu.objects.get(pk="FG").nominal_voltage == 121.0
    assert pmu.nominal_current is None


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"id": "bad id"}, "id"),
        ({"id": "B90", "nominal_voltage": 0}, "nominal_voltage"),
        ({"id": "B90", "nominal_current": -3}, "nominal_current"),
        ({"id": "B90", "nominal_frequency": 55}, "nominal_frequency"),
    ],
)
def test_mistakes_in_the_registry_are_refused(fields, bad):
    with pytest.raises(ValidationError) as refused:
        Pmu(**fields).full_clean()

    assert bad in refused.value.message_dict


def test_the_registry_is_in_the_admin(admin_client):
    Pmu.objects.create(id="B90", name="Building 90")

    page = admin_client.get("/admin/measurements/pmu/")

    assert page.status_code == 200
    assert "Building 90" in page.content.decode()

"""Every accepted change is recorded: from, to, who, when and through which
path; refused ones are not."""

from django.contrib.auth.models import User

from protocol.models import ProtocolChange
from tests.protocol_support import audit_rows

pytest_plugins = ["tests.protocol_fixtures"]


def test_api_change_records_from_to_who_when_and_how(
    protocol_operator, protocol_api, protocol_ini
):
    protocol_api.post("/api/changeprotocol?protocol=tcp")
    protocol_api.post("/api/changeprotocol?protocol=UDP")

    first, second = ProtocolChange.objects.order_by("id")
    assert (first.from_protocol, first.to_protocol) == ("", "tcp")
    assert (second.from_protocol, second.to_protocol) == ("tcp", "udp")
    assert second.changed_by == protocol_operator
    assert second.changed_by_name == "operator"
    assert second.via == "api"
    assert second.changed_at is not None
    assert second.changed_at >= first.changed_at


def test_from_is_what_the_file_held_after_a_hand_edit(protocol_api, protocol_ini):
    protocol_api.post("/api/changeprotocol?protocol=udp")
    protocol_ini.write_text("[transport]\nprotocol = TCP\n")

    protocol_api.post("/api/changeprotocol?protocol=udp")

    assert audit_rows() == [
        ("", "udp", "operator", "api"),
        ("tcp", "udp", "operator", "api"),
    ]


def test_anonymous_demo_change_is_recorded_without_a_user(
    api, db, settings, protocol_ini
):
    settings.PMU_ALLOW_ANONYMOUS_WRITES = True

    api.post("/api/changeprotocol?protocol=tcp")

    change = ProtocolChange.objects.get()
    assert change.changed_by is None
    assert str(change) == "(none) -> tcp by anonymous via api"


def test_record_keeps_the_name_when_the_user_is_deleted(
    protocol_operator, protocol_api, protocol_ini
):
    protocol_api.post("/api/changeprotocol?protocol=tcp")

    User.objects.filter(pk=protocol_operator.pk).delete()

    change = ProtocolChange.objects.get()
    assert change.changed_by is None
    assert change.changed_by_name == "operator"


def test_get_reports_the_last_recorded_change(protocol_api, protocol_ini):
    protocol_api.post("/api/changeprotocol?protocol=tcp")
    last = ProtocolChange.objects.get()

    body = protocol_api.get("/api/protocol").json()

    assert body["changed_by"] == "operator"
    assert body["via"] == "api"
    assert body["changed_at"].startswith(last.changed_at.strftime("%Y-%m-%dT%H:%M:%S"))

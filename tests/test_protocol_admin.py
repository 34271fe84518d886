"""Admin: the protocol as the file has it, a change through the same service,
and an audit that nobody can edit."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from protocol import services
from protocol.models import ProtocolChange
from tests.protocol_support import (
    HAND_WRITTEN,
    audit_rows,
    read_with_configparser,
    snapshot,
    user_with_perms,
)

pytest_plugins = ["tests.protocol_fixtures"]

PAGE = "/admin/protocol/protocolsetting/"
CHANGES = "/admin/protocol/protocolchange/"


@pytest.fixture
def staff_client(db):
    """A staff user who may see and change the protocol and see its audit."""
    client = Client()
    client.force_login(
        user_with_perms(
            "alice",
            "view_protocolsetting",
            "change_protocolsetting",
            "view_protocolchange",
            is_staff=True,
        )
    )
    return client


@pytest.fixture
def viewer_client(db):
    client = Client()
    client.force_login(user_with_perms("bob", "view_protocolsetting", is_staff=True))
    return client


def _current(response):
    text = response.content.decode()
    start = text.index('id="current-protocol">') + len('id="current-protocol">')
    return text[start : text.index("<", start)]


def test_page_shows_the_protocol_as_the_file_has_it_after_hand_edits(
    staff_client, protocol_ini
):
    protocol_ini.write_text(HAND_WRITTEN)
    first = staff_client.get(PAGE)
    protocol_ini.write_text(HAND_WRITTEN.replace("protocol = udp", "protocol = tcp"))
    second = staff_client.get(PAGE)

    assert first.status_code == second.status_code == 200
    assert _current(first) == "udp"
    assert _current(second) == "tcp"
    assert str(protocol_ini) in second.content.decode()


def test_page_reads_the_old_one_line_file(staff_client, protocol_ini):
    protocol_ini.write_text("protocol_used = tcp\n")

    response = staff_client.get(PAGE)

    assert _current(response) == "tcp"
    assert "old one-line format" in response.content.decode()


def test_page_names_an_unusable_value(staff_client, protocol_ini):
    protocol_ini.write_text("[transport]\nprotocol = ftp\n")

    response = staff_client.get(PAGE)

    assert _current(response) == "no usable protocol"
    assert "neither udp nor tcp" in response.content.decode()


def test_staff_change_writes_the_file_like_the_api_and_is_recorded(
    staff_client, protocol_ini
):
    protocol_ini.write_text(HAND_WRITTEN)

    response = staff_client.post(PAGE, {"protocol": "tcp"})

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert protocol_ini.read_text() == HAND_WRITTEN.replace(
        "protocol = udp", "protocol = tcp"
    )
    assert read_with_configparser(protocol_ini) == "tcp"
    assert audit_rows() == [("udp", "tcp", "alice", "admin")]
    assert ProtocolChange.objects.get().changed_by.username == "alice"
    page = staff_client.get(PAGE)
    assert _current(page) == "tcp"
    assert "Protocol changed to tcp." in page.content.decode()


def test_admin_change_goes_through_the_service(staff_client, protocol_ini, monkeypatch):
    calls = []
    real = services.protocol_change

    def spy(value, **kwargs):
        calls.append((value, kwargs["via"]))
        return real(value, **kwargs)

    monkeypatch.setattr(services, "protocol_change", spy)

    staff_client.post(PAGE, {"protocol": "tcp"})

    assert calls == [("tcp", "admin")]


def test_admin_shows_a_failed_write_and_keeps_the_file(
    staff_client, protocol_ini, monkeypatch
):
    protocol_ini.write_text(HAND_WRITTEN)
    before = snapshot(protocol_ini)

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(services.config_ini.os, "replace", fail)
    response = staff_client.post(PAGE, {"protocol": "tcp"}, follow=True)
    monkeypatch.undo()

    assert response.status_code == 200
    # The admin capitalises the first letter of a message.
    assert (
        "Config.ini could not be written (Permission denied); it is unchanged "
        "and the protocol was not changed to tcp." in response.content.decode()
    )
    assert snapshot(protocol_ini) == before
    assert audit_rows() == []


def test_invalid_form_value_changes_nothing(staff_client, protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)
    before = snapshot(protocol_ini)

    response = staff_client.post(PAGE, {"protocol": "ftp"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert snapshot(protocol_ini) == before


def test_view_only_staff_sees_the_protocol_but_cannot_change_it(
    viewer_client, protocol_ini
):
    protocol_ini.write_text(HAND_WRITTEN)
    before = snapshot(protocol_ini)

    page = viewer_client.get(PAGE)
    post = viewer_client.post(PAGE, {"protocol": "tcp"})

    assert page.status_code == 200
    assert _current(page) == "udp"
    assert '<form method="post">' not in page.content.decode()
    assert post.status_code == 403
    assert snapshot(protocol_ini) == before
    assert audit_rows() == []


def test_staff_without_protocol_permissions_cannot_open_the_page(db, protocol_ini):
    client = Client()
    client.force_login(user_with_perms("carol", is_staff=True))

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"protocol": "tcp"}).status_code == 403
    assert not protocol_ini.exists()


def test_admin_index_links_the_setting_and_the_audit(db, protocol_ini):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-x-1"))

    index = client.get("/admin/").content.decode()

    assert f'href="{PAGE}"' in index
    assert f'href="{CHANGES}"' in index
    assert f'href="{PAGE}add/"' not in index
    assert f'href="{CHANGES}add/"' not in index


def test_audit_is_read_only_even_for_a_superuser(db, protocol_ini):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-x-1"))
    client.post(PAGE, {"protocol": "tcp"})
    change = ProtocolChange.objects.get()
    url = f"{CHANGES}{change.pk}/change/"

    listing = client.get(CHANGES)
    detail = client.get(url)
    edited = client.post(url, {"to_protocol": "udp", "via": "api"})

    assert listing.status_code == 200
    assert "root" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert edited.status_code == 403
    assert client.get(f"{CHANGES}add/").status_code == 403
    assert client.post(f"{CHANGES}{change.pk}/delete/").status_code == 403
    assert audit_rows() == [("", "tcp", "root", "admin")]

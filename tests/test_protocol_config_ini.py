"""config.ini is the record: a named section, everything else kept byte for
byte, the old one-line file read and migrated, bad files refused."""

import os
import stat

import pytest

from protocol import config_ini as ini
from tests.protocol_support import (
    HAND_WRITTEN,
    audit_rows,
    read_with_configparser,
    snapshot,
    temp_files,
    without_time,
)

pytest_plugins = ["tests.protocol_fixtures"]


def test_hand_written_file_keeps_sections_keys_and_comments(protocol_api, protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert protocol_ini.read_text() == HAND_WRITTEN.replace(
        "protocol = udp", "protocol = tcp"
    )
    assert read_with_configparser(protocol_ini) == "tcp"


def test_old_one_line_file_is_read(api, db, protocol_ini):
    protocol_ini.write_text("protocol_used = tcp\n")

    response = api.get("/api/protocol")

    assert without_time(response.json()) == {
        "protocol": "tcp",
        "changed_by": None,
        "via": "file",
        "problem": None,
    }


def test_old_one_line_file_is_rewritten_with_the_section(protocol_api, protocol_ini):
    protocol_ini.write_text("protocol_used = udp\n")

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 200
    assert response.json()["previous"] == "udp"
    assert protocol_ini.read_text() == "[transport]\nprotocol = tcp\n"
    assert read_with_configparser(protocol_ini) == "tcp"


def test_old_file_is_migrated_even_when_the_value_stays(protocol_api, protocol_ini):
    protocol_ini.write_text("protocol_used = udp")

    protocol_api.post("/api/changeprotocol?protocol=udp")

    assert protocol_ini.read_text() == "[transport]\nprotocol = udp\n"
    assert audit_rows() == [("udp", "udp", "operator", "api")]


def test_new_file_is_created_readable_by_the_collector(protocol_api, protocol_ini):
    protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert protocol_ini.read_text() == "[transport]\nprotocol = tcp\n"
    assert stat.S_IMODE(os.stat(protocol_ini).st_mode) == 0o644


def test_permission_bits_are_kept(protocol_api, protocol_ini):
    protocol_ini.write_text(HAND_WRITTEN)
    os.chmod(protocol_ini, 0o640)

    protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert stat.S_IMODE(os.stat(protocol_ini).st_mode) == 0o640


def test_symbolic_link_stays_a_link_to_the_changed_file(
    protocol_api, protocol_ini, tmp_path
):
    target = tmp_path / "shared-config.ini"
    target.write_text(HAND_WRITTEN)
    protocol_ini.symlink_to(target)

    protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert protocol_ini.is_symlink()
    assert read_with_configparser(target) == "tcp"


def test_change_to_the_value_in_place_is_recorded_and_leaves_the_file(
    protocol_api, protocol_ini
):
    protocol_ini.write_text(HAND_WRITTEN)
    before = snapshot(protocol_ini)

    response = protocol_api.post("/api/changeprotocol?protocol=udp")

    assert response.status_code == 200
    assert snapshot(protocol_ini) == before
    assert audit_rows() == [("udp", "udp", "operator", "api")]


def test_temporary_file_left_by_a_crash_is_removed_by_the_next_change(
    protocol_api, protocol_ini
):
    protocol_ini.write_text(HAND_WRITTEN)
    stale = protocol_ini.parent / ".config.ini.abc123.tmp"
    stale.write_text("[transport]\nproto")

    protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert temp_files(protocol_ini.parent) == []
    assert read_with_configparser(protocol_ini) == "tcp"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            "[transport]\nprotocol = udp\n[transport]\nport = 1\n",
            "config.ini is not a valid INI file: line 3 repeats the section "
            "[transport]",
        ),
        (
            "[transport]\nprotocol = udp\nProtocol = tcp\n",
            "config.ini is not a valid INI file: line 3 repeats the key "
            "`protocol` in its section",
        ),
        (
            "[transport]\nprotocol = udp\nthis line has no equals sign\n",
            "config.ini is not a valid INI file: line 3 is neither a "
            "[section], a `key = value` line nor a comment",
        ),
        (
            "collector = pmu1\nprotocol_used = udp\n",
            "the key `collector` stands before the first [section], where "
            "only the old `protocol_used` line may",
        ),
        (b"[transport]\nprotocol = udp\n# caf\xe9\n", "config.ini is not UTF-8 text"),
    ],
)
def test_file_that_cannot_be_rewritten_safely_is_left_alone(
    protocol_api, protocol_ini, text, detail
):
    if isinstance(text, bytes):
        protocol_ini.write_bytes(text)
    else:
        protocol_ini.write_text(text)
    before = snapshot(protocol_ini)

    response = protocol_api.post("/api/changeprotocol?protocol=tcp")

    assert response.status_code == 500
    assert response.json() == {
        "error": "config_invalid",
        "detail": f"{detail}. Fix config.ini by hand; the protocol was not changed.",
    }
    assert snapshot(protocol_ini) == before
    assert audit_rows() == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "[transport]\nprotocol = tcp\n"),
        ("protocol_used = udp", "[transport]\nprotocol = tcp\n"),
        ("protocol_used=UDP\r\n", "[transport]\r\nprotocol = tcp\r\n"),
        (
            "# written by the old backend\nprotocol_used = udp\n# end\n",
            "# written by the old backend\n[transport]\nprotocol = tcp\n# end\n",
        ),
        (
            "protocol_used = udp\n\n[pmus]\nids = A\n",
            "[transport]\nprotocol = tcp\n\n[pmus]\nids = A\n",
        ),
        (
            "protocol_used = udp\n[transport]\nprotocol = udp\nport = 1\n",
            "[transport]\nprotocol = tcp\nport = 1\n",
        ),
        ("[pmus]\nids = A", "[pmus]\nids = A\n\n[transport]\nprotocol = tcp\n"),
        ("[pmus]\nids = A\n\n", "[pmus]\nids = A\n\n[transport]\nprotocol = tcp\n"),
        ("[transport]", "[transport]\nprotocol = tcp\n"),
        (
            "[transport]\nport = 4712\n",
            "[transport]\nprotocol = tcp\nport = 4712\n",
        ),
        (
            "[transport]\n\tport = 4712\n",
            "[transport]\n\tprotocol = tcp\n\tport = 4712\n",
        ),
        (
            "[a]\r\nx = 1\r\n[transport]\r\nprotocol: udp\r\n; why\r\ny = 2\r\n",
            "[a]\r\nx = 1\r\n[transport]\r\nprotocol = tcp\r\n; why\r\ny = 2\r\n",
        ),
        (
            "[transport]\nPROTOCOL = UDP\n  continued\n# note\nport = 1",
            "[transport]\nprotocol = tcp\n# note\nport = 1",
        ),
        (
            "[DEFAULT]\nprotocol = udp\n[transport]\nport = 1\n",
            "[DEFAULT]\nprotocol = udp\n[transport]\nprotocol = tcp\nport = 1\n",
        ),
        (
            "[Transport]\nprotocol = udp\n",
            "[Transport]\nprotocol = udp\n\n[transport]\nprotocol = tcp\n",
        ),
        (
            "[x]\nnote = a value with % and ; and # in it\n[transport]\nprotocol=udp",
            "[x]\nnote = a value with % and ; and # in it\n[transport]\n"
            "protocol = tcp\n",
        ),
    ],
)
def test_text_rewrite_changes_only_the_protocol(before, after):
    assert ini.text_with_protocol(before, "tcp") == after


@pytest.mark.parametrize(
    ("text", "value", "legacy"),
    [
        ("", None, False),
        ("protocol_used = tcp", "tcp", True),
        ("# old file\nprotocol_used = UDP\n", "UDP", True),
        ("[transport]\nprotocol = tcp\n", "tcp", False),
        ("[transport]\nport = 1\n", None, False),
        ("[other]\nprotocol = tcp\n", None, False),
        ("[DEFAULT]\nprotocol = tcp\n[transport]\nport = 1\n", "tcp", False),
        ("[DEFAULT]\nprotocol = tcp\n", None, False),
        ("protocol_used = udp\n[transport]\nprotocol = tcp\n", "tcp", True),
    ],
)
def test_protocol_is_found_as_configparser_reads_it(text, value, legacy):
    assert ini.protocol_find(text) == ini.FoundProtocol(value=value, legacy=legacy)

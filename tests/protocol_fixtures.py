"""Fixtures of the protocol tests, loaded by each with `pytest_plugins`."""

import pytest

from tests.protocol_support import token_client, user_with_perms


@pytest.fixture
def protocol_ini(settings, tmp_path):
    """This test's own config.ini path, in a folder of its own; not created."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "config.ini"
    settings.PMU_CONFIG_INI = str(path)
    return path


@pytest.fixture
def protocol_writes_closed(settings):
    """Debug off and no demo switch: writes need the permission."""
    settings.DEBUG = False
    settings.PMU_ALLOW_ANONYMOUS_WRITES = False


@pytest.fixture
def protocol_operator(db):
    return user_with_perms("operator", "change_protocolsetting")


@pytest.fixture
def protocol_api(protocol_operator, protocol_writes_closed):
    """An API client with the token of a user allowed to change the protocol."""
    return token_client(protocol_operator)

"""Shared fixtures: a fresh embedded store per test, the API client, real data."""

import json
import os
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from measurements.gateway import reset_store

REPO = Path(__file__).resolve().parent.parent
PMU_DATA = REPO.parent / "shared" / "pmu-data"
LBNL = PMU_DATA / "lbnl-upmu"


@pytest.fixture(autouse=True)
def fresh_store(settings, tmp_path):
    """Every test starts on an empty embedded store of its own."""
    settings.PMU_STORE_PATH = str(tmp_path / "store.sqlite3")
    reset_store()
    yield
    reset_store()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(scope="session")
def lbnl_dir():
    """The recorded micro-PMU event library, read in place.

    Skips on a fresh clone without ../shared; under CI (CI=true) the data
    must be there, so its absence fails instead.
    """
    if not LBNL.is_dir():
        message = f"the recorded PMU data is not at {LBNL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    return LBNL


def body(response):
    """The JSON body of a plain or a streamed response."""
    if response.streaming:
        return json.loads(b"".join(response.streaming_content))
    return response.json()

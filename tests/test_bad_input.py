"""Every bad query parameter gets a 400 naming it; no input gives a 500."""

import random
import string

import pytest

pytestmark = pytest.mark.django_db

HOSTILE_PMU_IDS = [
    "",
    " ",
    'B90"',
    "B90' or 1=1 --",
    'B90") |> drop(columns: ["_value"]) //',
    "B90|>yield()",
    'B90\n|> to(bucket: "x")',
    "B90\r\n",
    "(B90)",
    "B90 B91",
    "B" * 10_000,
    "Bé90",
    "B90\x00",
    "-B90",
]
BAD_TIMES = [
    "yesterday",
    "-1x",
    "-1h)",
    "now() |> drop()",
    '2024-01-01T00:00:00Z"',
    "2024-01-01T00:00:00",
    "2024-01-01",
    "2024-13-01T00:00:00Z",
    "2024-01-01T00:00:00.1234567890Z",
    "-" + "1" * 10_000 + "h",
    "-１h",
    "-1h\n",
    "--1h",
]
BAD_WINDOWS = [
    "0",
    "0s",
    "-10s",
    "10",
    "abc",
    "10s)",
    "1e3s",
    "10 s",
    "１０s",
    "",
    "5" * 10_000 + "s",
    "10s\n|> yield()",
]


def assert_names(response, parameter):
    assert response.status_code == 400, response.content[:300]
    payload = response.json()
    assert payload["error"] in ("invalid_parameter", "too_many_rows")
    assert payload["parameter"] == parameter
    assert payload["detail"]


@pytest.mark.parametrize("path", ["/api/power_timeseries", "/api/power_a", "/api/data"])
def test_missing_pmu(api, path):
    assert_names(api.get(path, {"phasor": "a"}), "pmu")


@pytest.mark.parametrize("path", ["/api/power_timeseries", "/api/power_a", "/api/data"])
@pytest.mark.parametrize("pmu", HOSTILE_PMU_IDS)
def test_hostile_pmu_ids(api, path, pmu):
    response = api.get(path, {"pmu": pmu, "phasor": "a"})

    if pmu.strip() == "":
        assert_names(response, "pmu")
    else:
        assert_names(response, "pmu")
        assert "letters, digits" in response.json()["detail"]


@pytest.mark.parametrize("phasor", ["", "d", "ab", "a'", "A\n", "á", "x" * 10_000])
def test_unknown_phasor(api, phasor):
    response = api.get("/api/power_a", {"pmu": "B90", "phasor": phasor})

    assert_names(response, "phasor")
    assert response.json()["accepted"] == ["a", "b", "c"]


def test_missing_phasor(api):
    assert_names(api.get("/api/power_a", {"pmu": "B90"}), "phasor")


@pytest.mark.parametrize("window", BAD_WINDOWS)
def test_bad_windows(api, window):
    response = api.get("/api/power_timeseries", {"pmu": "B90", "window": window})

    if window == "":
        # An empty window means the default, as an absent one does.
        assert response.status_code == 200
    else:
        assert_names(response, "window")


@pytest.mark.parametrize("name", ["start", "stop"])
@pytest.mark.parametrize("value", BAD_TIMES)
@pytest.mark.parametrize("path", ["/api/power_timeseries", "/api/power_a", "/api/data"])
def test_bad_times(api, path, name, value):
    params = {"pmu": "B90", "phasor": "a", name: value}
    if name == "start":
        params["stop"] = "now"

    assert_names(api.get(path, params), name)


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        ("-1m", "-2m"),
        ("-1m", "-1m"),
        ("2024-01-01T00:00:01Z", "2024-01-01T00:00:00Z"),
        ("2024-01-01T00:00:00.000000002Z", "2024-01-01T00:00:00.000000001Z"),
    ],
)
@pytest.mark.parametrize("path", ["/api/power_timeseries", "/api/power_a", "/api/data"])
def test_start_not_before_stop(api, path, start, stop):
    response = api.get(
        path, {"pmu": "B90", "phasor": "a", "start": start, "stop": stop}
    )

    assert_names(response, "start")
    assert "earlier than" in response.json()["detail"]


@pytest.mark.parametrize("since", ["abc", "0s", "1x", "5m)", "x" * 10_000])
def test_bad_since(api, since):
    assert_names(api.get("/api/getpmus", {"since": since}), "since")


def test_random_text_never_gives_a_500(api):
    rng = random.Random(20261204)
    alphabet = string.printable + "µé’\u202e\ufeff|>\"'()"
    paths = ["/api/power_timeseries", "/api/power_a", "/api/data", "/api/getpmus"]
    names = ["pmu", "phasor", "start", "stop", "window", "since"]
    for _ in range(400):
        params = {
            name: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            for name in rng.sample(names, rng.randint(1, len(names)))
        }
        response = api.get(rng.choice(paths), params)

        assert response.status_code in (200, 400, 404), (params, response.content)
        if response.status_code == 400:
            assert response.json()["parameter"] in names


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("pmu=B90&pmu=FG", "pmu"),
        ("pmu=B90&window=1s&window=500ms", "window"),
        ("pmu=B90&start=-1h&start=-2h", "start"),
        ("pmu=B90&stop=-1m&stop=-2m", "stop"),
    ],
)
def test_a_repeated_parameter_is_refused(api, query, parameter):
    response = api.get(f"/api/power_timeseries?{query}")

    assert_names(response, parameter)
    assert "more than once" in response.json()["detail"]


def test_a_repeated_phasor_is_refused(api):
    assert_names(api.get("/api/power_a?pmu=B90&phasor=a&phasor=b"), "phasor")


@pytest.mark.parametrize(
    "path", ["/api", "/api/nonexistent", "/api/getpmus/", "/api/data/extra"]
)
def test_unknown_api_paths_are_json_404s(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"


def test_a_format_parameter_does_not_change_the_answer(api):
    response = api.get("/api/getpmus", {"format": "csv"})

    assert response.status_code == 200
    assert response.json() == {"pmus": []}


def test_a_host_not_allowed_is_a_json_400(api):
    response = api.get("/api/getpmus", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_long_windows_in_small_units_are_accepted(api):
    response = api.get(
        "/api/power_timeseries", {"pmu": "B90", "window": "1000000000000ns"}
    )

    assert response.status_code == 200

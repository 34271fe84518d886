"""The four read endpoints on the recorded micro-PMU events."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from tests.conftest import body
from tests.realdata import (
    circular_mean,
    ns_to_rfc3339,
    read_event_file,
    rfc3339_to_ns,
    wrap,
)

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]

PHASE_NUMBER = {"A": 1, "B": 2, "C": 3}


@pytest.fixture
def imported(lbnl_dir):
    call_command("import_pmu_csv", str(lbnl_dir), stdout=io.StringIO())
    return lbnl_dir


def event_files(lbnl_dir):
    return sorted(lbnl_dir.glob("*/*_raw_data.csv"))


def apparent_power(table, number):
    # The recorder's own Apparent-Power column is off by a factor of up to 3
    # on some rows of some files, while P and Q match V·I·cos and V·I·sin to
    # 1e-16; |S| = V·I is the design's definition.
    return table[f"L{number}-Mag [Vrms]"] * table[f"C{number}-Mag [Arms]"]


def full_range(table):
    return {
        "start": ns_to_rfc3339(table["time"][0]),
        "stop": ns_to_rfc3339(table["time"][-1] + 1),
    }


def test_getpmus_lists_the_imported_pmus(api, imported):
    response = api.get("/api/getpmus")

    assert response.status_code == 200
    assert response.json() == {"pmus": ["B90", "FG", "FL"]}


def test_data_returns_exactly_each_files_rows_with_wrapped_angles(api, imported):
    for path in event_files(imported):
        table = read_event_file(path)
        pmu = path.name.split("_")[0]

        response = api.get("/api/data", {"pmu": pmu, **full_range(table)})

        assert response.status_code == 200, path
        rows = body(response)
        assert len(rows) == len(table["time"]), path
        times = np.array([rfc3339_to_ns(row["time"]) for row in rows])
        np.testing.assert_array_equal(times, table["time"])
        for kind, prefix in (("v", "L"), ("i", "C")):
            for phase, number in (("a", 1), ("b", 2), ("c", 3)):
                unit = "Vrms" if kind == "v" else "Arms"
                magnitude = [row[f"{kind}_{phase}"] for row in rows]
                angle = np.array([row[f"{kind}_{phase}_ang"] for row in rows])
                np.testing.assert_array_equal(
                    magnitude, table[f"{prefix}{number}-Mag [{unit}]"]
                )
                assert np.all((angle > -180) & (angle <= 180)), path
                np.testing.assert_allclose(
                    angle, wrap(table[f"{prefix}{number}-Ang [Deg]"]), atol=1e-9
                )
        assert {row["pmu_id"] for row in rows} == {pmu}


def test_stop_is_honoured_and_excluded(api, imported):
    path = event_files(imported)[0]
    table = read_event_file(path)
    pmu = path.name.split("_")[0]

    rows = body(
        api.get(
            "/api/data",
            {
                "pmu": pmu,
                "start": ns_to_rfc3339(table["time"][10]),
                "stop": ns_to_rfc3339(table["time"][20]),
            },
        )
    )

    assert [rfc3339_to_ns(row["time"]) for row in rows] == table["time"][10:20].tolist()


def test_unknown_pmu_gives_an_empty_list(api, imported):
    response = api.get("/api/data", {"pmu": "NOPE", "start": "-30d"})

    assert response.status_code == 200
    assert body(response) == []


def test_window_shorter_than_frame_spacing_gives_the_files_power(api, imported):
    for path in event_files(imported):
        table = read_event_file(path)
        pmu = path.name.split("_")[0]

        rows = body(
            api.get(
                "/api/power_timeseries",
                {"pmu": pmu, "window": "1ms", **full_range(table)},
            )
        )

        assert len(rows) == len(table["time"]), path
        ends = np.array([rfc3339_to_ns(row["time"]) for row in rows])
        expected_ends = np.minimum(
            (table["time"] // 1_000_000 + 1) * 1_000_000, table["time"][-1] + 1
        )
        np.testing.assert_array_equal(ends, expected_ends)
        for phase, number in PHASE_NUMBER.items():
            np.testing.assert_allclose(
                [row[f"P_{phase}"] for row in rows],
                table[f"Active-Power-{number} [W]"],
                rtol=1e-9,
            )
            np.testing.assert_allclose(
                [row[f"Q_{phase}"] for row in rows],
                table[f"Reactive-Power-{number} [VAR]"],
                rtol=1e-9,
            )


def test_100ms_windows_are_the_mean_of_the_files_power(api, imported):
    for path in event_files(imported):
        table = read_event_file(path)
        pmu = path.name.split("_")[0]
        window = 100_000_000
        index = table["time"] // window

        rows = body(
            api.get(
                "/api/power_timeseries",
                {"pmu": pmu, "window": "100ms", **full_range(table)},
            )
        )

        groups = np.unique(index)
        assert len(rows) == len(groups), path
        for row, group in zip(rows, groups, strict=True):
            members = index == group
            end = min((group + 1) * window, table["time"][-1] + 1)
            assert rfc3339_to_ns(row["time"]) == end
            total_p = total_q = total_s = 0.0
            for phase, number in PHASE_NUMBER.items():
                p = table[f"Active-Power-{number} [W]"][members].mean()
                q = table[f"Reactive-Power-{number} [VAR]"][members].mean()
                s = apparent_power(table, number)[members].mean()
                v = table[f"L{number}-Mag [Vrms]"][members].mean()
                assert row[f"P_{phase}"] == pytest.approx(p, rel=1e-9)
                assert row[f"Q_{phase}"] == pytest.approx(q, rel=1e-9)
                assert row[f"V_{phase}"] == pytest.approx(v, rel=1e-12)
                assert row[f"PF_{phase}"] == pytest.approx(p / s, rel=1e-9)
                total_p, total_q, total_s = total_p + p, total_q + q, total_s + s
            assert row["P"] == pytest.approx(total_p, rel=1e-9)
            assert row["Q"] == pytest.approx(total_q, rel=1e-9)
            assert row["S"] == pytest.approx(total_s, rel=1e-9)
            assert row["PF"] == pytest.approx(total_p / total_s, rel=1e-9)


@pytest.mark.parametrize("phasor", ["a", "b", "C"])
def test_power_a_gives_the_last_seconds_figures(api, imported, phasor):
    path = event_files(imported)[0]
    table = read_event_file(path)
    pmu = path.name.split("_")[0]
    number = " abc".index(phasor.lower())
    last_second = table["time"][-1] // 1_000_000_000
    members = table["time"] // 1_000_000_000 == last_second

    response = api.get(
        "/api/power_a", {"pmu": pmu, "phasor": phasor, **full_range(table)}
    )

    assert response.status_code == 200
    figures = response.json()
    p = table[f"Active-Power-{number} [W]"][members].mean()
    s = apparent_power(table, number)[members].mean()
    q = table[f"Reactive-Power-{number} [VAR]"][members].mean()
    v_angle = circular_mean(table[f"L{number}-Ang [Deg]"][members])
    assert figures["pmu_id"] == pmu
    assert figures["V"] == pytest.approx(table[f"L{number}-Mag [Vrms]"][members].mean())
    assert figures["I"] == pytest.approx(table[f"C{number}-Mag [Arms]"][members].mean())
    assert figures["P"] == pytest.approx(p, rel=1e-9)
    assert figures["Q"] == pytest.approx(
        table[f"Reactive-Power-{number} [VAR]"][members].mean(), rel=1e-9
    )
    assert figures["S"] == pytest.approx(s, rel=1e-9)
    assert figures["PF"] == pytest.approx(p / s, rel=1e-9)
    assert figures[f"v_{phasor.lower()}_ang"] == pytest.approx(v_angle, abs=1e-9)
    assert figures["phi_deg"] == pytest.approx(np.degrees(np.arctan2(q, p)), abs=1e-9)
    assert np.sign(figures["phi_deg"]) == np.sign(figures["Q"])
    for key in ("v_a_ang", "v_b_ang", "v_c_ang", "i_a_ang", "i_b_ang", "i_c_ang"):
        assert -180 < figures[key] <= 180


def test_power_a_without_data_is_a_json_404(api, imported):
    response = api.get("/api/power_a", {"pmu": "B90", "phasor": "a", "start": "-1m"})

    assert response.status_code == 404
    assert response.json()["error"] == "no_data"

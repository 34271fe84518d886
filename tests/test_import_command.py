"""`import_pmu_csv`: layouts, idempotence, and all-or-nothing files."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from measurements import csvfiles
from measurements.gateway import get_store
from tests.conftest import body

pytestmark = pytest.mark.django_db

HEADER = (
    "time,pmu_id,v_a_mag,v_a_ang,v_b_mag,v_b_ang,v_c_mag,v_c_ang,"
    "i_a_mag,i_a_ang,i_b_mag,i_b_ang,i_c_mag,i_c_ang\n"
)


def row(t, pmu="P1", value=1.0):
    return f"{t},{pmu}," + ",".join([str(value)] * 12) + "\n"


def run(*args):
    out = io.StringIO()
    call_command("import_pmu_csv", *map(str, args), stdout=out)
    return out.getvalue()


def count(pmu):
    return get_store().count_samples(pmu, start_ns=0, stop_ns=2**62)


def test_real_folder_imports_every_file_and_ends_with_a_summary(lbnl_dir):
    output = run(lbnl_dir)

    assert get_store().list_pmus() == ["B90", "FG", "FL"]
    assert output.strip().startswith("Imported 6745 samples for 3 PMU(s)")
    assert "from 48 file(s)" in output


def test_importing_twice_stores_each_sample_once(lbnl_dir):
    run(lbnl_dir)
    first = {pmu: count(pmu) for pmu in ("B90", "FG", "FL")}

    run(lbnl_dir)

    assert {pmu: count(pmu) for pmu in ("B90", "FG", "FL")} == first
    assert sum(first.values()) == 6745


def test_pmu_option_overrides_the_file_name(lbnl_dir):
    path = next(lbnl_dir.glob("*/B90_raw_data.csv"))

    run(path, "--pmu", "FEEDER-7")

    assert get_store().list_pmus() == ["FEEDER-7"]


def test_project_layout_with_pmu_column(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER + row(1_700_000_000_000_000_000) + row("2023-11-14T22:13:20.5Z", "P2")
    )

    run(path)

    assert get_store().list_pmus() == ["P1", "P2"]
    assert count("P1") == count("P2") == 1


def test_data_export_reimports(api, tmp_path):
    path = tmp_path / "P1.csv"
    path.write_text(
        HEADER + "".join(row(1_700_000_000_000_000_000 + k) for k in range(5))
    )
    run(path)
    rows = body(api.get("/api/data", {"pmu": "P1", "start": "2023-11-14T00:00:00Z"}))
    export = tmp_path / "export.csv"
    keys = list(rows[0])
    export.write_text(
        ",".join(keys)
        + "\n"
        + "".join(",".join(str(r[k]) for k in keys) + "\n" for r in rows)
    )

    run(export, "--pmu", "COPY")

    assert count("COPY") == 5


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (HEADER + row(1) + "2,P1,1,2\n", 3, "expected 14 fields"),
        (HEADER + row(1) + row(2).replace(",1.0,", ",abc,", 1), 3, "not a finite"),
        (HEADER + row(1) + row(2).replace(",1.0,", ",nan,", 1), 3, "not a finite"),
        (HEADER + row("yesterday"), 2, "time"),
        (HEADER + row(1) + row(2, pmu="bad id"), 3, "pmu_id"),
        ("time,v_a_mag\n1,2\n", 1, "header does not match"),
        (HEADER, 2, "no rows"),
    ],
)
def test_malformed_file_names_file_and_line_and_leaves_nothing(
    tmp_path, content, line, words
):
    good = tmp_path / "a_good.csv"
    good.write_text(HEADER + row(5, pmu="GOOD"))
    bad = tmp_path / "b_bad.csv"
    bad.write_text(content)

    with pytest.raises(CommandError) as error:
        run(tmp_path)

    message = str(error.value)
    assert f"{bad}, line {line}" in message
    assert words in message
    assert get_store().list_pmus() == ["GOOD"]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "absent.csv")


def test_micro_pmu_file_keeps_nanosecond_times(lbnl_dir):
    path = next(lbnl_dir.glob("*/FG_raw_data.csv"))
    first = int(path.read_text().splitlines()[1].split(",")[0])

    run(path)

    samples = get_store().read_samples("FG", start_ns=0, stop_ns=2**62)
    assert samples.time[0] == first
    assert np.all(np.diff(samples.time) > 0)


def test_an_error_deep_in_a_large_file_leaves_nothing_of_it(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfiles, "BLOCK_BYTES", 4096)
    rows = [row(1_700_000_000_000_000_000 + k * 1000) for k in range(5000)]
    rows[4321] = rows[4321].replace(",1.0,", ",oops,", 1)
    path = tmp_path / "P1.csv"
    path.write_text(HEADER + "".join(rows))

    with pytest.raises(CommandError, match=f"{path}, line 4323: column"):
        run(path)

    assert get_store().list_pmus() == []


def test_a_large_file_streams_in_blocks_into_one_import(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfiles, "BLOCK_BYTES", 4096)
    times = 1_700_000_000_000_000_000 + np.arange(5000) * 1000
    path = tmp_path / "P1.csv"
    path.write_text(HEADER + "".join(row(t) for t in times))

    output = run(path)

    samples = get_store().read_samples("P1", start_ns=0, stop_ns=2**62)
    np.testing.assert_array_equal(samples.time, times)
    assert "Imported 5000 samples for 1 PMU(s) (P1)" in output


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda text: text.replace(",1.0,", ",-230.0,", 1), "cannot be negative"),
        (
            lambda text: text.replace("i_c_ang\n", "i_c_ang,v_a_mag\n").replace(
                "\n1", ",2.0\n1"
            ),
            "both give v_a_mag",
        ),
    ],
)
def test_impossible_or_ambiguous_files_are_refused(tmp_path, change, words):
    path = tmp_path / "P1.csv"
    path.write_text(change(HEADER + row(1_700_000_000_000_000_000)))

    with pytest.raises(CommandError, match=words):
        run(path)

    assert get_store().list_pmus() == []


def test_folders_find_upper_case_suffixes_and_headers_may_start_with_a_bom(tmp_path):
    (tmp_path / "P1.CSV").write_text(
        "\ufeff" + HEADER + row(1_700_000_000_000_000_000), encoding="utf-8"
    )

    run(tmp_path)

    assert get_store().list_pmus() == ["P1"]

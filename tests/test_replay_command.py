"""`replay_pmu_csv`: recorded files written live, re-stamped to now."""

import io
import time

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from measurements.gateway import get_store

FIELDS = [f"{k}_{p}_{part}" for k in "vi" for p in "abc" for part in ("mag", "ang")]
RECORDED_T0 = 1_500_000_000_000_000_000
PERIOD = 8_333_333


def write_csv(path, pmu_id, rows, *, t0=RECORDED_T0):
    lines = [",".join(["time", "pmu_id", *FIELDS, "freq"])]
    for n in range(rows):
        values = [f"{230.0 + n:.1f}"] + ["1.0"] * (len(FIELDS) - 1)
        lines.append(",".join([str(t0 + n * PERIOD), pmu_id, *values, "60.0"]))
    path.write_text("\n".join(lines) + "\n")
    return path


def everything(pmu_id):
    return get_store().read_samples(pmu_id, start_ns=0, stop_ns=2**62)


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_a_recording_is_written_re_stamped_to_now_at_the_given_speed(tmp_path, speed):
    path = write_csv(tmp_path / "one.csv", "REC-1", 24)
    before = time.time_ns()

    output = io.StringIO()
    call_command("replay_pmu_csv", str(path), speed=speed, stdout=output)

    after = time.time_ns()
    stored = everything("REC-1")
    assert len(stored) == 24
    assert before <= stored.time[0]
    assert stored.time[-1] <= after
    assert "Replayed 24 samples for 1 PMU(s) (REC-1)" in output.getvalue()
    np.testing.assert_allclose(np.diff(stored.time), PERIOD / speed, atol=1)
    np.testing.assert_array_equal(stored.columns["v_a_mag"], 230.0 + np.arange(24))
    np.testing.assert_array_equal(stored.columns["freq"], np.full(24, 60.0))


def test_files_of_one_event_play_together_and_later_ones_follow(tmp_path):
    write_csv(tmp_path / "a.csv", "EV-A", 12)
    write_csv(tmp_path / "b.csv", "EV-B", 12, t0=RECORDED_T0 + PERIOD // 2)
    write_csv(tmp_path / "c.csv", "EV-C", 12, t0=RECORDED_T0 + 3600 * 10**9)

    call_command("replay_pmu_csv", str(tmp_path), speed=2, stdout=io.StringIO())

    a, b, c = everything("EV-A"), everything("EV-B"), everything("EV-C")
    assert b.time[0] - a.time[0] == pytest.approx(PERIOD / 4, abs=1)
    assert c.time[0] > a.time[-1]
    assert c.time[0] - a.time[-1] < 3600 * 10**9


def test_a_malformed_file_is_refused_with_its_name_and_line(tmp_path):
    path = write_csv(tmp_path / "bad.csv", "BAD-1", 5)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("231.0", "not-a-number", 1).replace("232.0", "x", 1)
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(CommandError, match=r"bad\.csv.*line") as refused:
        call_command("replay_pmu_csv", str(path))

    assert "Nothing was replayed" in str(refused.value)
    assert len(everything("BAD-1")) == 0


@pytest.mark.parametrize("speed", ["0", "-1", "nan"])
def test_a_speed_that_is_not_positive_is_refused(tmp_path, speed):
    path = write_csv(tmp_path / "one.csv", "REC-1", 3)

    with pytest.raises(CommandError, match="--speed"):
        call_command("replay_pmu_csv", str(path), "--speed", speed)

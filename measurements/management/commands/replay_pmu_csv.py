"""`manage.py replay_pmu_csv`: write recorded PMU files into the store live.

The samples are re-stamped so the recording starts now and are written as
their new times come due, so a recorded event drives the alert worker and
the dashboard as if it were happening. Files whose recordings overlap in
time (the PMUs of one event) play together; recordings far apart play one
after another, each starting when the previous one ends.
"""

import time
from dataclasses import dataclass

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from measurements.csvfiles import CsvFormatError, expand_paths, read_pmu_csv
from measurements.gateway import Samples, get_store
from measurements.params import PMU_ID, PMU_ID_RULE
from pmuproject.errors import ServiceError

# Recordings that start within this long after the current episode ends
# belong to it (the PMUs of one event seldom start on the same frame).
SAME_EPISODE_NS = 1_000_000_000
# How often due samples are written: small against a 50/60 Hz cycle count,
# large enough to keep writes few.
WRITE_EVERY_S = 0.02


@dataclass
class Episode:
    """Recordings that overlap in time and are replayed together."""

    recordings: list
    first_ns: int
    last_ns: int


def episodes_of(recordings):
    """Group recordings by overlap in recorded time, in time order."""
    episodes = []
    for samples in sorted(
        (part for part in recordings if len(part)), key=lambda part: part.time[0]
    ):
        first, last = int(samples.time[0]), int(samples.time[-1])
        current = episodes[-1] if episodes else None
        if current is not None and first <= current.last_ns + SAME_EPISODE_NS:
            current.recordings.append(samples)
            current.last_ns = max(current.last_ns, last)
        else:
            episodes.append(Episode([samples], first, last))
    return episodes


def restamped(episode, *, start_ns, speed):
    """The episode's recordings with times moved to begin at `start_ns`.

    At a speed other than 1 the gaps between samples shrink or grow by the
    same factor, so the data stays live: its times keep pace with the clock.
    """
    moved = []
    for samples in episode.recordings:
        offset = (samples.time - episode.first_ns) / speed
        times = start_ns + np.round(offset).astype(np.int64)
        moved.append(Samples(samples.pmu_id, times, dict(samples.columns)))
    return moved


def play(store, recordings, *, clock=time.time_ns, sleep=time.sleep):
    """Write each sample once its time has come; returns the count written."""
    written = [0] * len(recordings)
    total = 0
    while True:
        now = clock()
        due = []
        for index, samples in enumerate(recordings):
            upto = int(np.searchsorted(samples.time, now, side="right"))
            if upto > written[index]:
                due.append(samples.take(slice(written[index], upto)))
                written[index] = upto
        if due:
            total += store.write(due)
        if all(done == len(s) for done, s in zip(written, recordings, strict=True)):
            return total
        sleep(WRITE_EVERY_S)


class Command(BaseCommand):
    help = (
        "Replay recorded PMU files (the formats import_pmu_csv reads) into the "
        "store live, re-stamped to the current time."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="CSV files or folders")
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="Playback speed: 2 plays twice as fast, 0.5 half as fast.",
        )
        parser.add_argument(
            "--pmu",
            help="PMU id for every file (default: as import_pmu_csv decides)",
        )

    def handle(self, *args, paths, speed, pmu, **options):
        if not speed > 0 or not np.isfinite(speed):
            raise CommandError("--speed must be a number greater than zero.")
        if pmu is not None and not PMU_ID.fullmatch(pmu):
            raise CommandError(f"--pmu must be {PMU_ID_RULE}.")
        try:
            files = expand_paths(paths)
            recordings = [
                samples for path in files for samples in read_pmu_csv(path, pmu_id=pmu)
            ]
        except CsvFormatError as exc:
            raise CommandError(f"{exc}\nNothing was replayed.") from exc
        if not recordings:
            raise CommandError("No samples found in the paths given.")

        store = get_store()
        started = time.perf_counter()
        total = 0
        pmus = sorted({samples.pmu_id for samples in recordings})
        for episode in episodes_of(recordings):
            moved = restamped(episode, start_ns=time.time_ns(), speed=speed)
            try:
                total += play(store, moved)
            except ServiceError as exc:
                raise CommandError(
                    f"The store refused the write after {total} samples: {exc.detail}"
                ) from exc
        self.stdout.write(
            f"Replayed {total} samples for {len(pmus)} PMU(s) ({', '.join(pmus)}) "
            f"from {len(files)} file(s) in {time.perf_counter() - started:.2f} s."
        )

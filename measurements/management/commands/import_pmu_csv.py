"""`manage.py import_pmu_csv`: load recorded PMU files into the store."""

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from measurements import csvfiles
from measurements.csvfiles import (
    CsvFormatError,
    expand_paths,
    iter_pmu_csv,
    prefetched,
)
from measurements.gateway import get_store
from measurements.params import PMU_ID, PMU_ID_RULE
from pmuproject.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Import PMU samples from CSV files or folders of them. Each file is "
        "one transaction: a malformed file is reported with its line number "
        "and leaves nothing of itself in the store. Importing a file again "
        "replaces its samples instead of duplicating them."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="CSV files or folders")
        parser.add_argument(
            "--pmu",
            help="PMU id for every file (default: the file name's prefix, "
            "or the file's pmu_id column)",
        )

    def handle(self, *args, paths, pmu, **options):
        if pmu is not None and not PMU_ID.fullmatch(pmu):
            raise CommandError(f"--pmu must be {PMU_ID_RULE}.")
        try:
            files = expand_paths(paths)
        except CsvFormatError as exc:
            raise CommandError(str(exc)) from exc
        if not files:
            raise CommandError("No CSV files found in the paths given.")

        store = get_store()
        started = time.perf_counter()
        samples, pmus, done = 0, set(), 0
        # Progress in bytes, a parsed block at a time, so one large file moves
        # the bar too; it shows only on a terminal.
        progress = tqdm(
            total=sum(path.stat().st_size for path in files),
            unit="B",
            unit_scale=True,
            disable=None,
            leave=False,
        )
        for path in files:
            progress.set_postfix_str(path.name)
            seen = set()
            try:
                blocks = prefetched(iter_pmu_csv(path, pmu_id=pmu))
                samples += store.write_stream(_noting(blocks, seen, progress, path))
            except CsvFormatError as exc:
                progress.close()
                raise CommandError(
                    f"{exc}\nNothing of this file was imported; "
                    f"{done} file(s) before it were."
                ) from exc
            except ServiceError as exc:
                progress.close()
                raise CommandError(
                    f"{path}: the store refused the write: {exc.detail}"
                ) from exc
            pmus.update(seen)
            done += 1
        progress.close()

        elapsed = time.perf_counter() - started
        rate = samples / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"Imported {samples} samples for {len(pmus)} PMU(s) "
            f"({', '.join(sorted(pmus))}) from {done} file(s) in {elapsed:.2f} s "
            f"({rate:,.0f} samples/s)."
        )


def _noting(blocks, seen, progress, path):
    """Pass blocks on, noting their PMUs and moving the progress bar."""
    remaining = path.stat().st_size
    for batches in blocks:
        seen.update(batch.pmu_id for batch in batches)
        step = min(remaining, csvfiles.BLOCK_BYTES)
        progress.update(step)
        remaining -= step
        yield batches
    progress.update(remaining)

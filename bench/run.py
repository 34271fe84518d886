"""Benchmark of the service's hot paths, each as a ratio to a baseline.

    python bench/run.py [--quick] [--json out.json]

Builds its own data with the simulator in a scratch folder, measures every
figure against a baseline taken in the same run (so machine noise cancels),
prints a table and writes the figures as JSON. Absolute times are printed for
information only. See bench/README.md for what each figure compares.
"""

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRATCH = Path(tempfile.mkdtemp(prefix="pmu-bench-"))
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_ENV_FILE": "",
    "DJANGO_SECRET_KEY": "bench-only",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_LOG_LEVEL": "WARNING",
    "PMU_SIMULATE": "0",
    "PMU_STORE_PATH": str(SCRATCH / "store.sqlite3"),
    "PMU_CONFIG_INI": str(SCRATCH / "config.ini"),
    "DATABASE_URL": f"sqlite:///{SCRATCH / 'db.sqlite3'}",
}
for _name in ("INFLUX_URL", "REDIS_URL", "PMU_MAX_ROWS", "PMU_ALLOW_ANONYMOUS_WRITES"):
    os.environ.pop(_name, None)
os.environ.update(SERVER_ENV)
sys.path.insert(0, str(REPO))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from measurements.gateway import Samples, get_store, reset_store  # noqa: E402
from measurements.power import FIELDS, WindowAccumulator, window_figures  # noqa: E402
from measurements.simulator import Simulator  # noqa: E402
from tests.servers import free_port, start_daphne, stop  # noqa: E402

SECOND = 1_000_000_000
HOUR = 3600 * SECOND
RATE = 120

TARGETS = {
    "power_speedup_vs_row_loop": (">=", 30),
    "timeseries_vs_store_scan": ("<=", 3),
    "power_a_throughput_vs_ceiling": (">=", 0.4),
    "import_vs_bulk_insert": (">=", 0.5),
    "alert_tick_fraction": ("<=", 0.1),
    "ws_fanout_p99_seconds": ("<=", 1.0),
    "data_peak_rss_over_body": ("<=", 5),
    "flux_parse_speedup": (">=", 4),
}


class Bench:
    def __init__(self, *, quick):
        self.quick = quick
        self.pmus = 2 if quick else 10
        self.repeats = 3 if quick else 5
        self.load_seconds = 4 if quick else 10
        self.results = {}
        self.details = {}
        self.stop_ns = time.time_ns() // SECOND * SECOND
        self.start_ns = self.stop_ns - HOUR

    # --- helpers ----------------------------------------------------------

    def record(self, key, value, **details):
        self.results[key] = value
        self.details[key] = details
        op, target = TARGETS[key]
        met = value is not None and (value >= target if op == ">=" else value <= target)
        shown = "n/a" if value is None else f"{value:.3f}"
        info = ", ".join(f"{k}={_short(v)}" for k, v in details.items())
        print(
            f"{key:32} {shown:>10}  target {op} {target:<5} "
            f"{'met' if met else 'MISSED'}  ({info})",
            flush=True,
        )

    def timed(self, function, repeats=None):
        """Median seconds of `repeats` calls (after one warm-up call)."""
        function()
        runs = []
        for _ in range(repeats or self.repeats):
            started = time.perf_counter()
            function()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    # --- data -------------------------------------------------------------

    def build_data(self):
        started = time.perf_counter()
        call_command("migrate", "--noinput", verbosity=0)
        pmus = tuple((f"BENCH-{k}", 230.0, 100.0, 20.0) for k in range(self.pmus))
        simulator = Simulator(rate=RATE, seed=1, pmus=pmus)
        store = get_store()
        step = 10 * 60 * SECOND
        for start in range(self.start_ns, self.stop_ns, step):
            store.write(simulator.frames(start, start + step))
        total = store.count_samples("BENCH-0", start_ns=0, stop_ns=2**62)
        print(
            f"data: {self.pmus} PMUs x {RATE} frames/s x 1 h = "
            f"{total * self.pmus:,} samples in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

    # --- measurements -----------------------------------------------------

    def power_speedup_vs_row_loop(self):
        samples = get_store().read_samples(
            "BENCH-0", start_ns=self.start_ns, stop_ns=self.stop_ns
        )
        window = 10 * SECOND
        records = [
            dict(zip(("_time", *FIELDS), row, strict=True))
            for row in zip(
                samples.time.tolist(),
                *(samples.columns[name].tolist() for name in FIELDS),
                strict=True,
            )
        ]

        def ours():
            accumulator = WindowAccumulator(
                start_ns=self.start_ns, stop_ns=self.stop_ns, window_ns=window
            )
            accumulator.add(samples.time, samples.columns)
            return window_figures(accumulator.result()[2])

        ours_s = self.timed(ours)
        loop_s = self.timed(lambda: _row_loop_power(records, window), repeats=3)
        self.record(
            "power_speedup_vs_row_loop",
            loop_s / ours_s,
            rows=len(records),
            ours_s=ours_s,
            row_loop_s=loop_s,
        )

    def timeseries_vs_store_scan(self):
        client = Client()
        params = {
            "pmu": "BENCH-0",
            "start": _rfc3339(self.start_ns),
            "stop": _rfc3339(self.stop_ns),
            "window": "10s",
        }

        def endpoint():
            response = client.get("/api/power_timeseries", params)
            assert response.status_code == 200, response.content[:200]

        def bare_scan():
            # The store's own scan of the same rows: read every column and
            # take plain per-window means, with no power terms.
            size = HOUR // (10 * SECOND)
            sums = np.zeros((len(FIELDS), size))
            for batch in get_store().iter_samples(
                "BENCH-0", start_ns=self.start_ns, stop_ns=self.stop_ns
            ):
                index = (batch.time - self.start_ns) // (10 * SECOND)
                for row, name in enumerate(FIELDS):
                    sums[row] += np.bincount(
                        index, weights=batch.columns[name], minlength=size
                    )
            return sums

        endpoint_s = self.timed(endpoint)
        scan_s = self.timed(bare_scan)
        self.record(
            "timeseries_vs_store_scan",
            endpoint_s / scan_s,
            endpoint_s=endpoint_s,
            store_scan_s=scan_s,
        )

    def import_vs_bulk_insert(self):
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        samples = get_store().read_samples(
            "BENCH-0", start_ns=self.start_ns, stop_ns=self.stop_ns
        )
        path = SCRATCH / "IMPORT-1.csv"
        table = pa.table(
            {"time": samples.time, **{n: samples.columns[n] for n in FIELDS}}
        )
        pa_csv.write_csv(table, path)

        def fresh_store(name):
            settings.PMU_STORE_PATH = str(SCRATCH / name)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{settings.PMU_STORE_PATH}{suffix}").unlink(missing_ok=True)
            reset_store()

        def bulk():
            fresh_store("bulk.sqlite3")
            get_store().write([Samples("IMPORT-1", samples.time, samples.columns)])

        def command():
            fresh_store("import.sqlite3")
            call_command("import_pmu_csv", str(path), stdout=io.StringIO())

        original = settings.PMU_STORE_PATH
        try:
            bulk_s = self.timed(bulk, repeats=5)
            import_s = self.timed(command, repeats=5)
        finally:
            settings.PMU_STORE_PATH = original
            reset_store()
        n = len(samples)
        self.record(
            "import_vs_bulk_insert",
            bulk_s / import_s,
            samples=n,
            import_per_s=n / import_s,
            bulk_per_s=n / bulk_s,
            csv_mb=path.stat().st_size / 1e6,
        )

    def served(self):
        return Server()

    def power_a_throughput_vs_ceiling(self, server):
        power_a = f"{server.url}/api/power_a?pmu=BENCH-0&phasor=a&start=-1h"
        noop = f"{server.url}/api/_bench/noop"
        _get(power_a)
        rates = {"noop": [], "power_a": []}
        for _ in range(3):
            rates["noop"].append(_load(noop, self.load_seconds))
            rates["power_a"].append(_load(power_a, self.load_seconds))
        noop_rps = statistics.median(rates["noop"])
        power_rps = statistics.median(rates["power_a"])
        self.record(
            "power_a_throughput_vs_ceiling",
            power_rps / noop_rps,
            power_a_rps=power_rps,
            noop_rps=noop_rps,
            generator=_generator(),
        )

    def data_peak_rss_over_body(self, server):
        samples = get_store().read_samples(
            "BENCH-0", start_ns=self.start_ns, stop_ns=self.stop_ns
        )
        rows = settings.PMU_MAX_ROWS
        url = (
            f"{server.url}/api/data?pmu=BENCH-0"
            f"&start={_rfc3339(samples.time[0])}"
            f"&stop={_rfc3339(samples.time[rows - 1] + 1)}"
        )
        ratios, sizes = [], []
        for _ in range(self.repeats):
            before = server.reset_peak()
            size = _get(url)
            peak = server.peak()
            ratios.append((peak - before) / size)
            sizes.append(size)
        self.record(
            "data_peak_rss_over_body",
            statistics.median(ratios),
            rows=rows,
            body_mb=statistics.median(sizes) / 1e6,
            growth_mb=statistics.median(ratios) * sizes[0] / 1e6,
        )

    def flux_parse_speedup(self):
        from bench import flux_parse

        figures = flux_parse.measure(rows=50_000, repeat=self.repeats)
        figures["ratio"] = figures.pop("speedup")
        self.record(
            "flux_parse_speedup",
            figures["ratio"],
            **{k: v for k, v in figures.items() if k != "ratio"},
        )

    def alert_tick_fraction(self):
        from bench import alerts as alert_bench

        figures = alert_bench.tick_fraction(pmus=1000, rules=4, repeats=self.repeats)
        self.record("alert_tick_fraction", figures.pop("ratio"), **figures)

    def ws_fanout_p99_seconds(self):
        from bench import alerts as alert_bench

        figures = alert_bench.fanout(clients=500, alerts=50 if self.quick else 200)
        self.record("ws_fanout_p99_seconds", figures.pop("p99_s"), **figures)


class Server:
    """A daphne process on a free loopback port, serving bench.settings."""

    def __init__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = start_daphne(
            {**os.environ, **SERVER_ENV}, port, SCRATCH / "server.log"
        )

    def _status(self, field):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"{field} not in /proc status")

    def reset_peak(self):
        # Writing 5 to clear_refs resets the peak resident set size (Linux).
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return self._status("VmRSS")

    def peak(self):
        return self._status("VmHWM")

    def close(self):
        stop(self.process)


def _row_loop_power(records, window):
    """Power one record at a time in Python, as the replaced backend did."""
    import math

    sums = {}
    for record in records:
        key = record["_time"] // window
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = {"n": 0}
        acc["n"] += 1
        for phase in "abc":
            v, i = record[f"v_{phase}_mag"], record[f"i_{phase}_mag"]
            phi = math.radians(record[f"v_{phase}_ang"] - record[f"i_{phase}_ang"])
            for name, value in (
                (f"p_{phase}", v * i * math.cos(phi)),
                (f"q_{phase}", v * i * math.sin(phi)),
                (f"s_{phase}", v * i),
                (f"v_{phase}", v),
                (f"i_{phase}", i),
            ):
                acc[name] = acc.get(name, 0.0) + value
        for kind in "vi":
            for phase in "abc":
                angle = math.radians(record[f"{kind}_{phase}_ang"])
                acc[f"{kind}{phase}s"] = acc.get(f"{kind}{phase}s", 0.0) + math.sin(
                    angle
                )
                acc[f"{kind}{phase}c"] = acc.get(f"{kind}{phase}c", 0.0) + math.cos(
                    angle
                )
    rows = []
    for key, acc in sorted(sums.items()):
        n = acc["n"]
        row = {"time": (key + 1) * window}
        total_p = total_q = total_s = 0.0
        for phase in "abc":
            p, q, s = (acc[f"{x}_{phase}"] / n for x in "pqs")
            row[f"PF_{phase}"] = p / s if s else 0.0
            total_p, total_q, total_s = total_p + p, total_q + q, total_s + s
        for kind in "vi":
            for phase in "abc":
                row[f"{kind}_{phase}_ang"] = math.degrees(
                    math.atan2(acc[f"{kind}{phase}s"] / n, acc[f"{kind}{phase}c"] / n)
                )
        row.update(P=total_p, Q=total_q, S=total_s, PF=total_p / total_s)
        rows.append(row)
    return rows


def _get(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
        return size


def _generator():
    return "wrk" if shutil.which("wrk") else "python"


def _load(url, seconds):
    """Requests per second that a loopback load generator gets from `url`."""
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "10s", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                return float(line.split()[1])
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    script = Path(__file__).with_name("loadgen.py")
    out = subprocess.run(
        [sys.executable, str(script), url, str(seconds), "16"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip())


def _rfc3339(ns):
    return str(np.datetime64(int(ns), "ns")) + "Z"


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 PMUs and fewer repeats; under five minutes",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    bench = Bench(quick=args.quick)
    started = time.perf_counter()
    try:
        bench.build_data()
        bench.power_speedup_vs_row_loop()
        bench.timeseries_vs_store_scan()
        bench.import_vs_bulk_insert()
        bench.flux_parse_speedup()
        bench.alert_tick_fraction()
        server = bench.served()
        try:
            bench.power_a_throughput_vs_ceiling(server)
            bench.data_peak_rss_over_body(server)
        finally:
            server.close()
        bench.ws_fanout_p99_seconds()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)

    elapsed = time.perf_counter() - started
    print(f"finished in {elapsed:.0f} s", flush=True)
    if args.json:
        report = {
            **bench.results,
            "targets": {k: f"{op} {t}" for k, (op, t) in TARGETS.items()},
            "details": bench.details,
            "mode": "quick" if args.quick else "full",
            "seconds": round(elapsed, 1),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
            },
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

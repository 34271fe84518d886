"""The embedded store across processes: readers during writes, killed writers."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from measurements.gateway import Samples
from measurements.power import FIELDS
from measurements.stores.embedded import CHUNK_SIZE, EmbeddedStore
from pmuproject.errors import StoreError

REPO = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000_000_000_000
BATCH = 1000

WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from measurements.gateway import Samples
    from measurements.power import FIELDS
    from measurements.stores.embedded import EmbeddedStore
    store = EmbeddedStore(sys.argv[1])
    batch, t0 = int(sys.argv[2]), int(sys.argv[3])
    for k in range(int(sys.argv[4])):
        times = t0 + (k * batch + np.arange(batch, dtype=np.int64)) * 1000
        columns = {name: np.full(batch, float(k)) for name in FIELDS}
        store.write([Samples("P1", times, columns)])
        print(k, flush=True)
    """
)

READER = textwrap.dedent(
    """
    import sys, numpy as np
    from measurements.stores.embedded import EmbeddedStore
    store = EmbeddedStore(sys.argv[1])
    last = 0
    for _ in range(int(sys.argv[2])):
        samples = store.read_samples("P1", start_ns=0, stop_ns=2**62)
        n = len(samples)
        assert n >= last, (n, last)
        assert n % int(sys.argv[3]) == 0, n
        assert np.all(np.diff(samples.time) > 0)
        last = n
    print("ok", last)
    """
)


def python(code, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        **kwargs,
    )


def test_readers_in_other_processes_see_whole_writes_only(tmp_path):
    path = tmp_path / "store.sqlite3"
    EmbeddedStore(path).list_pmus()
    writer = python(WRITER, path, BATCH, T0, 300)
    readers = [python(READER, path, 200, BATCH) for _ in range(2)]

    outputs = [reader.communicate(timeout=120) for reader in readers]
    writer.communicate(timeout=120)

    for reader, (out, err) in zip(readers, outputs, strict=True):
        assert reader.returncode == 0, err
        assert out.startswith("ok")
    assert writer.returncode == 0
    final = EmbeddedStore(path).count_samples("P1", start_ns=0, stop_ns=2**62)
    assert final == 300 * BATCH


def test_a_killed_writer_leaves_only_whole_batches(tmp_path):
    path = tmp_path / "store.sqlite3"
    writer = python(WRITER, path, BATCH, T0, 100_000)
    written = 0
    while written < 20:
        line = writer.stdout.readline()
        assert line, writer.stderr.read()
        written = int(line)

    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)

    samples = EmbeddedStore(path).read_samples("P1", start_ns=0, stop_ns=2**62)
    assert len(samples) >= 20 * BATCH
    assert len(samples) % BATCH == 0
    batch_of = samples.columns["v_a_mag"].astype(int)
    assert np.array_equal(np.bincount(batch_of), np.full(len(samples) // BATCH, BATCH))


def make(times, value):
    times = np.asarray(times, dtype=np.int64)
    return Samples("P1", times, {name: np.full(len(times), value) for name in FIELDS})


def test_overlapping_writes_replace_and_keep_order(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    store.write([make(T0 + np.arange(0, 5000) * 10, 1.0)])

    store.write([make(T0 + np.arange(2500, 7500) * 10, 2.0)])
    store.write([make(T0 + np.arange(-100, 3) * 10 + 5, 3.0)])

    samples = store.read_samples("P1", start_ns=0, stop_ns=2**62)
    assert len(samples) == 7500 + 103
    assert np.all(np.diff(samples.time) > 0)
    values = dict(zip(samples.time.tolist(), samples.columns["v_a_mag"], strict=True))
    assert values[T0 + 2499 * 10] == 1.0
    assert values[T0 + 2500 * 10] == 2.0
    assert values[T0 + 5] == 3.0


def test_many_small_appends_fill_chunks_instead_of_making_tiny_ones(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    for k in range(200):
        store.write([make(T0 + np.arange(k * 30, (k + 1) * 30) * 1000, 1.0)])

    db = store._connection()
    chunks = db.execute("SELECT n FROM chunk ORDER BY t_first").fetchall()

    assert sum(n for (n,) in chunks) == 6000
    assert len(chunks) <= 6000 // CHUNK_SIZE + 1


def test_an_unreadable_store_raises_a_store_error(tmp_path, caplog):
    from pmuproject.errors import StoreError

    path = tmp_path / "not-a-database.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    store = EmbeddedStore(path)

    with pytest.raises(StoreError) as error:
        store.list_pmus()

    assert "cannot be opened" in error.value.detail
    assert str(path) in caplog.text
    assert store.health()["ok"] is False


def test_readers_see_the_last_commit_while_a_write_is_open(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite3")
    store.write([make(T0 + np.arange(10), 1.0)])
    writer = EmbeddedStore(tmp_path / "store.sqlite3")._connect(shared=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM chunk")
    try:
        assert store.count_samples("P1", start_ns=0, stop_ns=2**62) == 10
    finally:
        writer.execute("ROLLBACK")


def test_an_outage_is_logged_once_and_its_end_once(tmp_path, caplog):
    from pmuproject.errors import StoreError

    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"garbage, not a database" * 100)
    store = EmbeddedStore(path)
    for _ in range(5):
        with pytest.raises(StoreError):
            store.list_pmus()

    path.unlink()
    assert store.list_pmus() == []
    assert store.list_pmus() == []

    messages = [record.getMessage() for record in caplog.records]
    assert sum("failed" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1


def test_a_file_replaced_under_open_connections_is_an_outage_until_restored(
    tmp_path, caplog
):
    path = tmp_path / "store.sqlite3"
    store = EmbeddedStore(path)
    store.write([make(T0 + np.arange(10), 1.0)])
    assert store.count_samples("P1", start_ns=0, stop_ns=2**62) == 10
    saved = tmp_path / "saved.sqlite3"
    store.close()
    path.rename(saved)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"store.sqlite3{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"garbage, not a database" * 1000)

    for _ in range(3):
        with pytest.raises(StoreError):
            store.count_samples("P1", start_ns=0, stop_ns=2**62)
        assert store.health()["ok"] is False
    path.unlink()
    saved.rename(path)

    assert store.count_samples("P1", start_ns=0, stop_ns=2**62) == 10
    messages = [record.getMessage() for record in caplog.records]
    assert sum("failed" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1

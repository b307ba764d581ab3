"""The Dask engine on a real LocalCluster (worker processes): same table as the local engine,
reruns compute nothing, killed workers, cancellation, the CLI end to end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from mmviewer.core.embed.dask_engine import LOST, DaskUnavailable, embedding_job_dask  # noqa: E402
from mmviewer.core.embed.options import EmbedOptions, embedding_job, open_path  # noqa: E402
from mmviewer.core.runtime.generators import run_to_end  # noqa: E402
from tests.fake_encoders import CountingEncoder  # noqa: E402

pytestmark = pytest.mark.slow
OFFLINE = EmbedOptions(offline=True)
N = 12


class SlowEncoder(CountingEncoder):
    """A counting encoder that takes a while per batch, so a worker can be killed mid-run."""

    batch_size = 2

    def encode(self, payloads):
        time.sleep(0.15)
        return super().encode(payloads)


def slow_encoders():
    return {m: SlowEncoder(m) for m in ("image", "text", "audio")}


def build(folder, make, n=N):
    for i in range(n):
        make.item(folder, f"it{i:02d}", image_color=(i * 20, 90, 250 - i * 20),
                  words=f"item {i} is {'red green blue'.split()[i % 3]} number {i * 7}",
                  freq=180 + 45 * i)
    (folder / "broken.png").write_bytes(b"definitely not a png")
    return folder


def twin(folder, tmp_path, name):
    """A fresh copy of a dataset folder (its own store)."""
    return shutil.copytree(folder, tmp_path / name)


def drain(gen, on_progress=None):
    while True:
        try:
            progress = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:
        yield local


def dask_run(folder, cluster, options=OFFLINE, encoders=None, **kw):
    gen = embedding_job_dask(open_path(folder, options), options, encoders,
                             scheduler=cluster.scheduler_address, partition_size=4, **kw)
    return run_to_end(gen)


def assert_same_tables(a, b):
    assert list(a.ids) == list(b.ids)
    assert a.encoders == b.encoders
    assert set(a.vectors) == set(b.vectors)
    for m in a.vectors:
        np.testing.assert_array_equal(a.present[m], b.present[m])
        assert np.allclose(a.vectors[m], b.vectors[m], atol=1e-5), m


def test_same_table_and_report_as_the_local_engine(tmp_path, make, cluster):
    data = build(tmp_path / "data", make)
    local = run_to_end(embedding_job(open_path(twin(data, tmp_path, "a")), OFFLINE))
    remote = dask_run(twin(data, tmp_path, "b"), cluster)
    assert_same_tables(local.table, remote.table)
    assert remote.stats["modalities"] == {"image": N, "text": N, "audio": N}
    assert remote.summary().keys() == local.summary().keys()
    assert remote.summary()["skipped"] == local.summary()["skipped"]
    assert "broken.png" in {p.path for p in remote.report.skipped}
    assert (remote.stats["computed"], remote.stats["cached"]) == (3 * N, 0)
    again = dask_run(tmp_path / "b", cluster)
    assert (again.stats["computed"], again.stats["cached"]) == (0, 3 * N)
    assert_same_tables(local.table, again.table)


def test_without_a_store_vectors_come_back_to_the_driver(tmp_path, make, cluster):
    data = build(tmp_path / "data", make, n=5)
    options = EmbedOptions(offline=True, use_store=False)
    local = run_to_end(embedding_job(open_path(data), options))
    remote = dask_run(data, cluster, options)
    assert_same_tables(local.table, remote.table)
    assert not (data / ".mmviewer" / "vectors").exists()


def kill_a_busy_worker(client) -> bool:
    """SIGKILL one worker process that is running a task; False when none is."""
    busy = [addr for addr, keys in client.processing().items() if keys]
    if not busy:
        return False
    pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
    os.kill(pid, signal.SIGKILL)
    return True


def run_and_kill(folder, cluster):
    """Run with slow encoders; kill a busy worker once the first partition has finished."""
    from distributed import Client

    killed = []
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        def on_progress(progress):
            if not killed and progress.stage == "encoding" and progress.done > 0:
                if kill_a_busy_worker(client):
                    killed.append(progress)

        gen = embedding_job_dask(open_path(folder), OFFLINE, slow_encoders(),
                                 scheduler=cluster.scheduler_address, partition_size=4)
        result = drain(gen, on_progress)
    assert killed, "no worker was busy after the first partition"
    return result


def test_a_killed_worker_is_replaced_and_the_job_finishes(tmp_path, make, cluster):
    data = build(tmp_path / "data", make)
    local = run_to_end(embedding_job(open_path(twin(data, tmp_path, "a")), OFFLINE, slow_encoders()))
    result = run_and_kill(twin(data, tmp_path, "b"), cluster)
    assert LOST not in {p.reason for p in result.report.skipped}
    assert result.stats["modalities"] == {"image": N, "text": N, "audio": N}
    assert_same_tables(local.table, result.table)


def test_a_partition_lost_beyond_retries_is_reported_and_a_rerun_finishes_it(tmp_path, make):
    import dask
    from distributed import LocalCluster

    data = build(tmp_path / "data", make)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as fragile:
        first = run_and_kill(data, fragile)
        # broken.png is reported as lost too when its partition is: nobody could look at it.
        lost = {p.path for p in first.report.skipped if p.reason == LOST} - {"broken.png"}
        assert lost and not first.cancelled
        assert first.stats["computed"] + len(lost) == 3 * N
        again = dask_run(data, fragile, encoders=slow_encoders())
    assert again.stats["computed"] == len(lost)
    assert again.stats["modalities"] == {"image": N, "text": N, "audio": N}
    assert LOST not in {p.reason for p in again.report.skipped}


def test_cancel_keeps_finished_partitions(tmp_path, make, cluster):
    data = build(tmp_path / "data", make)
    cancel = threading.Event()
    gen = embedding_job_dask(open_path(data), OFFLINE, slow_encoders(),
                             scheduler=cluster.scheduler_address, partition_size=4, cancel=cancel)

    def on_progress(progress):
        if progress.stage == "encoding" and progress.done > 0:
            cancel.set()

    first = drain(gen, on_progress)
    assert first.cancelled and 0 < first.stats["computed"] < 3 * N
    again = dask_run(data, cluster, encoders=slow_encoders())
    assert again.stats["computed"] == 3 * N - first.stats["computed"]
    assert again.stats["cached"] == first.stats["computed"]


def test_closing_the_generator_cancels_and_keeps_finished_partitions(tmp_path, make, cluster):
    """What the CLI does on Ctrl-C (its local workers ignore the terminal's SIGINT)."""
    data = build(tmp_path / "data", make)
    gen = embedding_job_dask(open_path(data), OFFLINE, slow_encoders(),
                             scheduler=cluster.scheduler_address, partition_size=4)
    for progress in gen:
        if progress.stage == "encoding" and progress.done > 0:
            gen.close()
    again = dask_run(data, cluster, encoders=slow_encoders())
    assert 0 < again.stats["cached"] < 3 * N
    assert again.stats["computed"] == 3 * N - again.stats["cached"]


def test_missing_extra_names_it(tmp_path, make, monkeypatch, capsys):
    import importlib.util

    from mmviewer.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    data = build(tmp_path / "data", make, n=2)
    with pytest.raises(DaskUnavailable, match=r"\.\[dask\]"):
        embedding_job_dask(open_path(data), OFFLINE)
    assert main(["embed", str(data), "--engine", "dask", "--offline"]) == 1
    assert "'dask' extra" in capsys.readouterr().err


def test_cli_engine_dask_end_to_end(tmp_path, make, cluster):
    data = build(tmp_path / "data", make, n=6)
    cmd = [sys.executable, "-m", "mmviewer", "embed", str(data), "--offline", "--json",
           "--engine", "dask"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.run(cmd + ["--workers", "2"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["modalities"] == {"image": 6, "text": 6, "audio": 6}
    assert summary["computed"] == 18 and not summary["cancelled"]
    assert [s["path"] for s in summary["skipped"]] == ["broken.png"]
    again = subprocess.run(cmd + ["--scheduler", cluster.scheduler_address], capture_output=True,
                           text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["computed"] == 0

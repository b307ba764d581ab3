"""Nothing outlives the app or the CLI, whatever kills it (run as a user would: real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                   reason="reads /proc")]

ROOT = Path(__file__).resolve().parents[1]


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    table = _proc_table()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pids) -> set[int]:
    """Those still running (a zombie waiting for a reaper runs nothing and holds no memory)."""
    table = _proc_table()
    return {p for p in pids if p in table and table[p][1] != "Z"}


def wait_for_descendants(pid: int, count: int, timeout_s: float) -> set[int]:
    return wait_for(lambda: (d if len(d := descendants(pid)) >= count else None), timeout_s,
                    f"{count} helper processes")


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Enough items with audio that the embedding job starts its decoding processes."""
    from tests import media_factory as make

    root = tmp_path_factory.mktemp("items")
    for i in range(240):
        make.item(root, f"x{i:03d}", image_color=((37 * i) % 255, (11 * i) % 255, 90),
                  words=f"item {i} says {i % 7}", freq=200 + 5 * i)
    return root


def start(args, tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "mmviewer", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_a_killed_embed_leaves_no_process(folder, tmp_path, sig):
    store = folder / ".mmviewer"
    if store.exists():
        import shutil

        shutil.rmtree(store)
    proc = start(["embed", str(folder), "--offline", "--workers", "2"], tmp_path)
    try:
        # the forkserver and its decoding workers are up: at least three descendants
        helpers = wait_for_descendants(proc.pid, 3, 120)
        proc.send_signal(sig)
        proc.wait(30)
        time.sleep(5)
        assert alive(helpers) == set()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_window_saves_its_session_and_leaves_no_process_on_sigterm_and_sighup(folder, tmp_path, sig):
    session = folder / ".mmviewer" / "session.json"
    if session.exists():
        session.unlink()
    proc = start([str(folder), "--offline"], tmp_path)
    try:
        # the layout child (forkserver + its child) is up and the table is shown
        helpers = wait_for_descendants(proc.pid, 2, 120)
        wait_for(lambda: (folder / ".mmviewer" / "snapshot" / "meta.json").exists(), 180, "the embedding")
        time.sleep(2)  # the table reaches the window
        helpers |= descendants(proc.pid)
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        time.sleep(5)
        assert alive(helpers | descendants(proc.pid)) == set()
        assert json.loads(session.read_text())["weights"]  # the session was saved on the way out
    finally:
        if proc.poll() is None:
            proc.kill()

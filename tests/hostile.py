"""Watching a hostile-input case: what it ran, what it touched outside, whether it hung.

``watch(outside)`` records, through one process-wide audit hook (``sys.addaudithook`` cannot be
undone, so the hook dispatches to whichever watches are active), every process started
(``subprocess.Popen``, ``os.system``, ``os.exec*``, ``os.posix_spawn``, ``os.fork``) and every
path opened, listed, created, renamed or removed whose real location is inside one of the
``outside`` folders (a link is resolved, except for an ``open`` with ``O_NOFOLLOW``, which
does not follow it). ``finishes(func, ...)`` runs a case in a daemon thread and fails if it
has not returned within the time limit, instead of hanging the run.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty")
PATH_EVENTS = ("open", "os.listdir", "os.scandir", "os.mkdir", "os.rename", "os.replace",
               "os.remove", "os.rmdir", "shutil.rmtree", "os.symlink", "os.truncate", "os.chmod")

NO_FOLLOW = ("os.remove", "os.rename", "os.replace", "os.rmdir", "os.symlink", "os.mkdir")

_active: list[Watch] = []
_inside = threading.local()


class Watch:
    def __init__(self, outside: list[Path]) -> None:
        self.outside = [os.path.realpath(p) for p in outside]
        self.processes: list[tuple] = []
        self.touched: list[tuple[str, str]] = []

    def see(self, event: str, args: tuple) -> None:
        if event in PROCESS_EVENTS:
            self.processes.append((event, tuple(map(str, args[:2]))))
            return
        if event not in PATH_EVENTS:
            return
        # These act on a link itself, not on what it names; so does an O_NOFOLLOW open.
        nofollow = event in NO_FOLLOW or (
            event == "open" and isinstance(args[-1], int) and args[-1] & os.O_NOFOLLOW)
        for arg in args[:2]:
            if isinstance(arg, (str, bytes, os.PathLike)):
                path = os.fsdecode(arg)
                real = (os.path.join(os.path.realpath(os.path.dirname(path) or "."), os.path.basename(path))
                        if nofollow else os.path.realpath(path))
                if any(real == o or real.startswith(o + os.sep) for o in self.outside):
                    self.touched.append((event, path))

    def assert_clean(self) -> None:
        assert self.processes == [], f"programs were run: {self.processes}"
        assert self.touched == [], f"paths outside the dataset were touched: {self.touched}"


def _hook(event: str, args: tuple) -> None:
    if not _active or getattr(_inside, "busy", False):
        return
    _inside.busy = True  # resolving a path raises audit events of its own
    try:
        for w in list(_active):
            w.see(event, args)
    finally:
        _inside.busy = False


sys.addaudithook(_hook)


@contextmanager
def watch(*outside: Path):
    """Record processes and outside paths while the block runs; fail at its end if any."""
    w = Watch(list(outside) + [Path("/etc/passwd"), Path("/etc/shadow")])
    _active.append(w)
    try:
        yield w
    finally:
        _active.remove(w)
    w.assert_clean()


def finishes(func, *args, timeout_s: float = 90.0):
    """``func(*args)``, failing (not hanging) when it has not returned within ``timeout_s``."""
    out: dict = {}

    def run():
        try:
            out["value"] = func(*args)
        except BaseException as err:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True, name="hostile-case")
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"{getattr(func, '__name__', func)} hung (> {timeout_s:.0f} s)"
    if "error" in out:
        raise out["error"]
    return out["value"]


def embed(folder: Path, **open_kw):
    """Scan and embed ``folder`` with the offline encoders and its own store, as ``mmviewer
    embed --offline`` does (threads only: fewer than 64 items never start a process pool)."""
    from mmviewer.core.data.open import open_dataset
    from mmviewer.core.embed.job import embed_dataset
    from mmviewer.core.embed.options import EmbedOptions, choose_encoders
    from mmviewer.core.runtime.generators import run_to_end
    from mmviewer.core.store.embedding_store import EmbeddingStore

    ds = open_dataset(folder, **open_kw)
    encoders, _ = choose_encoders(EmbedOptions(offline=True))
    return run_to_end(embed_dataset(ds, encoders, EmbeddingStore.for_dataset(ds.root), workers=2))


def good_items(folder: Path, make, n: int = 3) -> dict[str, tuple[str, ...]]:
    """``n`` by-stem items with an image and a caption; returns id -> modalities."""
    for i in range(n):
        make.image(folder / f"good{i}.png", (60 * i, 120, 200 - 50 * i))
        make.text(folder / f"good{i}.txt", f"a good caption number {i} about colours")
    return {f"good{i}": ("image", "text") for i in range(n)}


def assert_imported(result, expected: dict[str, tuple[str, ...]]) -> None:
    table = result.table
    for item_id, modalities in expected.items():
        assert item_id in set(map(str, table.ids)), f"{item_id} was not imported"
        row = table.index_of(item_id)
        for m in modalities:
            assert table.present[m][row], f"{item_id} lost its {m}"


def reasons(result) -> dict[str, str]:
    """Skipped path -> reason, and notes too (path -> reason, joined)."""
    out: dict[str, str] = {}
    for p in [*result.report.skipped, *result.report.notes]:
        out[p.path] = (out[p.path] + "; " if p.path in out else "") + p.reason
    return out


def unblock(fifo: Path) -> None:
    """Give a reader stuck on ``fifo`` (old code) its end of file, so the run can exit."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader waiting
    os.close(fd)

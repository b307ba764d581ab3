"""The embedding job: one generator that the CLI, the GUI and the tests all drive.

``embed_dataset`` yields :class:`Progress` after every batch and returns an :class:`EmbedResult`
(``result = yield from embed_dataset(...)``, or
:func:`~mmviewer.core.runtime.generators.run_to_end` to drain it). Decoding and
preprocessing (``Encoder.prepare``) run a few batches ahead in a worker pool while the job's own
thread encodes, so both cores stay busy. Each encoded batch is written to the store before the
next progress report, so cancelling (``cancel`` event, ``generator.close()``, Ctrl-C) or a crash
loses at most the batch in flight.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.data.media import MediaError
from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.model import Dataset, MediaRef
from mmviewer.core.data.report import ImportReport
from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.embed.deadline import Waiter, pool_size
from mmviewer.core.encoders.base import Encoder
from mmviewer.core.runtime.cancel import current_token
from mmviewer.core.runtime.processes import preload, process_context
from mmviewer.core.store.atomic import StoreWriteError
from mmviewer.core.store.embedding_store import EmbeddingStore, VectorShelf
from mmviewer.core.store.hashing import HashCache

# Decoding workers start with librosa imported and its numba code compiled (forkserver preload).
preload("mmviewer.core.encoders.audio_warm")

#: Below this many items a process pool costs more to start than it saves.
MIN_ITEMS_FOR_PROCESSES = 64


@dataclass
class Progress:
    """Where the job is: ``done`` of ``total`` units in ``stage`` for ``modality``."""

    stage: str  # "hashing", "fitting", "encoding"
    modality: str | None
    done: int
    total: int
    rate: float | None = None  # units per second in this stage
    eta_s: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass
class EmbedResult:
    table: EmbeddingTable
    report: ImportReport
    stats: dict = field(default_factory=dict)
    cancelled: bool = False

    def summary(self) -> dict:
        """The JSON summary ``mmviewer embed --json`` prints."""
        return {
            **self.stats,
            "cancelled": self.cancelled,
            "skipped": [{"path": p.path, "reason": p.reason} for p in self.report.skipped],
            "notes": [{"path": p.path, "reason": p.reason} for p in self.report.notes],
        }


_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _worker_init() -> None:
    """Set up a decoding worker process.

    Ctrl-C is handled once, by the parent; workers just stop when the pool shuts down. Each
    worker is one of ``workers`` processes sharing the cores, so its numerical libraries must
    not start a thread per core each: that oversubscription made MFCC extraction ~4x slower.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _ONE_THREAD:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # for libraries already loaded in this process
    except ImportError:
        pass


def _process_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: never fork a process that holds torch/OpenMP threads.
    return ProcessPoolExecutor(workers, mp_context=process_context(), initializer=_worker_init)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class _Cancelled(Exception):
    pass


def embed_dataset(
    dataset: Dataset,
    encoders: dict[str, Encoder],
    store: EmbeddingStore | None = None,
    *,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    read_ahead: int = 3,
) -> Generator[Progress, None, EmbedResult]:
    """Embed every item of ``dataset`` with ``encoders`` (modality -> encoder).

    Vectors already in ``store`` are loaded, the rest computed and persisted batch by batch.
    Setting ``cancel`` stops at the next batch boundary and returns what is done, with
    ``cancelled=True``. Bad media are reported in ``result.report``, never raised.
    """
    t0 = time.perf_counter()
    report = ImportReport()
    report.extend(dataset.report)
    if dataset.precomputed is not None:
        table = dataset.precomputed
        stats = _stats(table, cached=0, computed=0, seconds=time.perf_counter() - t0)
        return EmbedResult(table, report, stats)

    workers = workers or default_workers()
    hashes = HashCache(store.root / "files.parquet" if store else None)
    threads = ThreadPoolExecutor(workers, thread_name_prefix="mmviewer-prepare")
    processes: ProcessPoolExecutor | None = None
    # modality -> (shelf, {item index: content hash}); resolved to vectors at the end, so a
    # cancelled job still returns everything that was cached or computed.
    keys: dict[str, tuple[VectorShelf, dict[int, str]]] = {}
    counters = {"cached": 0, "computed": 0}
    cancelled = False
    try:
        for modality in [m for m in MODALITIES if m in encoders]:
            encoder = encoders[modality]
            refs = [(i, it.media[modality]) for i, it in enumerate(dataset.items) if modality in it.media]
            if not refs:
                continue
            keyed = yield from _hash_all(refs, modality, hashes, report, cancel)
            pool: Executor = threads
            if encoder.prepare_in_processes and len(keyed) >= MIN_ITEMS_FOR_PROCESSES and workers > 1:
                processes = processes or _process_pool(workers)
                pool = processes
            if encoder.needs_fit and (yield from _fit(encoder, keyed, pool, store, report)) is False:
                continue  # not one readable text: the other modalities still go on
            shelf = store.shelf(encoder.id, encoder.dim) if store else _memory_shelf(encoder)
            keys[modality] = (shelf, {})
            yield from _encode_all(
                encoder, keyed, shelf, pool, read_ahead, keys[modality][1], counters, report, cancel
            )
            _compact(shelf, report)
    except _Cancelled:
        cancelled = True
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
        if processes is not None:
            processes.shutdown(wait=False, cancel_futures=True)
        hashes.save()
        note_store_problems(store, report)
    table = _assemble(dataset, encoders, keys)
    stats = _stats(table, seconds=time.perf_counter() - t0, **counters)
    stats["hash_cache_hits"] = hashes.hits
    return EmbedResult(table, report, stats, cancelled)


def note_store_problems(store: EmbeddingStore | None, report: ImportReport) -> None:
    """Move what the store found (a dropped shard, a refused link) into the import report."""
    if store is not None:
        for problem in store.problems:
            report.note(problem.path, problem.reason)
        store.problems.clear()


def _memory_shelf(encoder: Encoder) -> VectorShelf:
    """A shelf that never touches disk (no store: tests, precomputed-only sessions)."""
    from pathlib import Path

    shelf = VectorShelf(Path(os.devnull) / "none", encoder.id, encoder.dim)
    shelf.persist = False
    return shelf


def _check_cancel(cancel: threading.Event | None) -> None:
    """Stop at a batch boundary when the user stopped the job (``cancel``) or its runner
    cancelled it (a newer request, quitting); what is done is returned and kept."""
    token = current_token()
    if (cancel is not None and cancel.is_set()) or (token is not None and token.cancelled):
        raise _Cancelled


def _hash_all(refs, modality, hashes: HashCache, report, cancel):
    """Content-hash every media file; unreadable ones are reported and dropped."""
    keyed: list[tuple[int, MediaRef, str]] = []
    total, t0 = len(refs), time.perf_counter()
    last = t0
    for n, (i, ref) in enumerate(refs, start=1):
        try:
            keyed.append((i, ref, hashes.hash_of(ref)))
        except OSError as err:
            report.skip(ref.label, f"unreadable ({err.strerror or err})")
        now = time.perf_counter()
        if now - last > 0.2 or n == total:
            last = now
            _check_cancel(cancel)
            yield Progress("hashing", modality, n, total, *_rate_eta(n, total, now - t0))
    return keyed


def _prepare_one(encoder: Encoder, ref: MediaRef):
    """Runs in a worker: returns ``Loaded`` or the reason the item cannot be used."""
    try:
        return encoder.prepare(ref)
    except MediaError as err:
        return str(err)
    except MemoryError:
        return "out of memory while decoding"
    except Exception as err:  # a decoder bug must cost one item, not the whole job
        return f"could not decode ({type(err).__name__}: {err})"


def _fit(encoder: Encoder, keyed, pool: Executor, store, report):
    """Prepare the whole corpus, then restore a saved fit for it or fit and save one.

    Only cheap-to-prepare modalities (text) are corpus-fitted, so preparing them again in
    ``_encode_all`` costs less than holding every payload for the whole job. Returns the
    store key of the fitted state (what the Dask engine's workers restore it from), None
    when it is not in the store, or False when no item could be prepared (each is reported).
    """
    total = len(keyed)
    yield Progress("fitting", encoder.modality, 0, total)
    refs = [ref for _, ref, _ in keyed]
    waiter = Waiter(pool_size(pool))
    loaded = [waiter.result(f) for f in [pool.submit(_prepare_one, encoder, ref) for ref in refs]]
    payloads = [one.value for one in loaded if not isinstance(one, str)]
    if not payloads:
        for ref, reason in zip(refs, loaded, strict=True):
            report.skip(ref.label, reason)
        return False
    fingerprint = encoder.corpus_fingerprint(payloads)
    key = f"{encoder.modality}:{fingerprint}" if store is not None else None
    state = store.load_state(key) if store else None
    if state is not None:
        encoder.load_state_arrays(state)
    else:
        encoder.fit(payloads)
        if store is not None:
            try:
                store.save_state(key, encoder.state_arrays())
            except StoreWriteError as err:
                key = None
                report.note(str(store.root), f"could not save the fitted {encoder.modality} encoder: {err}")
    yield Progress("fitting", encoder.modality, total, total)
    return key


def _encode_all(encoder, keyed, shelf, pool, read_ahead, out, counters, report, cancel):
    """Load cached vectors, compute the rest in pipelined batches, persist each batch."""
    modality, total = encoder.modality, len(keyed)
    todo = []
    for i, ref, key in keyed:
        if key in shelf:
            out[i] = key
        else:
            todo.append((i, ref, key))
    counters["cached"] += len(out)
    done = len(out)
    yield Progress("encoding", modality, done, total)

    batch = max(1, encoder.batch_size)
    chunks: Iterable = (todo[s : s + batch] for s in range(0, len(todo), batch))
    pending: deque[tuple[list, list[Future]]] = deque()
    t0 = time.perf_counter()
    store_failed = False
    waiter = Waiter(pool_size(pool), lambda: _check_cancel(cancel))

    def submit_next() -> bool:
        chunk = next(chunks, None)
        if chunk is None:
            return False
        pending.append((chunk, [pool.submit(_prepare_one, encoder, ref) for _, ref, _ in chunk]))
        return True

    while len(pending) < read_ahead and submit_next():
        pass
    computed = 0
    while pending:
        _check_cancel(cancel)
        chunk, futures = pending.popleft()
        submit_next()
        good, payloads = [], []
        for (i, ref, key), fut in zip(chunk, futures, strict=True):
            loaded = waiter.result(fut)
            if isinstance(loaded, str):
                report.skip(ref.label, loaded)
                continue
            for note in loaded.notes:
                report.note(ref.label, note)
            good.append((i, key))
            payloads.append(loaded.value)
        if payloads:
            vecs = np.asarray(encoder.encode(payloads), dtype=np.float32)
            keys = [key for _, key in good]
            try:
                shelf.add(keys, vecs)
            except StoreWriteError as err:
                if not store_failed:
                    store_failed = True
                    report.note(str(shelf.folder), f"{err}; embeddings are kept for this session only")
            for i, key in good:
                out[i] = key
            computed += len(good)
        done += len(chunk)
        elapsed = time.perf_counter() - t0
        yield Progress("encoding", modality, done, total, *_rate_eta(computed, len(todo), elapsed))
    counters["computed"] += computed


def _compact(shelf: VectorShelf, report: ImportReport) -> None:
    if not shelf.persist:
        return
    try:
        shelf.compact(force=True)
    except StoreWriteError as err:
        report.note(str(shelf.folder), f"could not compact the store: {err}")


def _rate_eta(done: int, total: int, elapsed: float) -> tuple[float | None, float | None]:
    if done <= 0 or elapsed <= 0:
        return None, None
    rate = done / elapsed
    return rate, max(0.0, (total - done) / rate)


def _assemble(dataset: Dataset, encoders, keys: dict[str, tuple[VectorShelf, dict[int, str]]]) -> EmbeddingTable:
    """Items with at least one embedded modality, in dataset order."""
    keep = sorted({i for _, by_item in keys.values() for i in by_item})
    position = {i: r for r, i in enumerate(keep)}
    mats, present = {}, {}
    for modality, (shelf, by_item) in keys.items():
        if not by_item:
            continue
        rows = np.fromiter((position[i] for i in by_item), dtype=np.int64, count=len(by_item))
        mat = np.zeros((len(keep), shelf.dim), dtype=np.float32)
        mask = np.zeros(len(keep), dtype=bool)
        mat[rows] = shelf.get_many(list(by_item.values()))
        mask[rows] = True
        mats[modality] = l2_normalise(mat)
        present[modality] = mask
    items = [dataset.items[i] for i in keep]
    columns = dataset.metadata_columns
    metadata = {c: np.asarray([it.metadata.get(c, "") for it in items], dtype=object) for c in columns}
    ids = np.asarray([it.id for it in items], dtype=object)
    used = {m: encoders[m].id for m in mats}
    digest = _content_digest(ids, {m: by_item for m, (_, by_item) in keys.items()}, keep, used, metadata)
    return EmbeddingTable(ids, mats, present, used, metadata, content_digest=digest)


def _content_digest(ids, keys_by_modality, keep, encoder_ids, metadata) -> str:
    """What the table is made of: ids, per-modality content hashes, encoder ids, metadata."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    h.update(repr(sorted(encoder_ids.items())).encode())
    for modality in sorted(keys_by_modality):
        by_item = keys_by_modality[modality]
        h.update(modality.encode())
        h.update("\0".join(by_item.get(i, "") for i in keep).encode())
    h.update("\0".join(map(str, ids)).encode())
    for column in sorted(metadata):
        h.update(column.encode())
        h.update("\0".join(map(str, metadata[column])).encode())
    return h.hexdigest()


def _stats(table: EmbeddingTable, *, cached: int, computed: int, seconds: float) -> dict:
    return {
        "items": int(table.n_items),
        "modalities": {m: int(table.present[m].sum()) for m in table.vectors},
        "encoders": dict(table.encoders),
        "cached": int(cached),
        "computed": int(computed),
        "seconds": round(seconds, 3),
    }

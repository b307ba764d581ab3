"""The embedding job on a Dask cluster, with the contract of :func:`~.job.embed_dataset`.

The driver hashes media and fits corpus-fitted encoders with the local job's helpers, then feeds
the items missing from the store, in partitions, to a local or an existing ``dask.distributed``
cluster. Each worker builds its encoder once (a fitted one restores its state from the store),
runs the local job's batch loop and writes one atomic shard per batch into the same store, on
storage that workers and driver share; the driver re-reads it and assembles the table as the
local engine does. A partition lost beyond Dask's retries is reported.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import threading
import time
from collections.abc import Generator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.model import Dataset
from mmviewer.core.data.report import ImportReport
from mmviewer.core.embed import job
from mmviewer.core.embed.dask_dispatch import LOST, Dispatch
from mmviewer.core.embed.job import EmbedResult, Progress
from mmviewer.core.encoders.base import Encoder
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.core.store.atomic import StoreWriteError
from mmviewer.core.store.embedding_store import EmbeddingStore, VectorShelf
from mmviewer.core.store.hashing import HashCache

__all__ = ["LOST", "DaskUnavailable", "EncoderSpec", "embedding_job_dask", "encode_partition"]

#: Items per task: what a lost worker can cost at most, and the progress granularity.
DEFAULT_PARTITION_SIZE = 256
NOT_SHARED = ("encoded on a worker but not in the store here: the store must be on storage "
              "that the workers and this machine share")


class DaskUnavailable(ImportError, ValueError):
    """The Dask extra is not installed (a ValueError too, so the CLI prints it as one line)."""


def embedding_job_dask(
    dataset: Dataset, options, encoders: dict[str, Encoder] | None = None,
    scheduler: str | None = None, partition_size: int = DEFAULT_PARTITION_SIZE,
    cancel: threading.Event | None = None,
) -> Generator[Progress, None, EmbedResult]:
    """The generator of :func:`~.pipeline.embedding_job`, encoding on a Dask cluster.

    ``scheduler`` is an existing scheduler's address (``tcp://host:8786``); without one, a local
    cluster runs one single-threaded worker process per core (``options.workers`` if set).
    ``partition_size`` items at most make one task. Raises :class:`DaskUnavailable` at once when the
    extra is missing; an unreachable scheduler raises ``ValueError`` from the generator.
    """
    if importlib.util.find_spec("distributed") is None:
        raise DaskUnavailable("the Dask engine needs the 'dask' extra: pip install -e '.[dask]' "
                              "(or pip install 'mmviewer[dask]')")
    if dataset.precomputed is not None:
        return job.embed_dataset(dataset, {}, None)
    if encoders is None:
        from mmviewer.core.embed.options import choose_encoders

        encoders, _ = choose_encoders(options)
    store = EmbeddingStore.for_dataset(dataset.root) if options.use_store else None
    return _run(dataset, options, encoders, store, scheduler, max(1, int(partition_size)), cancel)


# -- driver -------------------------------------------------------------------------------------
@dataclass
class _Modality:
    """Driver-side bookkeeping of one modality."""

    encoder: Encoder
    report: ImportReport  # hashing/fitting problems, then partitions in order (merged at the end)
    shelf: VectorShelf | None = None
    out: dict[int, str] = field(default_factory=dict)  # item index -> content hash
    parts: list[list] = field(default_factory=list)
    results: dict[int, dict | str] = field(default_factory=dict)  # result, or failure reason
    total: int = 0
    todo: int = 0
    cached: int = 0
    computed: int = 0
    finalized: bool = False


def _run(dataset, options, encoders, store, scheduler, partition_size, cancel):
    t0 = time.perf_counter()
    report = ImportReport(list(dataset.report.skipped), list(dataset.report.notes))
    hashes = HashCache(store.root / "files.parquet" if store else None)
    threads = ThreadPoolExecutor(job.default_workers(), thread_name_prefix="mmviewer-fit")
    mods: dict[str, _Modality] = {}
    dispatch: Dispatch | None = None
    cancelled = False
    try:
        dispatch = Dispatch(*_connect(scheduler, options.workers), task=encode_partition)
        for modality in [m for m in MODALITIES if m in encoders]:
            refs = [(i, it.media[modality]) for i, it in enumerate(dataset.items) if modality in it.media]
            if not refs:
                continue
            mod = mods[modality] = _Modality(encoders[modality], ImportReport())
            keyed = yield from dispatch.busy(job._hash_all(refs, modality, hashes, mod.report, cancel))
            state_key = None
            if mod.encoder.needs_fit:
                state_key = yield from dispatch.busy(job._fit(mod.encoder, keyed, threads, store, mod.report))
                if state_key is False:  # not one readable text: the other modalities go on
                    report.extend(mods.pop(modality).report)
                    continue
            _plan(mod, keyed, store, partition_size, dispatch.threads())
            spec, folder = _spec(mod.encoder, options, state_key, store), str(mod.shelf.folder)
            dispatch.add(modality, spec, [(folder if store else None, part) for part in mod.parts],
                         scatter=spec.encoder is not None)  # shipped whole: once per worker
        yield from _watch(dispatch, mods, store, cancel)
    except job._Cancelled:
        cancelled = True
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
        if dispatch is not None:
            dispatch.close()
        hashes.save()
    for mod in mods.values():
        if not mod.finalized:
            _finalize(mod, store, compact=False)
        report.extend(mod.report)
    job.note_store_problems(store, report)
    table = job._assemble(dataset, encoders, {m: (mod.shelf, mod.out) for m, mod in mods.items()})
    cached, computed = sum(m.cached for m in mods.values()), sum(m.computed for m in mods.values())
    stats = job._stats(table, cached=cached, computed=computed, seconds=time.perf_counter() - t0)
    stats["hash_cache_hits"] = hashes.hits
    return EmbedResult(table, report, stats, cancelled)


def _connect(scheduler: str | None, workers: int | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, set_as_default=False), None
        except (OSError, TimeoutError) as err:
            raise ValueError(f"cannot connect to the Dask scheduler at {scheduler}: {err}") from err
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0")
    try:
        client = Client(cluster, set_as_default=False)
        client.register_plugin(_driver_handles_ctrl_c(), name="mmviewer-ignore-sigint")
    except BaseException:
        cluster.close()
        raise
    return client, cluster


def _driver_handles_ctrl_c():
    """Local workers get a terminal's Ctrl-C too: they ignore it, the driver stops them."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        def setup(self, worker):
            with contextlib.suppress(ValueError):  # not the main thread: nothing to undo
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreSigint()


def _plan(mod: _Modality, keyed, store, partition_size: int, threads: int) -> None:
    """Open the shelf, take what it already holds, split the rest into partitions (a small job
    into smaller ones, two per worker thread, so that no worker idles)."""
    enc = mod.encoder
    mod.shelf = store.shelf(enc.id, enc.dim) if store else job._memory_shelf(enc)
    todo = []
    for i, ref, key in keyed:
        if key in mod.shelf:
            mod.out[i] = key
        else:
            todo.append((i, ref, key))
    mod.total, mod.todo, mod.cached = len(keyed), len(todo), len(mod.out)
    size = max(1, min(partition_size, -(-len(todo) // (2 * threads)) if threads else partition_size))
    mod.parts = [todo[s : s + size] for s in range(0, len(todo), size)]


def _watch(dispatch: Dispatch, mods: dict[str, _Modality], store, cancel):
    """Report progress from the tasks' states until every partition is back."""
    t0 = time.perf_counter()
    while True:
        job._check_cancel(cancel)
        for modality, index, outcome in dispatch.harvest():
            mods[modality].results[index] = outcome
        for mod in mods.values():
            if not mod.finalized and len(mod.results) == len(mod.parts):
                _finalize(mod, store, compact=True)
        current = next((m for m in mods.values() if not m.finalized), None)
        if current is None:
            return
        done = current.cached + sum(len(current.parts[p]) for p in current.results)
        rate_eta = job._rate_eta(done - current.cached, current.todo, time.perf_counter() - t0)
        yield Progress("encoding", current.encoder.modality, done, current.total, *rate_eta)
        dispatch.wait(0.2)


def _finalize(mod: _Modality, store, compact: bool) -> None:
    """Re-read the shelf the workers wrote to, then account for every partition in order."""
    mod.finalized = True
    if mod.shelf is None:  # cancelled before its partitions were planned
        return
    shelf = mod.shelf = store.shelf(mod.encoder.id, mod.encoder.dim) if store else mod.shelf
    notes: dict[tuple, None] = {}  # a store failure in many partitions is said once
    for index, part in enumerate(mod.parts):
        outcome = mod.results.get(index)
        if isinstance(outcome, dict):
            for path, reason in outcome["skipped"]:
                mod.report.skip(path, reason)
            notes.update(dict.fromkeys(tuple(note) for note in outcome["notes"]))
            if outcome["unsaved"]:  # the worker could not write: store them from here
                keys, vectors = outcome["unsaved"]
                new = [n for n, key in enumerate(keys) if key not in shelf]
                try:
                    shelf.add([keys[n] for n in new], vectors[new])
                except StoreWriteError as err:
                    mod.report.note(str(shelf.folder), f"{err}; embeddings are kept for this session only")
        encoded = set(outcome["encoded"]) if isinstance(outcome, dict) else set()
        for i, ref, key in part:
            if key in shelf:
                mod.out[i] = key
                mod.computed += 1
            elif isinstance(outcome, str):
                mod.report.skip(ref.label, outcome)
            elif i in encoded:
                mod.report.skip(ref.label, NOT_SHARED)
    for path, reason in notes:
        mod.report.note(path, reason)
    if compact and store is not None:
        job._compact(shelf, mod.report)


# -- worker -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EncoderSpec:
    """How a worker gets the driver's encoder: rebuilt from options, or the object itself."""

    modality: str
    encoder_id: str
    batch_size: int
    options: tuple | None = None  # sorted EmbedOptions items; None: use ``encoder``
    state_key: str | None = None  # store key of a corpus-fitted encoder's state
    store_root: str | None = None
    encoder: Encoder | None = None


def _spec(encoder: Encoder, options, state_key: str | None, store) -> EncoderSpec:
    """Encoders of this package are rebuilt from options (a fitted one only when its state is in
    the store); any other encoder is sent pickled (keep such encoders light)."""
    kind = type(encoder).__module__
    base = EncoderSpec(encoder.modality, encoder.id, int(encoder.batch_size))
    if kind.startswith("mmviewer.core.encoders.") and (not encoder.needs_fit or state_key):
        # The driver may have fallen back from CLIP: offline unless it uses CLIP itself.
        opts = replace(options, offline=not kind.endswith(".clip"))
        return replace(base, options=tuple(sorted(opts.to_dict().items())), state_key=state_key,
                       store_root=str(store.root) if store is not None else None)
    return replace(base, encoder=encoder)


#: Encoders built in this worker process, by spec (a long-lived cluster serves many jobs).
_ENCODERS: dict[EncoderSpec, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()
MAX_CACHED_ENCODERS = 4


def worker_encoder(spec: EncoderSpec) -> Encoder:
    """The encoder for ``spec``, built once per worker process."""
    if spec.encoder is not None:
        return spec.encoder
    with _ENCODERS_LOCK:
        if spec not in _ENCODERS:
            if len(_ENCODERS) >= MAX_CACHED_ENCODERS:
                _ENCODERS.clear()
            _ENCODERS[spec] = _build(spec)
        return _ENCODERS[spec]


def _build(spec: EncoderSpec) -> Encoder:
    from mmviewer.core.embed.options import EmbedOptions, choose_encoders

    encoders, _ = choose_encoders(EmbedOptions.from_dict(dict(spec.options or ())))
    encoder = encoders[spec.modality]
    encoder.batch_size = spec.batch_size
    if spec.state_key is not None:
        state = EmbeddingStore(Path(spec.store_root)).load_state(spec.state_key)
        if state is None:
            raise RuntimeError(f"the fitted {spec.modality} encoder is not in the store at "
                               f"{spec.store_root} (is it on storage the workers share?)")
        encoder.load_state_arrays(state)
    if encoder.id != spec.encoder_id:
        raise RuntimeError(f"this worker built encoder {encoder.id!r} but the job uses "
                           f"{spec.encoder_id!r} (other weights or library versions here?)")
    return encoder


class _AppendOnlyShelf(VectorShelf):
    def _load(self) -> None:  # a worker only adds shards, never reads the (large) shelf
        pass


class _Inline(Executor):  # prepare in the task's thread: a worker process is one core
    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))  # job._prepare_one returns its errors
        return future


def encode_partition(spec: EncoderSpec, shelf_folder: str | None, part: list) -> dict:
    """Runs on a worker: prepare, encode and store ``part`` ((item index, ref, hash) triples);
    returns the items encoded, skipped files and notes, and the vectors it could not store."""
    encoder = worker_encoder(spec)
    shelf = (_AppendOnlyShelf(Path(shelf_folder), encoder.id, encoder.dim) if shelf_folder
             else job._memory_shelf(encoder))
    out: dict[int, str] = {}
    report = ImportReport()
    counters = {"cached": 0, "computed": 0}
    run_to_end(job._encode_all(encoder, part, shelf, _Inline(), 1, out, counters, report, None))
    keys = list(dict.fromkeys(out.values())) if not shelf.persist else []
    return {"encoded": list(out), "skipped": [(p.path, p.reason) for p in report.skipped],
            "notes": [(p.path, p.reason) for p in report.notes],
            "unsaved": (keys, shelf.get_many(keys)) if keys else None}

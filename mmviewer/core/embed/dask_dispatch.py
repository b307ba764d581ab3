"""The driver's side of a Dask embedding run: partitions queued here, a bounded number of futures
on the cluster, and what came back (a result, a failure, or a lost partition)."""

from __future__ import annotations

import contextlib
import uuid
from collections import deque
from collections.abc import Callable

#: Partitions in flight per worker thread; the rest wait on the driver (bounded memory).
IN_FLIGHT_PER_THREAD = 2
LOST = "partition lost on a worker; run again to finish"


class Dispatch:
    """Partitions waiting on the driver, and a bounded number of futures on the cluster.

    ``task(spec, *args)`` runs one partition on a worker. A partition whose future the scheduler
    cancels (its scattered encoder died with the worker that held it) is submitted once more
    with the encoder scattered again; one killed beyond Dask's own retries is reported as
    :data:`LOST`.
    """

    def __init__(self, client, cluster=None, task: Callable | None = None):
        self.client, self.cluster = client, cluster  # the cluster when this job started it
        self.task = task
        self.queue: deque[tuple[str, int, int]] = deque()  # (modality, partition, attempt)
        self.running: dict = {}  # future -> (modality, index, attempt)
        self.token = uuid.uuid4().hex[:8]
        self._specs: dict[str, tuple[object, bool]] = {}  # modality -> (spec, scatter it)
        self._shipped: dict[str, object] = {}  # modality -> the spec as workers get it
        self._args: dict[tuple[str, int], tuple] = {}

    def add(self, modality: str, spec, tasks: list[tuple], scatter: bool = False) -> None:
        """Queue ``task(spec, *args)`` for each ``args`` of ``tasks`` (``scatter``: ship the
        spec to every worker once instead of with each task)."""
        self._specs[modality] = (spec, scatter)
        self._shipped.pop(modality, None)
        for n, args in enumerate(tasks):
            self._args[(modality, n)] = args
            self.queue.append((modality, n, 0))
        self.top_up()

    def _spec(self, modality: str):
        if modality not in self._shipped:
            spec, scatter = self._specs[modality]
            self._shipped[modality] = (self.client.scatter(spec, broadcast=True, hash=False)
                                       if scatter else spec)
        return self._shipped[modality]

    def top_up(self) -> None:
        if not self.queue:
            return
        limit = max(4, IN_FLIGHT_PER_THREAD * self.threads())
        while self.queue and len(self.running) < limit:
            modality, n, attempt = self.queue.popleft()
            key = f"mmviewer-embed-{modality}-{self.token}-{n:06d}" + (f"-{attempt}" if attempt else "")
            future = self.client.submit(self.task, self._spec(modality), *self._args[(modality, n)],
                                        pure=False, key=key)
            self.running[future] = (modality, n, attempt)

    def threads(self) -> int:
        return sum(self.client.nthreads().values())

    def busy(self, gen):
        """Drive a driver-side stage (hashing, fitting) while keeping the cluster fed."""
        while True:
            try:
                progress = next(gen)
            except StopIteration as stop:
                return stop.value
            self.top_up()
            yield progress

    def harvest(self) -> list[tuple[str, int, dict | str]]:
        """Outcomes of the futures that are done: a result dict, or why the partition failed."""
        from distributed.scheduler import KilledWorker

        out = []
        for future in [f for f in self.running if f.done()]:
            modality, n, attempt = self.running.pop(future)
            err = future.exception() if future.status == "error" else None
            if future.status == "finished":
                out.append((modality, n, future.result()))
            elif err is not None and not isinstance(err, KilledWorker):
                out.append((modality, n, f"partition failed on a worker ({type(err).__name__}: {err})"))
            elif future.status == "cancelled" and attempt == 0:
                self._shipped.pop(modality, None)  # scatter the encoder again
                self.queue.appendleft((modality, n, 1))
            else:  # killed beyond Dask's retries, or lost again
                out.append((modality, n, LOST))
        self.top_up()
        return out

    def wait(self, timeout: float) -> None:
        from distributed import TimeoutError, wait
        from distributed.client import FuturesCancelledError

        with contextlib.suppress(TimeoutError, FuturesCancelledError), self.client.as_current():
            wait(list(self.running), timeout=timeout, return_when="FIRST_COMPLETED")

    def close(self) -> None:
        """Stop submitting, cancel what is queued or running (finished shards stay), let go."""
        self.queue.clear()
        with contextlib.suppress(Exception):  # the cluster may be gone: nothing left to undo
            self.client.cancel(list(self.running))
        self.running.clear()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

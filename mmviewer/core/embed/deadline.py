"""A time limit on each file's decoding, where a library could block.

No program runs on dataset content any more and every decode has a memory budget, but a decoder
in C can still spin on a crafted file, or a read stall on a network drive. Python cannot stop
such a call, so the job stops *waiting* for it: the file is reported (``decoding took longer
than ...``) and the other workers go on. The abandoned call keeps its worker until it ends;
:data:`ABANDONED` counts them, so a command-line run can end its process rather than wait for
them at exit (the window already leaves stragglers behind with ``os._exit``).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

#: Longest one file may take to decode and preprocess (a 64 Mpx PNG takes ~8 s here).
FILE_SECONDS = 120.0
#: Decodes abandoned in this process (their workers may still be busy with them).
ABANDONED = 0


def pool_size(pool) -> int:
    """Workers of a thread or process pool (``_max_workers`` on both since Python 3.2)."""
    return int(getattr(pool, "_max_workers", 1) or 1)


class Waiter:
    """Waits for prepared items, ``limit_s`` at most for each once it runs.

    ``poll`` runs every half second while waiting (the job's cancellation check), so a long
    decode no longer delays a cancel until it ends.
    """

    def __init__(self, workers: int, poll=lambda: None, limit_s: float | None = None) -> None:
        self.workers, self.poll = workers, poll
        self.limit_s = FILE_SECONDS if limit_s is None else limit_s
        self.stuck = 0
        self._started: dict[int, float] = {}

    def result(self, fut: Future):
        """``fut``'s result, or the reason it is given up on (a string, as a failed decode)."""
        global ABANDONED
        while True:
            try:
                return fut.result(timeout=0.5)
            except FutureTimeout:
                pass
            self.poll()
            now = time.monotonic()
            if fut.running():
                started = self._started.setdefault(id(fut), now)
                if now - started > self.limit_s:
                    self.stuck += 1
                    ABANDONED += 1
                    return (f"decoding took longer than {self.limit_s:.0f} s (given up; the file "
                            "may be crafted to stall a decoder, or on a drive that stopped answering)")
            elif not fut.done() and self.stuck >= self.workers:
                fut.cancel()
                return "not decoded: every decoding worker is held by a file that never finished"

"""The one way mmviewer starts helper processes, and why none of them outlives the app.

Worker processes are forked from a *forkserver*: a small clean process, so they never inherit
torch's or Qt's threads from the app. Modules registered with :func:`preload` (the audio
features, so every audio worker starts with librosa imported and its numba code compiled) are
imported once by the forkserver. Platforms without forkserver use spawn.

Whatever kills the app (SIGKILL included), its helpers end too:

* the forkserver watches its parent: when the app's process is gone it is re-parented, and a
  watchdog thread that polls ``getppid()`` ends it within half a second (the kernel's
  ``PR_SET_PDEATHSIG`` would fire when the *thread* that started it ends, and the app starts it
  from short-lived threads);
* every process the forkserver forks (decoding workers, the layout child) asks the kernel for
  SIGKILL when the forkserver's single thread dies (``PR_SET_PDEATHSIG``), and watches its
  parent the same way where prctl does not exist.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading

#: Imported first by the forkserver: it installs the parent watch.
_PRELOAD = ["mmviewer.core.runtime.forkserver_lifeline"]
_started = False
POLL_S = 0.5


def preload(module: str) -> None:
    """Have the forkserver import ``module`` once (effective before its first use)."""
    if module not in _PRELOAD:
        _PRELOAD.append(module)


def process_context():
    """The multiprocessing context for every pool and child process of the app."""
    global _started
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    if not _started:
        ctx.set_forkserver_preload(list(_PRELOAD))
        _started = True
    return ctx


def _kill_me_with_parent() -> bool:
    """``PR_SET_PDEATHSIG(SIGKILL)`` (Linux): True when the kernel will end this process when
    the thread that forked it ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def watch_parent(poll_s: float = POLL_S) -> None:
    """End this process (at once, no cleanup) when its parent process is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            threading.Event().wait(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    if parent != 1:
        threading.Thread(target=watch, name="mmviewer-parent-watch", daemon=True).start()


def after_fork_in_child() -> None:
    """In every process the forkserver forks: die with the forkserver."""
    parent = os.getppid()
    if not _kill_me_with_parent():
        watch_parent()
    elif os.getppid() != parent:  # it died between the fork and the prctl
        os._exit(1)

"""The one way mmviewer starts helper processes.

Worker processes are forked from a *forkserver*: a small clean process, so they never inherit
torch's or Qt's threads from the app. The forkserver preloads :mod:`mmviewer.core.encoders.audio_warm`
once, so every audio worker starts with librosa imported and its numba functions compiled
instead of paying ~2 s each (noticeable on imports of a few hundred clips). Platforms without
forkserver use spawn.
"""

from __future__ import annotations

import multiprocessing

PRELOAD = ["mmviewer.core.encoders.audio_warm"]
_configured = False


def process_context():
    """The multiprocessing context for every pool and child process of the app."""
    global _configured
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    if not _configured:
        # Effective only before the forkserver starts (its first use in this process).
        ctx.set_forkserver_preload(PRELOAD)
        _configured = True
    return ctx

"""Imported by the forkserver only (the first module it preloads, see
:mod:`mmviewer.core.runtime.processes`): the forkserver ends when the app's process is gone, and
every process it forks ends when the forkserver does."""

import os

from mmviewer.core.runtime.processes import after_fork_in_child, watch_parent

watch_parent()
os.register_at_fork(after_in_child=after_fork_in_child)

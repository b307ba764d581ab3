"""Long work is a plain generator (it yields progress and returns a result): this drains one."""

from __future__ import annotations

from collections.abc import Generator


def run_to_end(gen: Generator):
    """Drain a job generator inline and return its return value (CLI, scripts, tests, and small
    inputs that are cheaper to run on the spot than in a job)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value

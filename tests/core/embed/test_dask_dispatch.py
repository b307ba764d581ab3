"""The driver's side of a Dask run, with a stand-in client: a partition whose future the
scheduler cancelled (its scattered encoder died with a worker) is sent once more with the
encoder scattered again; a second loss, or a worker killed beyond Dask's retries, is LOST."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from distributed.scheduler import KilledWorker  # noqa: E402

from mmviewer.core.embed.dask_dispatch import LOST, Dispatch  # noqa: E402


class Future:
    def __init__(self, key, args):
        self.key, self.args, self.status, self._error = key, args, "pending", None

    def done(self):
        return self.status != "pending"

    def exception(self):
        return self._error

    def result(self):
        return {"key": self.key}


class Client:
    def __init__(self):
        self.submitted, self.scattered = [], []

    def submit(self, fn, *args, pure, key):
        future = Future(key, args)
        self.submitted.append(future)
        return future

    def scatter(self, value, broadcast, hash):
        self.scattered.append(value)
        return ("scattered", len(self.scattered))

    def nthreads(self):
        return {"w1": 1}


def test_a_cancelled_partition_runs_again_with_the_encoder_scattered_again():
    client = Client()
    dispatch = Dispatch(client, task=lambda *a: None)
    dispatch.add("image", "spec", [("folder", [1]), ("folder", [2])], scatter=True)
    first, second = client.submitted
    assert first.args[0] == ("scattered", 1) and client.scattered == ["spec"]
    first.status = "cancelled"  # its encoder's only copy died with a worker
    second.status, second._error = "error", KilledWorker("k", "w", 0)  # beyond Dask's retries
    assert dispatch.harvest() == [("image", 1, LOST)]
    again = client.submitted[-1]
    assert again.args == (("scattered", 2), "folder", [1]) and again.key.endswith("-1")
    again.status = "finished"
    assert dispatch.harvest() == [("image", 0, {"key": again.key})]
    dispatch.add("text", "plain", [("folder", [3])])
    lost_twice = client.submitted[-1]
    assert lost_twice.args[0] == "plain"  # not scattered: shipped with the task
    lost_twice.status = "cancelled"
    dispatch.harvest()
    client.submitted[-1].status = "cancelled"
    assert dispatch.harvest() == [("text", 0, LOST)]  # once more only

"""Fault injection: SIGKILL `mmviewer embed` at random moments; the store must stay valid.

Every reopen must find a store with no corrupt file, keep every completed batch (the number of
stored vectors never goes down), and the final run must compute only what was missing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from mmviewer.core.store.embedding_store import EmbeddingStore


def build(folder, make, start=0, n=30):
    for i in range(start, start + n):
        # Distinct content for every item: identical files share one stored vector. (The
        # factory overwrites green with a gradient, so the item number goes in red and blue.)
        make.item(folder, f"it{i:03d}", image_color=(i % 256, 0, 40 + i // 256),
                  words=f"item {i} says {'alpha beta gamma delta'.split()[i % 4]} {i * 7}",
                  freq=150 + 9 * i)
    return folder


def stored_vectors(folder) -> tuple[int, list]:
    """Count vectors over every shelf; return problems found while reading."""
    store = EmbeddingStore.for_dataset(folder)
    total, problems = 0, []
    vectors = store.root / "vectors"
    if not vectors.is_dir():
        return 0, []
    for shelf_dir in vectors.iterdir():
        meta = shelf_dir / "encoder.json"
        if not meta.exists():
            continue
        shelf = store.shelf(json.loads(meta.read_text())["id"])
        total += len(shelf)
        problems += shelf.problems
    return total, problems + store.problems


def text_vectors_of_old_fits(folder, summary) -> int:
    """Vectors stored under earlier TF-IDF fits (other corpora), which cannot be reused."""
    store = EmbeddingStore.for_dataset(folder)
    n = 0
    for shelf_dir in (store.root / "vectors").iterdir():
        meta = shelf_dir / "encoder.json"
        if not meta.exists():
            continue  # a shelf a killed run had just made: nothing stored in it (as stored_vectors)
        info = json.loads(meta.read_text())
        if info["id"].startswith("tfidf") and info["id"] != summary["encoders"]["text"]:
            n += len(store.shelf(info["id"]))
    return n


def embed_cmd(folder):
    return [sys.executable, "-m", "mmviewer", "embed", str(folder), "--offline", "--json",
            "--batch-size", "4"]


@pytest.mark.slow
def test_sigkill_at_random_moments_never_corrupts_the_store(tmp_path, make):
    folder = tmp_path / "data"
    rng = random.Random(1234)
    kills, counts = 0, [0]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rounds = 12
    for r in range(rounds):
        build(folder, make, start=30 * r)  # fresh work every round, so a kill lands mid-run
        proc = subprocess.Popen(embed_cmd(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, env=env)
        time.sleep(rng.uniform(0.3, 3.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # decoding workers of the killed run
        except ProcessLookupError:
            pass
        n, problems = stored_vectors(folder)
        assert problems == [], problems
        assert n >= counts[-1], "a completed batch was lost"
        counts.append(n)
    assert kills >= 8, "the runs finished too fast to test anything"
    done = subprocess.run(embed_cmd(folder), capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    total = 30 * rounds
    assert summary["items"] == total
    assert summary["modalities"] == {"image": total, "text": total, "audio": total}
    assert summary["cached"] + summary["computed"] == 3 * total
    # Image and audio vectors stored by killed runs are all reused (the text encoder is fitted
    # on the whole corpus, so its id changes whenever texts are added).
    assert summary["cached"] >= counts[-1] - text_vectors_of_old_fits(folder, summary)
    n_after, problems = stored_vectors(folder)
    assert problems == [] and n_after >= 3 * total
    store = EmbeddingStore.for_dataset(folder)
    for modality, encoder_id in summary["encoders"].items():
        assert len(store.shelf(encoder_id)) == total, modality  # every item's vector is on disk
    print(f"\nkills={kills} stored vectors after each kill={counts[1:]} final computed={summary['computed']}")

"""Do two modalities share an embedding space? Decided from the data, not from the dimensions.

Two 512-d columns may come from one CLIP model (zero-shot matching works) or from two unrelated
models (it is at chance level, and a learned alignment is needed). ``auto`` asks the data: on a
seeded sample of paired items, how often is an item's own ``b`` among the top ``k`` of its ``a``
compared directly? Shared when that recall is at least ten times chance (or half the pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Paired items sampled for the zero-shot check (a 2,000 x 2,000 similarity: well under a second).
ZERO_SHOT_SAMPLE = 2_000
#: Shared when zero-shot recall@k reaches this many times chance.
SHARED_FACTOR = 10.0


@dataclass(frozen=True)
class SpaceCheck:
    """The decision for one modality pair, with the evidence a panel can show."""

    shared: bool
    reason: str
    recall: float | None = None  # zero-shot recall@k on the sample
    k: int = 0
    chance: float | None = None
    n_pairs: int = 0


def check_space(table, a: str, b: str, sample: int = ZERO_SHOT_SAMPLE, random_state: int = 0) -> SpaceCheck:
    """Whether ``a`` and ``b`` vectors can be compared directly (zero-shot)."""
    if a == b:
        return SpaceCheck(True, "same modality")
    da, db = table.dim(a), table.dim(b)
    if da != db:
        return SpaceCheck(False, f"{a} is {da}-d and {b} is {db}-d: a learned alignment is needed")
    paired = table.paired(a, b)
    if len(paired) < 4:
        return SpaceCheck(False, f"only {len(paired)} items have both {a} and {b}")
    rng = np.random.default_rng(random_state)
    rows = paired if len(paired) <= sample else np.sort(rng.choice(paired, sample, replace=False))
    n = len(rows)
    s = table.vectors[a][rows] @ table.vectors[b][rows].T
    greater = (s > np.diag(s)[:, None]).sum(axis=1)
    k = max(1, round(n / 200))
    recall = float(np.mean(greater < k))
    chance = k / n
    threshold = min(0.5, SHARED_FACTOR * chance)
    evidence = (f"zero-shot {a} → {b} recall@{k} {recall:.3f} on {n:,} sampled pairs "
                f"(chance {chance:.3f})")
    if recall >= threshold:
        return SpaceCheck(True, f"one space: {evidence}", recall, k, chance, n)
    return SpaceCheck(False, f"different spaces: {evidence}", recall, k, chance, n)

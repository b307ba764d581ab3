"""Items that lack a modality, placed on the map by the modalities they have.

On a fused map an item without audio has an empty audio block: its fused vector lies in a
subspace of its own, and such items gather in clusters beside their classes (issue 12: the 10 %
of items without audio formed 50 clusters of their own, one per class). For the map only, a
missing modality is filled in with its prediction from what the item has: a ridge regression
from each other modality into the missing one (fitted on items that have both: the workspace's
cached, sampled fits), averaged over the item's modalities and normalised. Lists and metrics
never see these vectors: they compare only the media items really have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.data.table import l2_normalise
from mmviewer.core.runtime.cancel import check_cancelled

#: The regression that predicts a missing modality (it lands in that modality's own space).
IMPUTE_METHOD = "ridge"
BLOCK = 65_536


@dataclass
class Completion:
    """Predicted vectors for the rows that lack a modality, per modality."""

    rows: dict[str, np.ndarray] = field(default_factory=dict)  # sorted item rows
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # (len(rows), d) unit rows

    def present(self, table, modality: str) -> np.ndarray:
        """Items that have ``modality`` on the map: really, or predicted."""
        mask = np.array(table.present[modality], dtype=bool)
        if modality in self.rows:
            mask[self.rows[modality]] = True
        return mask

    def fill(self, table, modality: str, index: np.ndarray) -> np.ndarray:
        """``table.vectors[modality][index]`` with predicted rows filled in."""
        out = np.array(table.vectors[modality][index], dtype=np.float32)
        rows = self.rows.get(modality)
        if rows is not None and len(rows):
            at = np.searchsorted(rows, index)
            hit = (at < len(rows)) & (rows[np.minimum(at, len(rows) - 1)] == index)
            out[hit] = self.vectors[modality][at[hit]]
        return out


def complete_missing(ws) -> Completion:
    """The :class:`Completion` of ``ws.table`` (cached on the workspace)."""
    return ws.cached(("layout-completion", IMPUTE_METHOD), lambda: _complete(ws))


def _complete(ws) -> Completion:
    t = ws.table
    done = Completion()
    mods = t.modalities
    for m in mods:
        missing = np.flatnonzero(~t.present[m])
        if len(missing) == 0 or len(mods) < 2:
            continue
        total = np.zeros((len(missing), t.dim(m)), np.float32)
        count = np.zeros(len(missing), np.int32)
        for source in mods:
            if source == m:
                continue
            have = t.present[source][missing]
            if not have.any():
                continue
            try:
                model = ws.aligner(source, m, IMPUTE_METHOD)[0]
            except ValueError:
                continue  # too few items have both: this source cannot predict m
            at = np.flatnonzero(have)
            for start in range(0, len(at), BLOCK):
                check_cancelled()
                part = at[start : start + BLOCK]
                total[part] += model.transform_a(t.vectors[source][missing[part]])
                count[part] += 1
        keep = count > 0
        if keep.any():
            done.rows[m] = missing[keep]
            done.vectors[m] = l2_normalise(total[keep])
    return done

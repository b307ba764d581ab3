"""Which items' modalities disagree: the Suspects panel's data, the map's suspicion colouring and
the marks a person gives ("fine" / "wrong").

:class:`SuspectData` belongs to the :class:`~mmviewer.core.app.model.AppModel`
(``model.suspects``). It runs :func:`mmviewer.core.evaluate.suspects.find_suspects` on the
model's workspace once somebody needs it (:meth:`SuspectData.want`: the Suspects panel is shown,
the map is coloured by suspicion), in slot ``suspects`` of the job runner: a newer request
cancels the running one. A new table drops the result; a method change recomputes it. The
fusion weights do not enter (every score is per modality pair), so a slider drag starts nothing.
``changed`` fires on every status, progress and result change.

Marks are tags, ``suspect:fine`` and ``suspect:wrong`` in ``state.tags``: they are saved with the
session by item id, and filters (``tagged "suspect:wrong"``) and the map's Tags colouring use
them as they use any tag. An item has at most one of the two.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
from psygnal import Signal

from mmviewer.core.app.colours import modality_pairs
from mmviewer.core.app.jobs import figures_lane
from mmviewer.core.store.atomic import write_bytes_atomic

FINE, WRONG = "fine", "wrong"
MARK_TAGS = {FINE: "suspect:fine", WRONG: "suspect:wrong"}
#: The item frame's column (item table, filters, the map's "Suspicion" colouring).
COLUMN = "suspicion"
#: Status values.
IDLE, UNAVAILABLE, COMPUTING, READY, FAILED = "idle", "unavailable", "computing", "ready", "failed"
#: Progress reaches the UI at most this often.
PROGRESS_EVERY_S = 0.2


def suspects_job(workspace, method: str, report=None):
    """``find_suspects(workspace, method)`` on one BLAS thread, passing its progress to
    ``report(done, total)`` at most every :data:`PROGRESS_EVERY_S` (and always the last step)."""
    from mmviewer.core.evaluate.suspects import find_suspects

    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if report is not None and (done >= total or now - last[0] >= PROGRESS_EVERY_S):
            last[0] = now
            report(int(done), int(total))

    # Many mid-sized fits: the app model keeps BLAS on one thread (two spin on a busy machine).
    return find_suspects(workspace, method=method, progress=progress)


def mark_rows(tags: dict, rows, mark: str | None) -> dict:
    """``tags`` (name -> rows) with ``rows`` marked ``mark`` ("fine", "wrong"; None: unmarked)."""
    if mark is not None and mark not in MARK_TAGS:
        raise ValueError(f"a mark is 'fine' or 'wrong', not {mark!r}")
    rows = {int(r) for r in rows}
    out = dict(tags)
    for name, tag in MARK_TAGS.items():
        have = set(out.get(tag, ()))
        have = have | rows if name == mark else have - rows
        if have:
            out[tag] = tuple(sorted(have))
        else:
            out.pop(tag, None)
    return out


def marks_of(n: int, tags: dict) -> np.ndarray:
    """(n,) object array: "fine", "wrong" or "" per row, from the tags."""
    out = np.full(n, "", dtype=object)
    for name, tag in MARK_TAGS.items():
        rows = np.asarray(tags.get(tag, ()), np.int64)
        out[rows[(rows >= 0) & (rows < n)]] = name
    return out


def suspects_csv(suspicion, marks) -> str:
    """Every item, most suspect first (unscored last): id, score, odd modality, each pair's
    score, the item the odd modality would rather belong to, and the mark."""
    pairs = sorted(suspicion.pairs)
    ids = suspicion.ids
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "score", "modality", *pairs, "rather", "mark"])
    for row in suspicion.order():
        rather = int(suspicion.rather[row])
        writer.writerow([str(ids[row]), _number(suspicion.score[row]), suspicion.odd[row] or "",
                         *(_number(suspicion.pairs[p][row]) for p in pairs),
                         str(ids[rather]) if rather >= 0 else "", marks[row]])
    return out.getvalue()


def write_suspects_csv(path, suspicion, marks) -> Path:
    """:func:`suspects_csv` written atomically to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    write_bytes_atomic(path, suspects_csv(suspicion, marks).encode("utf-8"))
    return path


def _number(v) -> str:
    v = float(v)
    return "" if not np.isfinite(v) else f"{v:.6g}"


class SuspectData:
    """The model's suspects (see the module docstring)."""

    changed = Signal()  # status, progress or result

    def __init__(self, model):
        self.model = model
        self.result = None  # Suspicion of this table (while recomputing: of the last method)
        self.method = ""  # the method ``result`` was asked for
        self.status = IDLE
        self.message = ""
        self.done, self.total = 0, 0
        self.version = 0  # counts results (a colouring cache key)
        self.wanted = False
        self._generation = 0
        model.table_ready.connect(self._on_model_table_ready)
        model.state.events.method.connect(self._on_state_method)

    # -- what is known ------------------------------------------------------------------------
    @property
    def fresh(self) -> bool:
        """The result is of this table and the current method."""
        return self.result is not None and self.method == self.model.state.method

    def unavailable_reason(self) -> str:
        """Why suspects cannot be computed for this table ("" when they can)."""
        ws = self.model.workspace
        if ws is None:
            return "Open a dataset first."
        mods = list(ws.table.modalities)
        if len(mods) < 2:
            have = mods[0] if mods else "no modality"
            return (f"Suspects need two or more modalities per item; this dataset has only "
                    f"{have}. Items whose image, text and audio disagree can only be found "
                    "where items have several of them.")
        if not modality_pairs(ws.table):
            return ("Suspects need at least 4 items that have two modalities together "
                    f"({', '.join(mods)} never come together often enough).")
        return ""

    def marks(self) -> np.ndarray:
        """(n,) "fine" / "wrong" / "" per row of the current table."""
        ws = self.model.workspace
        return marks_of(ws.table.n_items if ws else 0, self.model.state.tag_map)

    def mark_of(self, row: int) -> str:
        tags = self.model.state.tag_map
        for name, tag in MARK_TAGS.items():
            if int(row) in tags.get(tag, ()):
                return name
        return ""

    def legend_note(self) -> str:
        """A line for the map's colour key."""
        r = self.result
        if self.status == COMPUTING:
            return self.message
        if r is None:
            return self.message or "not computed yet"
        above = int(np.sum(r.score > r.threshold))
        return (f"higher: its modalities disagree more · {above:,} above {r.threshold:.2f} "
                f"(suspect) · {r.method}")

    # -- marking ------------------------------------------------------------------------------
    def mark(self, rows, mark: str | None) -> None:
        """Mark ``rows`` "fine" or "wrong" (None: unmark); one tag change of the state."""
        state = self.model.state
        state.tags = tuple(mark_rows(state.tag_map, rows, mark).items())

    # -- computing ----------------------------------------------------------------------------
    def want(self) -> None:
        """Somebody shows suspects: compute them unless they are known or on their way."""
        self.wanted = True
        if self.status in (COMPUTING, UNAVAILABLE) or self.fresh:
            return
        if self.status == FAILED and self.method == self.model.state.method:
            return  # the same request would fail again; a new table or method retries
        self.request()

    def request(self, delay_s: float = 0.0) -> None:
        reason = self.unavailable_reason()
        if reason:
            self.model.jobs.cancel("suspects")
            self._set(UNAVAILABLE, reason)
            return
        self._generation += 1
        gen, method = self._generation, self.model.state.method
        post = self.model.jobs.scheduler.call_soon
        self.done, self.total = 0, 0
        self._set(COMPUTING, f"Finding suspects ({method})…")
        self.model.jobs.submit(
            "suspects", suspects_job, self.model.workspace, method,
            lambda d, t: post(lambda: self._on_progress(gen, d, t)),
            on_result=lambda r: self._on_result(gen, method, r),
            on_error=lambda err: self._on_error(gen, method, err),
            delay_s=delay_s, label="Finding suspects", **figures_lane("suspects"))

    def _set(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self.changed.emit()

    def _on_progress(self, gen: int, done: int, total: int) -> None:
        if gen == self._generation and self.status == COMPUTING:
            self.done, self.total = done, total
            self.changed.emit()

    def _on_result(self, gen: int, method: str, result) -> None:
        if gen != self._generation:
            return
        self.result, self.method = result, method
        self.version += 1
        frame = self.model.items.frame
        if frame is not None and frame.n == len(result.score):
            frame.suspicion = np.asarray(result.score, np.float32)
        above = int(np.sum(result.score > result.threshold))
        self._set(READY, f"{above:,} of {len(result.score):,} items above the threshold "
                         f"{result.threshold:.2f} · {result.method}, {result.folds} folds")

    def _on_error(self, gen: int, method: str, err: BaseException) -> None:
        if gen != self._generation:
            return
        self.method = method
        if isinstance(err, ValueError):  # this table cannot be scored (too few paired items)
            reason = str(err)
            self._set(UNAVAILABLE, f"No suspects: {reason[:1].lower() + reason[1:]}.")
            return
        self._set(FAILED, f"Could not find suspects: {str(err) or type(err).__name__}")

    def _on_model_table_ready(self) -> None:
        self._generation += 1
        self.model.jobs.cancel("suspects")
        self.result, self.method, self.done, self.total = None, "", 0, 0
        reason = self.unavailable_reason()
        self._set(UNAVAILABLE if reason else IDLE, reason)
        if self.wanted and not reason:
            self.model.after_first_picture(self.request)  # the map first: see the model

    def _on_state_method(self, _method) -> None:
        if self.model.applying_table or self.model.workspace is None:
            return
        if self.wanted and not self.unavailable_reason():
            self.request()
        elif self.status == FAILED:
            self._set(IDLE, "")

    # -- export -------------------------------------------------------------------------------
    def export_csv(self, path, on_done=None, on_error=None) -> bool:
        """Write every item's suspicion and mark to ``path`` (CSV) in the background; False
        when there is nothing to write yet (``message`` says why)."""
        if self.result is None:
            return False
        self.model.jobs.submit("export-suspects", write_suspects_csv, Path(path), self.result,
                               self.marks(), on_result=on_done, on_error=on_error,
                               label=f"Exporting suspects to {Path(path).name}")
        return True

"""Help → How to read the map and the match lists, and Help → About."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QTextBrowser,
    QWidget,
)

import mmviewer
from mmviewer.core.encoders.info import (
    HOW_TO_GET_CLIP,
    clip_weights_status,
    library_versions,
    uses_clip,
)
from mmviewer.core.evaluate.evaluation import MAX_TEST_PAIRS
from mmviewer.core.evaluate.suspects import THRESHOLD
from mmviewer.core.match.workspace import AUTO_LEARNED, FIT_MAX_PAIRS
from mmviewer.gui.dialogs.layout import body_with_close

READING_GUIDE = """
<h3>The map</h3>
<p>Each point is one item (an image, its caption and its sound together), placed so that items
the current <b>fusion weights</b> call similar end up close. A PCA projection appears at once and
is replaced a few seconds later by UMAP. UMAP keeps neighbourhoods, not distances: a tight group
means "these items resemble each other"; the gaps between groups, their sizes and the axes mean
nothing. Moving a weight slider re-runs UMAP from the current positions, so points glide to
their new places instead of jumping.</p>
<p><b>Colour</b> (map toolbar): which modalities an item has, a metadata column such as its
label, or <i>match correctness</i> for a modality pair: green where an item's nearest target
(e.g. the image closest to its caption) is its own partner, red where it is another item.</p>
<p><b>Modalities</b> (map toolbar) draws every item once per modality, joined by lines; all
modalities are mapped into the first one's space (directly where they share it, as CLIP image
and text do, otherwise by a ridge regression on the paired items). Short lines: the item's
modalities agree. Long lines: they disagree, or the encoders do not share a space.</p>

<p><b>Partner rank</b> and <b>pair score</b> colour every item on a scale (a colour bar in the
key) for the pair chosen beside the colour: its partner rank is where its own target ranks
among all targets for its query (1 is best), its pair score how similar its two media are.
<b>Map of</b> lays the map out from one modality alone; <b>Layout</b> switches UMAP and PCA and
sets UMAP's neighbours and minimum distance (the map re-lays out from where it is).
<b>Map neighbours shared</b> (Fusion panel) says how many of each item's map neighbours each
modality alone would also give; when one modality drives the map it offers to halve its weight.</p>

<h3>The item table</h3>
<p>The <b>Items</b> panel lists every item: thumbnail, id, metadata, modalities, tags, and per
modality pair the partner rank and pair score (right-click a header for more columns; click
one to sort). A click opens the item everywhere; Ctrl-click adds or removes, Shift-click takes
a range, Ctrl+A takes every row shown. <b>Filter</b> keeps the rows that pass, e.g.
<code>partner_rank &gt; 10</code>, <code>label == "3" and not tagged "checked"</code>,
<code>missing audio</code>, <code>id contains "cat"</code>, <code>label in ("1", "7")</code>,
<code>selected</code>; <code>partner_rank</code> and <code>pair_score</code> follow the map's
pair, and each pair has its own (<code>rank_audio_image</code>). <b>Find</b> (Ctrl+F) looks for
the words you type in ids, file names and metadata and lights the hits on the map; search by
meaning is the Text query (Ctrl+Shift+F). Under the table: the selection count, tags (saved
with the session, a colour and a filter), and <b>More</b>: keep the selection alone on the map
or hide it, copy or export its ids, export the table.</p>

<h3>The match lists</h3>
<p>Select an item (click a point, or a row in a list; arrow keys walk a list).</p>
<ul>
<li><b>Similar items</b> ranks whole items by the weighted mean of their per-modality cosine
similarities, over the modalities both items have. It follows the weight sliders live.</li>
<li>The <b>grid</b> has one button per list: rows are the query modality (or <i>fused</i>),
columns the target. Each button shows <b>#n</b>, the rank of the item's own partner among all
targets: #1 means the caption's own image (say) is the best match. Click a button to see that
list below, best first, with scores; the true partner is marked.</li>
<li><b>Alignment</b> (Fusion panel): modalities from different encoders live in different
spaces and must be mapped onto each other before they can be compared. <i>auto</i> decides
from the data: it compares two modalities directly (zero-shot) when that already ranks an
item's own partner near the top on a sample of pairs (ten times better than chance, e.g. CLIP
image and text), and fits {auto} for any other pair, however many dimensions the two have. The
Metrics panel says which it chose and why; the other choices force one method for every pair.</li>
<li>Learned methods are fitted on a fixed, seeded 70% of the paired items (at most
{fit_max:,} of them: more pairs barely change the fit). A list headed <i>fitted on this
item</i> used the item's own pair for fitting, so its rank flatters the method; the other 30%
give honest ranks, and only they count in the Metrics panel (at most {test_max:,} of them per
pair).</li>
</ul>

<h3>Suspects</h3>
<p>The <b>Suspects</b> panel ranks the items whose media disagree, most suspect first: the
caption of another photo, the audio clip of another item. For each modality pair an aligner
that never saw the item scores how much better its own partner fits than its look-alikes'
partners do; the <b>score</b> is in units of the dataset's own spread, so one cut (tinted
above it) serves every dataset. <b>odd</b> names the modality that disagrees with both others,
and <b>rather</b> the item it seems to belong to instead. Click a row (or Up/Down) to open the
item everywhere, ▶ or Space to hear it; mark it <b>fine</b> (F) or <b>wrong</b> (W), U takes
it back. Marks are the tags <code>suspect:fine</code> and <code>suspect:wrong</code>: saved
with the session, a filter (<code>tagged "suspect:wrong"</code>) and a colour; the map can also
be coloured by <b>Suspicion</b>, and the item table filtered by <code>suspicion &gt; {threshold:g}</code>.
<b>Export CSV</b> (or File → Export suspects) writes every item with its scores and mark.</p>

<h3>Metrics</h3>
<p>For each modality pair, on the held-out 30%: R@k (how often the true partner is among the
first k), MRR (mean reciprocal rank) and the median rank, next to what chance would give. When
the dataset has a label column, label precision shows how often neighbours share the item's
label, for each modality alone and fused with the current weights.</p>
""".format(auto=AUTO_LEARNED.upper() if AUTO_LEARNED == "cca" else AUTO_LEARNED,
           fit_max=FIT_MAX_PAIRS, test_max=MAX_TEST_PAIRS, threshold=THRESHOLD)


class QtHelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("How to read the map and the match lists")
        text = QTextBrowser()
        text.setHtml(READING_GUIDE)
        text.setOpenExternalLinks(True)
        body_with_close(self, text, (680, 620))


class QtAboutDialog(QDialog):
    """Versions, the encoders in use, and whether CLIP weights are on this computer."""

    def __init__(self, model, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About mmviewer")
        self.model = model
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setToolTip("Select and copy this text for a bug report.")
        self.clip_state = "checking…"
        body_with_close(self, self.text)
        self.setMinimumWidth(620)
        self._start_clip_check()
        self._render()

    def _encoder_rows(self) -> list[tuple[str, str]]:
        rows = []
        ws = self.model.workspace
        ids = dict(ws.table.encoders) if ws is not None else {}
        for modality, enc in (self.model.encoders or {}).items():
            describe = getattr(enc, "describe", lambda e=enc: str(e))()
            rows.append((modality, f"{escape(describe)}<br><code>{escape(getattr(enc, 'id', ''))}</code>"))
        for modality, eid in ids.items():
            if modality not in (self.model.encoders or {}):
                rows.append((modality, f"<code>{escape(eid)}</code>"))
        return rows

    def _start_clip_check(self) -> None:
        ws = self.model.workspace
        if ws is not None and uses_clip(dict(ws.table.encoders)):
            self.clip_state = "found (CLIP is in use)"
            return
        opts = self.model.options
        self.model.jobs.submit(("clip-weights-check", id(self)), clip_weights_status,
                               opts.clip_model, opts.clip_pretrained, on_result=self._on_check_returned,
                               on_error=lambda err: self._on_check_returned((False, str(err))))

    def _on_check_returned(self, value) -> None:
        found, message = value
        self.clip_state = ("found — " + message) if found else ("not found. " + HOW_TO_GET_CLIP)
        try:
            self._render()
        except RuntimeError:  # closed meanwhile
            pass

    def _render(self) -> None:
        versions = [("mmviewer", mmviewer.__version__), ("Qt", qVersion()), *library_versions()]
        rows = " · ".join(f"{k}&nbsp;{escape(v)}" for k, v in versions)
        enc = self._encoder_rows()
        enc_html = ("".join(f"<tr><td>{m}</td><td>{d}</td></tr>" for m, d in enc)
                    if enc else "<tr><td colspan=2>No dataset open yet.</td></tr>")
        opts = self.model.options
        self.text.setText(
            "<h3>mmviewer</h3><p>Explore multimodal alignments: images, texts and audio that "
            "belong together.</p>"
            f"<b>Encoders in use</b><table cellpadding=2>{enc_html}</table>"
            f"<p><b>CLIP weights</b> ({escape(opts.clip_model)}, {escape(opts.clip_pretrained)}): "
            f"{escape(self.clip_state)}</p>"
            f"<p><b>Versions</b><br>{rows}</p>")
        self.adjustSize()

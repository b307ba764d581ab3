"""Per-item columns over the arrays: partner ranks and pair scores, cells, filters, search, sort."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.app.colours import modality_pairs
from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.items.expr import parse
from mmviewer.core.items.frame import ItemFrame, pair_key
from mmviewer.core.items.pairs import PairValues, pair_values
from mmviewer.core.items.view import ViewSpec, item_view, search_mask, sort_order
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with
from tests.planted import media_dataset, planted_table


def _filled(ws, method="auto", **kw) -> PairValues:
    values = PairValues(ws.table.n_items, method)
    gen = pair_values(ws, modality_pairs(ws.table), method, **kw)
    for message in gen:
        values.apply(message)
    return values


def noisy_table(n: int = 40, seed: int = 3) -> EmbeddingTable:
    """Image and text in one space, loosely paired (so partner ranks vary); item 0 lacks text."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 8))
    image = base + 0.9 * rng.standard_normal((n, 8))
    text = base + 0.9 * rng.standard_normal((n, 8))
    text[0] = 0
    return EmbeddingTable(np.array([f"n{i}" for i in range(n)], dtype=object),
                          {"image": l2_normalise(image), "text": l2_normalise(text)},
                          {"image": np.ones(n, bool), "text": np.arange(n) > 0},
                          {"image": "clip/x/image", "text": "clip/x/text"},
                          {"label": np.array([str(i % 4) for i in range(n)], dtype=object)})


@pytest.fixture(scope="module")
def ws():
    return Workspace(planted_table())


@pytest.mark.parametrize("table", [planted_table(), noisy_table()])
def test_partner_ranks_and_scores_equal_the_match_lists(table):
    ws = Workspace(table)
    values = _filled(ws, every_s=0.0)  # a batch per block: the streamed path
    t = ws.table
    for q, tgt in modality_pairs(t):
        rank, score = values.rank[(q, tgt)], values.score[(q, tgt)]
        for row in range(t.n_items):
            if not (t.present[q][row] and t.present[tgt][row]):
                assert np.isnan(rank[row]) and np.isnan(score[row])
                continue
            lst = ws.cross_matches(row, q, tgt, "auto", k=1)
            assert rank[row] == lst.partner_rank, (q, tgt, row)
            pair = ws.pair(q, tgt, "auto")
            own = float(pair.query_vectors([row])[0] @ pair.target_vectors([row])[0])
            assert score[row] == pytest.approx(own, abs=1e-5)
    assert values.pending() == 0 and values.errors == {}


def test_a_cancelled_rank_job_stops_between_blocks(ws):
    token = CancelToken()
    gen = pair_values(ws, modality_pairs(ws.table), "auto", every_s=0.0,
                      block_bytes=4 * 30 * 2)  # blocks of 2 rows, a batch after each
    with running_with(token), pytest.raises(Cancelled):
        for i, _message in enumerate(gen):
            if i == 2:
                token.cancel()


def test_cells_show_ranks_pending_ranks_and_blanks(ws):
    values = PairValues(ws.table.n_items)
    frame = ItemFrame(ws.table, modality_pairs(ws.table), values)
    gen = pair_values(ws, [("audio", "image")], "auto")
    for message in gen:
        values.apply(message)
        if message[0] == "scores":
            break
    key = pair_key("rank", ("audio", "image"))
    assert frame.text(key, 5) == "…"  # still to come
    assert frame.text(key, 0) == ""  # item 0 has no audio: never a rank
    for message in gen:
        values.apply(message)
    assert frame.text(key, 5) == str(int(values.rank[("audio", "image")][5]))
    assert frame.text(pair_key("score", ("audio", "image")), 5).count(".") == 1
    assert frame.text("modalities", 0) == "image+text" and frame.text("meta:label", 1) == "green"


def test_filters_read_columns_aliases_tags_and_the_selection(ws):
    noisy = Workspace(noisy_table())
    frame = ItemFrame(noisy.table, modality_pairs(noisy.table), _filled(noisy))
    frame.pair = ("text", "image")
    rank = frame.values.rank[("text", "image")]
    got = item_view(frame, ViewSpec(parse("partner_rank > 3"))).rows
    assert got.tolist() == np.flatnonzero(rank > 3).tolist() and 0 < len(got) < 39
    got = item_view(frame, ViewSpec(parse('rank_image_text <= 2 and label == "1"'))).rows
    expected = (frame.values.rank[("image", "text")] <= 2) & (noisy.table.metadata["label"] == "1")
    assert got.tolist() == np.flatnonzero(expected).tolist()
    frame = ItemFrame(ws.table, modality_pairs(ws.table), _filled(ws))
    got = item_view(frame, ViewSpec(parse('label == "red" and missing audio'))).rows
    assert got.tolist() == [0]
    frame.tags = {"odd": np.arange(1, 30, 2)}
    frame.selection = np.array([1, 2])
    assert item_view(frame, ViewSpec(parse('tagged "odd" and selected'))).rows.tolist() == [1]
    assert frame.text("tags", 3) == "odd" and frame.text("tags", 4) == ""


def test_sort_puts_missing_last_both_ways_and_numbers_in_number_order():
    values = np.array(["10", "9", "", "100", "9.5"], dtype=object)
    assert sort_order(values).tolist() == [1, 4, 0, 3, 2]
    assert sort_order(values, descending=True).tolist() == [3, 0, 4, 1, 2]
    words = np.array(["pear", "", "apple", "fig"], dtype=object)
    assert sort_order(words).tolist() == [2, 3, 0, 1]
    assert sort_order(words, descending=True).tolist() == [0, 3, 2, 1]
    nums = np.array([2.0, np.nan, -1.0], np.float32)
    assert sort_order(nums).tolist() == [2, 0, 1] and sort_order(nums, True).tolist() == [0, 2, 1]


def test_exact_search_finds_ids_file_names_and_metadata(tmp_path):
    table = planted_table()
    dataset = media_dataset(tmp_path)
    frame = ItemFrame(table, item=lambda row: dataset.items[row])
    assert np.flatnonzero(search_mask(frame, "ITEM07")).tolist() == [7]
    assert np.flatnonzero(search_mask(frame, "item07.wav")).tolist() == [7]  # a file name
    assert search_mask(frame, "green").sum() == 10  # a metadata value
    assert np.flatnonzero(search_mask(frame, "item1 blue")).tolist() == [11, 14, 17]  # all words
    view = item_view(frame, ViewSpec(search="item1", sort_key="id", descending=True))
    assert view.rows.tolist() == list(range(19, 9, -1)) and view.searched == 10
    view = item_view(frame, ViewSpec(search="item1", restrict=(3, 12, 15)))
    assert view.rows.tolist() == [12, 15] and view.matched == 10


def test_the_table_exports_with_tags_as_csv_and_parquet(tmp_path):
    import csv

    import pyarrow.parquet as pq

    from mmviewer.core.items.export import write_ids, write_table

    ws = Workspace(noisy_table())
    frame = ItemFrame(ws.table, modality_pairs(ws.table), _filled(ws))
    frame.tags = {"odd": np.array([1, 3]), "checked": np.array([3])}
    path = write_table(tmp_path / "t.csv", frame, [3, 0, 1])
    rows = list(csv.DictReader(path.open()))
    assert [r["id"] for r in rows] == ["n3", "n0", "n1"]
    assert rows[0]["tags"] == "odd, checked" and rows[1]["tags"] == ""
    assert rows[1]["text→image rank"] == ""  # n0 has no text
    assert rows[0]["text→image rank"] == str(int(frame.values.rank[("text", "image")][3]))
    table = pq.read_table(write_table(tmp_path / "t.parquet", frame, [3, 0]))
    assert table.column("tags").to_pylist() == ["odd, checked", ""]
    assert table.column("text→image rank").to_pylist()[1] is None
    assert write_ids(tmp_path / "ids.txt", ["a", "b"]).read_text() == "a\nb\n"
    with pytest.raises(ValueError, match="csv or .parquet"):
        write_table(tmp_path / "t.xlsx", frame, [0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.txt", "t.csv", "t.parquet"]


def test_large_tables_get_estimated_ranks_marked_as_such(monkeypatch):
    """Above EXACT_RANK_MAX targets a rank is estimated from a gallery sample: close to the
    exact rank, and the cell says it is an estimate."""
    import mmviewer.core.items.pairs as pairs_module

    table = noisy_table(n=600, seed=5)
    ws = Workspace(table)
    exact = _filled(ws)
    monkeypatch.setattr(pairs_module, "EXACT_RANK_MAX", 100)
    monkeypatch.setattr(pairs_module, "GALLERY", 200)
    estimated = _filled(ws)
    pair = ("image", "text")
    assert estimated.gallery == {pair: 200, ("text", "image"): 200} and exact.gallery == {}
    both = ~np.isnan(exact.rank[pair])
    a, b = exact.rank[pair][both], estimated.rank[pair][both]
    assert np.corrcoef(a, b)[0, 1] > 0.9
    assert np.median(np.abs(a - b)) <= 0.1 * len(a)
    frame = ItemFrame(table, modality_pairs(table), estimated)
    row = int(np.flatnonzero(both)[0])
    assert frame.text(pair_key("rank", pair), row).startswith("≈")

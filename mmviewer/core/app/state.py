"""The app's view state: one small, Qt-free, evented model that links every panel.

Each panel takes the state in its constructor, writes what the user does (select an item, move
a slider) and redraws on the events it cares about: ``state.events.current.connect(...)``.
Panels never talk to each other directly. Assigning a field emits its event only when the value
really changes (psygnal's evented dataclass), so feedback loops end by themselves.

Collections are immutable (tuples, frozen mappings): assign a new value to change one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from psygnal import evented

#: What the map colours points by: modality availability, match correctness, or "meta:<col>".
COLOUR_MODALITIES = "modalities"
COLOUR_MATCH = "match"
META_PREFIX = "meta:"
COLOUR_TAGS = "tags"
#: Continuous colourings: "value:rank" / "value:score" (the map's pair) or "value:<column key>".
VALUE_PREFIX = "value:"

#: The map's layout: from the fused vectors, or from one modality alone.
SOURCE_FUSED = "fused"
LAYOUTS = ("umap", "pca")
#: (layout, UMAP n_neighbors, UMAP min_dist)
DEFAULT_LAYOUT = ("umap", 15, 0.1)

MAP_ITEMS = "items"  # one point per item (fused)
MAP_MODALITIES = "modalities"  # one point per item and modality, joined by lines

#: "auto": zero-shot where two modalities share a space (CLIP image/text), else a learned map.
METHODS = ("auto", "none", "procrustes", "ridge", "cca", "contrastive")


@evented
@dataclass
class ViewState:
    """What the user is looking at. Rows index the current :class:`EmbeddingTable`."""

    weights: tuple[tuple[str, float], ...] = ()
    method: str = "auto"
    current: int = -1
    selection: tuple[int, ...] = ()
    colour_by: str = COLOUR_MODALITIES
    map_mode: str = MAP_ITEMS
    highlight: tuple[int, ...] = ()
    k: int = 10
    #: (query, target) of the map's pair colourings (match correctness, partner rank, score).
    match_pair: tuple[str, ...] = ()
    #: The list the Matches panel shows below its grid, e.g. "audio→image" ("": its default).
    match_list: str = ""
    #: Tags the user gave items: ((name, rows), ...), rows ascending.
    tags: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: Rows the map leaves out ("show only the selection" / "hide the selection").
    hidden: tuple[int, ...] = ()
    map_source: str = SOURCE_FUSED
    layout: tuple = DEFAULT_LAYOUT

    # -- conveniences -------------------------------------------------------------------------
    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)

    def set_weight(self, modality: str, value: float) -> None:
        w = self.weight_map
        w[modality] = float(value)
        self.weights = tuple(sorted(w.items()))

    @property
    def tag_map(self) -> dict[str, tuple[int, ...]]:
        return dict(self.tags)

    def tag_rows(self, name: str, rows, on: bool = True) -> None:
        """Give ``rows`` the tag ``name`` (or take it away); a tag with no rows left is gone."""
        name = name.strip()
        if not name:
            raise ValueError("a tag needs a name")
        tags = self.tag_map
        have = set(tags.get(name, ()))
        have = have | {int(r) for r in rows} if on else have - {int(r) for r in rows}
        if have:
            tags[name] = tuple(sorted(have))
        else:
            tags.pop(name, None)
        self.tags = tuple(tags.items())

    def reset(self, modalities: list[str], pairs=()) -> None:
        """Defaults for a newly opened table: equal weights, nothing selected, and the map's
        pair kept when it is among ``pairs`` (the pairs that can be aligned), else the first."""
        self.current = -1
        self.selection = ()
        self.highlight = ()
        self.hidden = ()
        self.tags = ()
        self.weights = tuple((m, 1.0) for m in modalities)
        if self.map_source != SOURCE_FUSED and self.map_source not in modalities:
            self.map_source = SOURCE_FUSED
        pairs = [tuple(p) for p in pairs]
        if tuple(self.match_pair) not in pairs:
            self.match_pair = pairs[0] if pairs else ()

    # -- sessions (saved with the dataset) -------------------------------------------------------
    def to_session(self, ids) -> dict:
        """A JSON-ready snapshot; rows are saved as item ids so a rescan cannot shift them."""
        data = asdict(self)
        data["weights"] = dict(self.weights)
        data["current"] = str(ids[self.current]) if 0 <= self.current < len(ids) else None
        data["selection"] = [str(ids[i]) for i in self.selection if 0 <= i < len(ids)]
        data["match_pair"] = list(self.match_pair)
        data["tags"] = {name: [str(ids[i]) for i in rows if 0 <= i < len(ids)]
                        for name, rows in self.tags}
        data["layout"] = list(self.layout)
        data.pop("highlight")
        data.pop("hidden")  # a passing view: a reopened map shows every item
        return data

    def apply_session(self, data: dict | None, index_of) -> None:
        """Restore a snapshot; ``index_of(id)`` maps ids to rows (KeyError for vanished items).

        The session file came with the dataset: anything that is not what ``to_session`` writes
        is ignored, never raised.
        """
        if not isinstance(data, dict):
            return

        def rows(ids):
            out = []
            for item in ids if isinstance(ids, list) else ():
                try:
                    if isinstance(item, str):
                        out.append(index_of(item))
                except KeyError:
                    pass
            return tuple(out)

        weights = data.get("weights")
        if isinstance(weights, dict):
            known = self.weight_map
            known.update({m: float(v) for m, v in weights.items() if m in known and _is_weight(v)})
            self.weights = tuple(sorted(known.items()))
        if data.get("method") in METHODS:
            self.method = data["method"]
        if isinstance(data.get("colour_by"), str):
            self.colour_by = data["colour_by"]
        if data.get("map_mode") in (MAP_ITEMS, MAP_MODALITIES):
            self.map_mode = data["map_mode"]
        if isinstance(data.get("k"), int) and 1 <= data["k"] <= 1000:
            self.k = data["k"]
        pair = data.get("match_pair")
        known = self.weight_map
        if (isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]
                and all(m in known for m in pair)):
            self.match_pair = (str(pair[0]), str(pair[1]))
        if isinstance(data.get("match_list"), str):
            self.match_list = data["match_list"]
        tags = data.get("tags")
        if isinstance(tags, dict):
            restored = ((str(k), tuple(sorted(set(rows(v))))) for k, v in tags.items()
                        if str(k).strip() and isinstance(v, list))
            self.tags = tuple((k, r) for k, r in restored if r)
        if data.get("map_source") in (SOURCE_FUSED, *known):
            self.map_source = data["map_source"]
        layout = data.get("layout")
        if _is_layout(layout):
            self.layout = (layout[0], int(layout[1]), float(layout[2]))
        self.selection = rows(data.get("selection"))
        current = rows([data["current"]] if isinstance(data.get("current"), str) else [])
        self.current = current[0] if current else -1


def _is_layout(v) -> bool:
    try:
        return (len(v) == 3 and v[0] in LAYOUTS and 2 <= int(v[1]) <= 200
                and 0.0 <= float(v[2]) <= 1.0)
    except (TypeError, ValueError):
        return False


def _is_weight(v) -> bool:
    try:
        return 0 <= float(v) < float("inf")
    except (TypeError, ValueError):
        return False


@dataclass
class Notice:
    """A message for the status bar / notification area; ``path`` names the file when relevant."""

    text: str
    level: str = "info"  # info, warning, error
    path: str | None = None
    details: list[str] = field(default_factory=list)

"""The report's optional Suspects section: items whose modalities disagree, most suspect first.

Entries have the shape of ``mmviewer suspects --json`` (issue 14):
``{"id": str, "score": float, "modality": str | None, "pairs": {"audio:image": float, ...}}``.
They come from a JSON file (that command's output) or, when the suspects module is installed,
from its ``report_suspects(workspace, method, limit)`` hook; without either the section is left
out of the page.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

SUSPECTS_MODULE = "mmviewer.core.evaluate.suspects"
HOOK = "report_suspects"
LIMIT = 50


def read_suspects(path: str | Path) -> list[dict]:
    """Entries from a ``mmviewer suspects --json`` file (or a bare list of entries).

    Raises ValueError naming the file when it is not of that shape."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read suspects ({err})") from None
    entries = data.get("suspects") if isinstance(data, dict) else data
    return normalise(entries, str(path))


def normalise(entries, source: str = "suspects") -> list[dict]:
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a list of suspects")
    out = []
    for k, entry in enumerate(entries[:LIMIT]):
        if not isinstance(entry, dict) or "id" not in entry:
            raise ValueError(f"{source}: entry {k + 1} has no 'id'")
        score = entry.get("score")
        pairs = entry.get("pairs") if isinstance(entry.get("pairs"), dict) else {}
        out.append({"id": str(entry["id"]),
                    "score": float(score) if isinstance(score, int | float) else None,
                    "modality": entry.get("modality"),
                    "pairs": {str(p): float(v) for p, v in pairs.items()
                              if isinstance(v, int | float)}})
    return out


def discover(workspace, method: str) -> list[dict] | None:
    """The suspects module's ranking when it is installed and has the hook, else None (also
    when the hook finds nothing it can score)."""
    try:
        module = importlib.import_module(SUSPECTS_MODULE)
    except ImportError:
        return None
    hook = getattr(module, HOOK, None)
    if not callable(hook):
        return None
    entries = hook(workspace, method, LIMIT)
    return None if entries is None else normalise(entries, SUSPECTS_MODULE)

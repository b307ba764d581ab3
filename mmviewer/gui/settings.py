"""What the app remembers between runs (QSettings): encoder choice and recent datasets.

Window geometry is saved by the main window itself. Every function takes the ``QSettings`` to
use, so tests can pass one backed by a temporary file.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from mmviewer.core.embed.options import EmbedOptions

ORGANIZATION = "mmviewer"
APPLICATION = "mmviewer"
OPTIONS_KEY = "encoders/options"
RECENT_KEY = "recent/paths"
RECENT_LIMIT = 10


def app_settings() -> QSettings:
    """The user's settings (organisation and application names are set by ``run_gui``)."""
    return QSettings(ORGANIZATION, APPLICATION)


def load_options(settings: QSettings, fallback: EmbedOptions | None = None) -> EmbedOptions:
    """The remembered encoder options, or ``fallback`` (defaults) when none or unreadable."""
    raw = settings.value(OPTIONS_KEY)
    if not raw:
        return fallback or EmbedOptions()
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        return EmbedOptions.from_dict(data)
    except (TypeError, ValueError):
        return fallback or EmbedOptions()


def save_options(settings: QSettings, options: EmbedOptions) -> None:
    settings.setValue(OPTIONS_KEY, json.dumps(options.to_dict()))
    settings.sync()


def merge_cli_options(remembered: EmbedOptions, cli: EmbedOptions, defaults: EmbedOptions) -> EmbedOptions:
    """``remembered`` with every field the command line set away from its default."""
    data = remembered.to_dict()
    for key, value in cli.to_dict().items():
        if value != defaults.to_dict()[key]:
            data[key] = value
    return EmbedOptions.from_dict(data)


class RecentPaths:
    """The last ``limit`` opened datasets, newest first; vanished ones are pruned on read."""

    def __init__(self, settings: QSettings, limit: int = RECENT_LIMIT, key: str = RECENT_KEY):
        self.settings = settings
        self.limit = limit
        self.key = key

    def _raw(self) -> list[str]:
        raw = self.settings.value(self.key)
        if not raw:
            return []
        try:
            data = json.loads(raw) if isinstance(raw, str) else list(raw)
        except (TypeError, ValueError):
            return []
        return [str(p) for p in data if isinstance(p, str)]

    def _write(self, paths: list[str]) -> None:
        self.settings.setValue(self.key, json.dumps(paths[: self.limit]))
        self.settings.sync()

    def paths(self) -> list[str]:
        """Existing recent paths, newest first (missing ones are dropped from the settings)."""
        raw = self._raw()
        kept = [p for p in raw if Path(p).exists()]
        if kept != raw:
            self._write(kept)
        return kept[: self.limit]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).expanduser().resolve())
        paths = [p for p in self._raw() if p != path]
        self._write([path, *paths])

    def clear(self) -> None:
        self._write([])

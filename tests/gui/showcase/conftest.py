"""The map panel fixtures (a model that runs no layout jobs, the panel built from it)."""

from tests.gui.map.conftest import panel, still  # noqa: F401

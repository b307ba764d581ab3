"""Presentation mode: the map, the current item and its matches full screen, stepped with the
arrow keys (F11)."""

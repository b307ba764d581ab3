"""Showing the map to people: pictures for slides (:mod:`.picture`) and item images drawn on
the map itself (:mod:`.map_images`, :mod:`.image_loader`). Kept apart from ``gui/map`` so the
map panel's own modules stay few; the panel installs them with a hook line."""

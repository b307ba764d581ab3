"""Fusion, top-k, match lists of one item or of all, and the cached alignment workspace."""

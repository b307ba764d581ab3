"""Datasets: the item model, folder / manifest / precomputed scanners, safe media loading, the embedding table."""

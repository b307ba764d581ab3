"""Retrieval metrics and the held-out evaluation of a modality pair or of fusion."""

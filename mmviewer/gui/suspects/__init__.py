"""The Suspects panel: items whose modalities disagree, to check and mark."""

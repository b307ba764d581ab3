"""mmviewer: explore multimodal alignments.

Importing this package stays cheap: torch, open_clip, librosa, umap and Qt are imported
only by the modules that need them, when they are first used.
"""

__version__ = "0.1.0"

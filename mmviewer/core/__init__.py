"""The Qt-free core: dataset scan, media loading, encoders, store, fusion, alignment, metrics.

Nothing under ``mmviewer.core`` may import PySide6, pyqtgraph or superqt.
"""

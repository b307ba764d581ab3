"""House rules that code review alone would miss: Qt stays under gui/, heavy imports stay lazy."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import mmviewer.core


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(mmviewer.core.__path__, "mmviewer.core."))


def test_core_never_imports_qt():
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'qtpy'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_modules_import_without_torch_umap_or_librosa():
    # audio_warm exists to import librosa (in the forkserver only).
    names = [m for m in core_modules() if m != "mmviewer.core.encoders.audio_warm"]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'umap', 'librosa', 'open_clip', 'numba')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

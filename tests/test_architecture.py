"""House rules that code review alone would miss: the layers (import-linter), Qt stays under
gui/, heavy imports stay lazy, small folders of small modules."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import mmviewer
import mmviewer.core

# Imported by the forkserver only: they warm up librosa / install the parent watch on import.
FORKSERVER_ONLY = ("mmviewer.core.encoders.audio_warm", "mmviewer.core.runtime.forkserver_lifeline")
PACKAGE = Path(mmviewer.__file__).parent
MAX_MODULES_PER_FOLDER = 12
MAX_LINES_PER_MODULE = 400


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(mmviewer.core.__path__, "mmviewer.core.")
                  if m.name not in FORKSERVER_ONLY)


def test_import_contracts_hold():
    """The layers in pyproject.toml ([tool.importlinter]): no import cycles, lazy ones included;
    the core never imports gui/, cli or a Qt binding; gui/ never imports the cli."""
    lint = Path(sys.executable).with_name("lint-imports")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))  # this checkout, not an installed one
    out = subprocess.run([str(lint), "--config", str(PACKAGE.parent / "pyproject.toml")],
                         capture_output=True, text=True, cwd=PACKAGE.parent, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_folders_and_modules_stay_small():
    big_folders = {str(d.relative_to(PACKAGE)): n for d in [PACKAGE, *PACKAGE.rglob("*")]
                   if d.is_dir() and (n := len(list(d.glob("*.py")))) > MAX_MODULES_PER_FOLDER}
    long_modules = {str(f.relative_to(PACKAGE)): n for f in PACKAGE.rglob("*.py")
                    if (n := len(f.read_text().splitlines())) > MAX_LINES_PER_MODULE}
    assert big_folders == {} and long_modules == {}


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
    names = core_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'umap', 'librosa', 'open_clip', 'numba')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

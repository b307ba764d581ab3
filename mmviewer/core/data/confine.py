"""Keep every read inside the dataset folder.

Manifest paths and symlinks are resolved to real paths and refused when they leave the root, so
a hostile or careless dataset cannot make mmviewer read ``/etc/passwd`` or a sibling folder.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath


class OutsideRoot(ValueError):
    """A path resolves outside the dataset folder."""


def real_root(root: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(root))


def is_inside(root_real: str, real: str) -> bool:
    """True when the real path ``real`` is ``root_real`` or below it."""
    try:
        return os.path.commonpath([root_real, real]) == root_real
    except ValueError:  # different drives on Windows
        return False


def resolve_relative(root_real: str, base_real: str, value: str) -> Path:
    """Resolve a manifest path (relative to ``base_real``) and confine it to ``root_real``.

    Absolute paths, drive letters and any path whose real location (after ``..`` and symlinks)
    leaves the root raise :class:`OutsideRoot`.
    """
    value = value.strip()
    if not value:
        raise ValueError("empty path")
    if (
        os.path.isabs(value)
        or PureWindowsPath(value).drive
        or PurePosixPath(value).is_absolute()
        or value.startswith("\\")
    ):
        raise OutsideRoot("absolute path refused (paths must be relative to the manifest)")
    # Manifests written on Windows use backslashes.
    parts = PureWindowsPath(value).parts if "\\" in value else PurePosixPath(value).parts
    real = os.path.realpath(os.path.join(base_real, *parts))
    if not is_inside(root_real, real):
        raise OutsideRoot("path leaves the dataset folder (refused)")
    return Path(real)

"""Where the bundled demo dataset lives, and how the window opens it.

The demo uses CLIP only when its weights are already on this computer (it never downloads);
otherwise it uses the offline encoders and says so, with how to get CLIP weights.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from mmviewer.core.app.state import Notice
from mmviewer.core.encoders.info import HOW_TO_GET_CLIP, clip_weights_status


def demo_folder() -> Path | None:
    """``resources/demo`` of the source tree (or ``$MMVIEWER_DEMO``), if it exists."""
    candidates = []
    if os.environ.get("MMVIEWER_DEMO"):
        candidates.append(Path(os.environ["MMVIEWER_DEMO"]))
    package = Path(__file__).resolve().parents[1]  # mmviewer/
    candidates += [package.parent / "resources" / "demo", package / "resources" / "demo"]
    for folder in candidates:
        if (folder / "data.csv").is_file():
            return folder
    return None


def open_demo(window, options) -> None:
    """Open the demo in ``window`` with CLIP when its weights are cached, else offline."""
    folder = demo_folder()
    notice = window.model.notice
    if folder is None:
        notice.emit(Notice("The demo dataset is not installed (resources/demo/data.csv is "
                           "missing next to the mmviewer package).", "error"))
        return
    if options.offline:
        window.open_path(folder, options)
        notice.emit(Notice("Demo: offline encoders as asked (pixel features, TF-IDF, "
                           f"{options.audio}); Help → About says how to use CLIP.",
                           details=[HOW_TO_GET_CLIP]))
        return
    window.status.start_embedding(folder.name)

    def on_checked(value) -> None:
        found, message = value
        if found:
            window.open_path(folder, options)
            return
        window.open_path(folder, replace(options, offline=True))
        notice.emit(Notice(
            f"Demo: CLIP weights for {options.clip_model} ({options.clip_pretrained}) are not on "
            "this computer, so the offline encoders are used. How to get them: Details…",
            "warning", details=[HOW_TO_GET_CLIP, "", message]))

    window.model.jobs.submit("demo-weights-check", clip_weights_status, options.clip_model,
                             options.clip_pretrained, on_result=on_checked,
                             on_error=lambda err: on_checked((False, str(err))))

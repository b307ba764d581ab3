"""Start the GUI: ``run_gui(args)`` builds the QApplication and the main window and opens
``args.folder`` or the demo (``args.demo``) with the remembered encoder options, overridden by
any encoder option given on the command line.

When Qt cannot start (no display, missing xcb libraries) it says why and how to fix it, on
stderr and in a plain dialog when one can be shown, and returns a non-zero exit code instead of
letting Qt abort the process.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

EXIT_NO_QT = 3
XCB_FIX = ("sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 "
           "libxcb-image0 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0")


def qt_startup_problem() -> str | None:
    """Why Qt's window system would fail to start here (a message with the fix), or None.

    Checked before the QApplication exists, because Qt aborts the process on that failure.
    """
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0]
    if platform not in ("", "xcb"):
        return None  # offscreen, wayland, vnc...: Qt's own message is clear enough
    if platform == "" and os.environ.get("WAYLAND_DISPLAY"):
        return None
    if not os.environ.get("DISPLAY"):
        return ("No display: DISPLAY is not set, so no window can be opened.\n"
                "Run mmviewer in a desktop session, over `ssh -X`, or under a virtual display: "
                "xvfb-run -a mmviewer …  (headless jobs: mmviewer embed|eval|match).")
    plugin = _xcb_plugin()
    if plugin is None:
        return None
    import ctypes

    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY | getattr(os, "RTLD_LOCAL", 0))
    except OSError as err:
        return (f"Qt's X11 (xcb) platform plugin cannot be loaded: {err}.\n"
                f"Install the missing X11 libraries, e.g. on Debian/Ubuntu:\n  {XCB_FIX}\n"
                f"(`ldd {plugin} | grep 'not found'` lists exactly which are missing.)")
    return None


def _xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def report_startup_failure(message: str) -> None:
    """stderr always; a Tk message box too when Tk can reach the display."""
    print(f"mmviewer: the window cannot start.\n{message}", file=sys.stderr, flush=True)
    if not os.environ.get("DISPLAY"):
        return
    try:
        import tkinter
        from tkinter import messagebox

        root = tkinter.Tk()
        root.withdraw()
        messagebox.showerror("mmviewer cannot start", message)
        root.destroy()
    except Exception:  # no Tk, or Tk cannot open the display either: stderr said it all
        pass


def create_app(argv: list[str] | None = None):
    """The QApplication (created once), with names for QSettings and pyqtgraph's defaults."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from mmviewer import __version__
    from mmviewer.gui.settings import APPLICATION, ORGANIZATION

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName("mmviewer")
    app.setApplicationVersion(__version__)
    configure_pyqtgraph()
    return app


def configure_pyqtgraph() -> None:
    import pyqtgraph as pg

    # White canvas with dark ink, like the rest of the (light) widgets; no antialiasing: a
    # scatter of 100k points redraws several times faster without it.
    pg.setConfigOptions(antialias=False, background="w", foreground="k", useOpenGL=False)


def cli_options(args):
    """Remembered encoder options, with the fields the command line set explicitly on top."""
    from mmviewer.cli import build_parser, options_from_args
    from mmviewer.gui.settings import app_settings, load_options, merge_cli_options

    defaults = options_from_args(build_parser().parse_args([]))
    cli = options_from_args(args)
    return merge_cli_options(load_options(app_settings(), defaults), cli, defaults)


def _install_excepthook(window) -> None:
    """Uncaught exceptions in Qt callbacks become an error notice (never a modal traceback)."""
    from mmviewer.core.app.state import Notice

    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        frames = traceback.extract_tb(tb)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        traceback.print_exception(kind, value, tb)
        try:
            window.status.show_notice(Notice(
                f"Internal error{where}: {value or kind.__name__}", "error",
                details=traceback.format_exception(kind, value, tb)))
        except Exception:
            previous(kind, value, tb)

    sys.excepthook = hook


def _close_on_sigint(window) -> None:
    """Ctrl+C in the terminal closes the window normally (the session is saved)."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: window.close())
    # Python runs signal handlers only between bytecodes: wake the interpreter now and then.
    timer = QTimer(window, interval=250)
    timer.timeout.connect(lambda: None)
    timer.start()


def run_gui(args) -> int:
    """Open the main window (and ``args.folder`` or the demo); returns the exit code."""
    problem = qt_startup_problem()
    if problem:
        report_startup_failure(problem)
        return EXIT_NO_QT
    try:
        app = create_app()
    except Exception as err:  # e.g. PySide6 missing or broken
        report_startup_failure(f"Qt could not be initialised: {err}")
        return EXIT_NO_QT
    from mmviewer.gui.main_window import MainWindow

    options = cli_options(args)
    window = MainWindow(options=options)
    _install_excepthook(window)
    _close_on_sigint(window)
    window.show()
    # Start the layout child now (in the background): numba compiles UMAP there, and the
    # forkserver it comes from preloads the audio features for decoding workers.
    window.controller.layouts.warm_up()
    folder = getattr(args, "folder", None)
    if folder:
        window.open_path(folder, options)
    elif getattr(args, "demo", False):
        window.open_demo(options)
    return app.exec()

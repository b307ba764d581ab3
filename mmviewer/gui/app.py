"""Start the GUI: ``run_gui(folder, demo, options)`` builds the QApplication and the main
window and opens ``folder`` or the demo with the remembered encoder options, overridden by any
encoder option given on the command line.

When Qt cannot start (no display, missing xcb libraries) it says why and how to fix it, on
stderr and in a plain dialog when one can be shown, and returns a non-zero exit code instead of
letting Qt abort the process.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from mmviewer.core.embed.options import EmbedOptions

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


def effective_options(cli: EmbedOptions | None):
    """Remembered encoder options, with the fields the command line set away from the
    defaults on top."""
    from mmviewer.gui.settings import app_settings, load_options, merge_cli_options

    defaults = EmbedOptions()
    return merge_cli_options(load_options(app_settings(), defaults), cli or defaults, defaults)


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


def _close_on_signals(window) -> None:
    """Ctrl+C in the terminal, SIGTERM (``kill``, a logout) and SIGHUP (the terminal closed)
    close the window normally: the session is saved and every job stopped."""
    import signal

    from PySide6.QtCore import QTimer

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
    # Python runs signal handlers only between bytecodes: wake the interpreter now and then.
    timer = QTimer(window, interval=250)
    timer.timeout.connect(lambda: None)
    timer.start()


def run_gui(folder: str | None = None, demo: bool = False,
            options: EmbedOptions | None = None) -> int:
    """Open the main window (and ``folder`` or the demo); returns the exit code.

    ``options`` are the encoder options the command line gave (fields left at their defaults
    fall back to the remembered ones).
    """
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

    options = effective_options(options)
    window = MainWindow(options=options)
    _install_excepthook(window)
    _close_on_signals(window)
    window.show()
    # Start the layout child now (in the background): numba compiles UMAP there, and the
    # forkserver it comes from preloads the audio features for decoding workers.
    window.model.layouts.warm_up()
    window.model.warm_imports()
    if folder:
        window.open_path(folder, options)
    elif demo:
        window.open_demo(options)
    code = app.exec()
    return exit_now(code, clean=window.clean_exit)


def exit_now(code: int, clean: bool) -> int:
    """Leave at once when a job could not be stopped in time (a long BLAS call cannot be
    interrupted): the session is saved and helper processes die with us, so nothing is lost by
    skipping the interpreter's teardown, which would wait for those threads."""
    if clean:
        return code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""The Qt scheduler outlives the window whose jobs it serves: a job that ends after the window
was closed and deleted posts into a live object, and what it delivers is dropped."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QApplication


def test_a_job_ending_after_its_window_is_gone_posts_safely(qtbot, settings):
    from mmviewer.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    runner, scheduler = win.model.jobs, win.model.jobs.scheduler
    release, started, delivered = threading.Event(), threading.Event(), []

    def stuck_in_native_code():  # cannot see the cancel, as a long BLAS or faiss call
        started.set()
        release.wait(30)
        return "late"

    runner.submit("late", stuck_in_native_code, on_result=delivered.append)
    assert started.wait(10)
    win.close()
    win.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(win), timeout=5_000)
    thread = runner._slots["late"].thread
    release.set()
    thread.join(10)
    QApplication.processEvents()  # what the job posted runs now, into a live scheduler
    assert shiboken6.isValid(scheduler)
    assert delivered == []  # the closed runner drops it

"""Drive widgets the way a person does: approach, rest on the target, then click or type.

A person never clicks a map point in the instant the cursor arrives: they move towards it, rest
until its hover ring and card show, then click. These helpers send real mouse and key events
(QTest) in that order, with the dwell, so a test sees what a person sees.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

DWELL_MS = 1000  # how long a person rests on a point before clicking
APPROACH_MS = 300


def on_screen(qtbot, widget, width: int, height: int):
    """``widget`` shown at ``width`` x ``height`` and exposed, as a person would first see it."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def rest_on(qtbot, widget, at, shown=None, dwell_ms: int = DWELL_MS) -> None:
    """Move onto ``at`` (widget pixels) from 30 px away, wait until ``shown()`` is true (e.g.
    the hover card is up), then rest ``dwell_ms``."""
    x, y = int(round(at[0])), int(round(at[1]))
    QTest.mouseMove(widget, QPoint(x + 30, y + 30))
    qtbot.wait(APPROACH_MS)
    QTest.mouseMove(widget, QPoint(x, y))
    if shown is not None:
        qtbot.waitUntil(shown, timeout=5000)
    qtbot.wait(dwell_ms)


def hover_click(qtbot, widget, at, shown=None, modifiers=Qt.KeyboardModifier.NoModifier,
                dwell_ms: int = DWELL_MS) -> None:
    """:func:`rest_on` ``at``, then a left click there."""
    rest_on(qtbot, widget, at, shown, dwell_ms)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifiers,
                     QPoint(int(round(at[0])), int(round(at[1]))))


def click(widget, modifiers=Qt.KeyboardModifier.NoModifier, at=None) -> None:
    """A plain left click on a widget (its centre unless ``at``)."""
    point = widget.rect().center() if at is None else QPoint(int(at[0]), int(at[1]))
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifiers, point)


def type_text(widget, text: str, enter: bool = False) -> None:
    """Focus ``widget`` and type ``text`` key by key (Enter after it when ``enter``)."""
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    QTest.keyClicks(widget, text)
    if enter:
        QTest.keyClick(widget, Qt.Key.Key_Return)


def choose(combo, text: str | None = None, data=None) -> None:
    """Pick the entry showing ``text`` (or holding ``data``) with the keyboard: focus the combo,
    Home, then Down until it is current, as a person tabbing through a form does."""
    combo.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if (text is not None and combo.currentText() == text) or (
                data is not None and combo.currentData() == data):
            return
        QTest.keyClick(combo, Qt.Key.Key_Down)
    offered = [combo.itemText(i) for i in range(combo.count())]
    raise AssertionError(f"{text or data!r} is not among {offered}")

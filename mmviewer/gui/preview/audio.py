"""The Preview panel's audio player: QtMultimedia playback over a pyqtgraph waveform (or, with
``compact``, the controls alone: the Suspects panel's player).

``QMediaPlayer`` + ``QAudioOutput`` play the file itself; the waveform (a min/max envelope) or
spectrogram is decoded by the panel in a worker and handed in with :meth:`AudioPlayer.set_waveform`.
Only then does the player get the file: Qt's FFmpeg backend guesses a format from the content
among hundreds, so it sees only files our own loader already read as one of the formats we
accept (a file that fails there is never handed to it).
A playhead line follows playback and can be dragged to seek, as can the position slider.

Commands to the player (play, pause, stop, seek, new source) are *posted* to it, never called
directly. A direct call from Python holds the GIL while Qt waits for its audio-renderer thread,
and that thread, tearing down, needs the GIL for PySide's bindings: a deadlock (Qt 6.11 FFmpeg
backend; gdb shows ``QFFmpeg::AudioRenderer`` in ``PyGILState_Ensure`` while the main thread is
in ``stop()``). It hung our CI for 80 minutes; a play/stop loop here hung within 60-300 rounds
with direct calls and never in 1,400 rounds with posted ones (with and without a device).

The player exists only while the system has an audio output device: without one there is
nothing to hear. The waveform still shows, a note says why playback is off, and playback turns
on when a device appears.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Q_ARG, QMetaObject, QRectF, Qt, QUrl
from PySide6.QtMultimedia import QAudioDevice, QAudioOutput, QMediaDevices, QMediaPlayer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.data.preview import Waveform
from mmviewer.gui.plot_style import style_plot


def clock(ms: int) -> str:
    """``m:ss.cc`` for a position in milliseconds."""
    seconds = max(0, ms) / 1000.0
    return f"{int(seconds // 60)}:{seconds % 60:05.2f}"


def audio_output_available() -> bool:
    """True when the system has an audio output device to play into."""
    return bool(QMediaDevices.audioOutputs())


NO_DEVICE = "no audio output device"


def _post(target, slot: str, *args) -> None:
    """Queue ``target.slot(*args)``: it runs from the event loop, where Python does not hold
    the GIL (see the module docstring)."""
    QMetaObject.invokeMethod(target, slot, Qt.ConnectionType.QueuedConnection, *args)


class AudioPlayer(QWidget):
    """Play/pause, position slider, time label, waveform with playhead, spectrogram toggle."""

    def __init__(self, parent=None, compact: bool = False):
        super().__init__(parent)
        #: Controls only: no waveform, no spectrogram (a list's player beside the Preview's).
        self.compact = compact
        #: Created when an output device exists (see the module docstring).
        self.player: QMediaPlayer | None = None
        self.output: QAudioOutput | None = None
        self._path = None
        self._playable = None  # _path once our own loader decoded it: what the player may open
        self.caption = QLabel("Audio")
        self.caption.setWordWrap(True)
        self.caption.setToolTip("The item's audio file; the waveform is decoded in the background.")

        style = self.style()
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = QToolButton(icon=self._play_icon)
        self.play_button.setToolTip("Play / pause the item's audio (Space when focused)")
        self.play_button.clicked.connect(self._on_play_button_clicked)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Playback position: drag to seek")
        self.slider.sliderMoved.connect(self._on_slider_moved)
        self.slider.setMinimumWidth(40)
        self.time_label = QLabel(clock(0) + " / " + clock(0))
        self.time_label.setToolTip("Position / duration")
        self.device_note = QLabel(NO_DEVICE)
        self.device_note.setToolTip(
            "This computer reports no audio output device, so playback is off; the waveform and "
            "spectrogram still show. Playback turns on when a device appears.")
        self.spectrogram_button = QToolButton(text="Spectrogram", checkable=True)
        self.spectrogram_button.setToolTip("Show a log-magnitude spectrogram instead of the waveform")
        self.spectrogram_button.toggled.connect(self._on_spectrogram_button_toggled)

        self.plot = pg.PlotWidget()
        self.plot.setToolTip("Waveform (min/max envelope); drag the red playhead to seek")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.getAxis("left").setWidth(40)
        self.plot.setMinimumHeight(90)
        style_plot(self.plot, self)
        pen = pg.mkPen(70, 130, 200)
        self._low = pg.PlotDataItem(pen=pen)
        self._high = pg.PlotDataItem(pen=pen)
        self._fill = pg.FillBetweenItem(self._low, self._high, brush=pg.mkBrush(70, 130, 200, 140))
        self._image = pg.ImageItem()
        self._image.setColorMap(pg.colormap.get("viridis"))
        self._image.setVisible(False)
        self.playhead = pg.InfiniteLine(0, angle=90, movable=True, pen=pg.mkPen(220, 40, 40, width=2))
        self.playhead.sigPositionChangeFinished.connect(self._on_playhead_moved)
        for item in (self._image, self._low, self._high, self._fill, self.playhead):
            self.plot.addItem(item)
        self.waveform: Waveform | None = None

        self.controls = QWidget()
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        if not compact:
            controls.addWidget(self.device_note)
            controls.addWidget(self.spectrogram_button)
        self.spectrogram_button.setVisible(not compact)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.controls)
        if compact:  # narrow: the note on a line of its own
            layout.addWidget(self.device_note)
        layout.addWidget(self.plot, 1)

        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_audio_outputs_changed)
        self._on_audio_outputs_changed()
        self.set_source(None, "no item selected")

    # -- the output device ----------------------------------------------------------------------
    def _on_audio_outputs_changed(self) -> None:
        available = audio_output_available()
        if available and self.player is None:
            self._make_player()
        elif available:  # follow the (possibly new) default device
            _post(self.output, "setDevice", Q_ARG(QAudioDevice, QMediaDevices.defaultAudioOutput()))
        self.device_note.setVisible(self.player is None)
        self._enable_playback()

    def _make_player(self) -> None:
        self.player = QMediaPlayer(self)
        self.output = QAudioOutput(self)
        self.player.setAudioOutput(self.output)
        self.player.positionChanged.connect(self._on_player_position_changed)
        self.player.durationChanged.connect(self._on_player_duration_changed)
        self.player.playbackStateChanged.connect(self._on_player_playback_state_changed)
        self.player.errorOccurred.connect(self._on_player_error_occurred)
        if self._playable is not None:
            self._command("setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(self._playable))))

    def _command(self, slot: str, *args) -> None:
        """Post a command to the player, if there is one."""
        if self.player is not None:
            _post(self.player, slot, *args)

    def _enable_playback(self) -> None:
        playable = self._playable is not None and self.player is not None
        for widget in (self.play_button, self.slider):
            widget.setEnabled(playable)
        self.playhead.setMovable(playable)

    # -- what to play ---------------------------------------------------------------------------
    def set_source(self, path, message: str = "") -> None:
        """Stop and show ``path`` (None: nothing to play, ``message`` says why); it becomes
        playable when its waveform arrives (:meth:`set_waveform`)."""
        self._path, self._playable = path, None
        self._command("stop")
        self._command("setSource", Q_ARG(QUrl, QUrl()))
        self.waveform = None
        for item in (self._low, self._high):
            item.setData([], [])
        self._image.clear()
        self.playhead.setValue(0)
        self.slider.setRange(0, 0)
        self.time_label.setText(clock(0) + " / " + clock(0))
        enabled = path is not None
        for widget in (self.spectrogram_button, self.plot):
            widget.setEnabled(enabled)
        self._enable_playback()
        self.controls.setVisible(enabled)  # nothing to play: the caption says why
        self.plot.setVisible(enabled and not self.compact)
        self.caption.setText(message)

    def set_waveform(self, waveform: Waveform) -> None:
        """The decoded waveform of the current path: show it, and let the player open the file."""
        self.waveform = waveform
        if self._path is not None and self._playable is None:
            self._playable = self._path
            self._command("setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(self._path))))
            self._enable_playback()
        self._low.setData(waveform.times, waveform.low)
        self._high.setData(waveform.times, waveform.high)
        spec = waveform.spectrogram
        self._image.setImage(spec, autoLevels=False, levels=(-80, 0))
        self._image.setRect(QRectF(0, 0, waveform.duration, waveform.rate / 2))
        if self.player is None:  # no player to report the duration
            self.time_label.setText(f"{clock(0)} / {clock(int(waveform.duration * 1000))}")
        self._draw_mode()

    def set_error(self, text: str) -> None:
        self.caption.setText(text)
        for widget in (self.spectrogram_button, self.plot):
            widget.setEnabled(False)

    def stop(self) -> None:
        self._command("stop")

    def play(self) -> bool:
        """Start playback, once the waveform has arrived (only then may the player open the
        file); False when there is nothing to play yet or no output device."""
        if self._playable is None or self.player is None:
            return False
        self._command("play")
        return True

    def _draw_mode(self) -> None:
        spec = self.spectrogram_button.isChecked()
        self._image.setVisible(spec)
        for item in (self._low, self._high, self._fill):
            item.setVisible(not spec)
        self.plot.setLabel("left", "Hz" if spec else "")
        if self.waveform is None:
            return
        self.plot.setXRange(0, self.waveform.duration, padding=0)
        if spec:
            self.plot.setYRange(0, self.waveform.rate / 2, padding=0)
        else:
            peak = float(max(np.abs(self.waveform.low).max(), np.abs(self.waveform.high).max(), 1e-3))
            self.plot.setYRange(-peak, peak, padding=0.05)

    # -- handlers -------------------------------------------------------------------------------
    def _on_play_button_clicked(self) -> None:
        if self.player is None:
            return
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        self._command("pause" if playing else "play")

    def _on_slider_moved(self, ms: int) -> None:
        self._command("setPosition", Q_ARG("qint64", int(ms)))

    def _on_playhead_moved(self, line) -> None:
        self._command("setPosition", Q_ARG("qint64", int(max(0.0, line.value()) * 1000)))

    def _on_spectrogram_button_toggled(self, _checked: bool) -> None:
        self._draw_mode()

    def _on_player_position_changed(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(ms)
            self.slider.blockSignals(False)
        if not self.playhead.moving:
            self.playhead.setValue(ms / 1000.0)
        self.time_label.setText(f"{clock(ms)} / {clock(self.player.duration())}")

    def _on_player_duration_changed(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))
        self.time_label.setText(f"{clock(self.player.position())} / {clock(ms)}")

    def _on_player_playback_state_changed(self, playback) -> None:
        playing = playback == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)

    def _on_player_error_occurred(self, _error, text: str) -> None:
        self.caption.setText(f"cannot play this audio: {text or 'unknown error'}")

"""The Preview panel: image, text, audio playback to the end, missing and broken media."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtMultimedia import QMediaPlayer

import mmviewer.gui.preview.audio as preview_audio
from mmviewer.core.data.preview import envelope, spectrogram
from mmviewer.gui.preview.qt_preview import QtPreview

WAIT = 30_000


@pytest.fixture
def audio_device():
    if not preview_audio.audio_output_available():
        pytest.skip("no audio output device (install pulseaudio: the tests start a null sink)")


@pytest.fixture
def panel(qtbot, model):
    widget = QtPreview(model.state, model)
    qtbot.addWidget(widget)
    widget.resize(420, 700)
    widget.show()
    return widget


def show(qtbot, panel, row, modalities=("image", "text", "audio")):
    """Select ``row`` and wait until each of ``modalities`` has been drawn."""
    seen = set()
    panel.loaded.connect(seen.add)
    try:
        panel.state.current = row
        qtbot.waitUntil(lambda: set(modalities) <= seen, timeout=WAIT)
    finally:
        panel.loaded.disconnect(seen.add)


def test_shows_image_text_metadata_and_waveform(qtbot, panel):
    show(qtbot, panel, 4)
    assert panel.image.pixmap() is not None and not panel.image.pixmap().isNull()
    assert "64×48" in panel.image_caption.text()
    assert panel.text.toPlainText() == "a green thing number 4"
    assert panel.text.isReadOnly()
    meta = panel.meta.text()
    assert "item04" in meta and "green" in meta and "item04.wav" in meta
    assert panel.audio.waveform is not None and panel.audio.waveform.duration == pytest.approx(0.3, abs=0.01)
    assert "0.30 s" in panel.audio.caption.text()


def test_plays_the_wav_to_the_end(qtbot, audio_device, panel):
    show(qtbot, panel, 3)
    player = panel.audio.player
    with qtbot.waitSignal(player.mediaStatusChanged, timeout=WAIT,
                          check_params_cb=lambda s: s == QMediaPlayer.MediaStatus.EndOfMedia):
        panel.audio.play_button.click()
    assert panel.audio.slider.maximum() > 0


def test_switching_items_stops_playback(qtbot, audio_device, panel):
    show(qtbot, panel, 3)
    player = panel.audio.player
    with qtbot.waitSignal(player.playbackStateChanged, timeout=WAIT,
                          check_params_cb=lambda s: s == QMediaPlayer.PlaybackState.PlayingState):
        panel.audio.play_button.click()
    panel.state.current = 6
    qtbot.waitUntil(lambda: player.playbackState() != QMediaPlayer.PlaybackState.PlayingState, timeout=WAIT)
    qtbot.waitUntil(lambda: player.source().toLocalFile().endswith("item06.wav"), timeout=WAIT)


def test_player_commands_are_posted_never_called_from_python(qtbot, audio_device, panel):
    """A direct call holds the GIL while Qt waits for its audio-renderer thread, which needs the
    GIL to tear down: CI hung 80 minutes (see preview_audio). Every command must be posted."""
    player = panel.audio.player
    called = []
    for name in ("play", "pause", "stop", "setSource", "setPosition"):
        setattr(player, name, lambda *a, name=name: called.append(name))  # only Python calls land here
    show(qtbot, panel, 3)
    panel.audio.play_button.click()
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=WAIT)
    panel.audio._on_slider_moved(100)
    panel.audio.play_button.click()  # pause
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=WAIT)
    show(qtbot, panel, 5)
    panel.audio.stop()
    qtbot.waitUntil(lambda: player.source().toLocalFile().endswith("item05.wav"), timeout=WAIT)
    assert called == []


def test_switching_items_during_playback_over_and_over(qtbot, audio_device, panel):
    player = panel.audio.player
    playing = QMediaPlayer.PlaybackState.PlayingState
    for round_ in range(20):
        row = 1 + round_ % 9
        panel.state.current = row
        wav = f"item{row:02d}.wav"
        qtbot.waitUntil(lambda wav=wav: player.source().toLocalFile().endswith(wav), timeout=WAIT)
        panel.audio.play_button.click()
        qtbot.waitUntil(lambda: player.playbackState() == playing
                        or player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia, timeout=WAIT)
    panel.audio.stop()
    qtbot.waitUntil(lambda: player.playbackState() != playing, timeout=WAIT)


def test_item_without_audio_says_so(qtbot, panel):
    show(qtbot, panel, 0, ("image", "text"))
    assert "no audio for this item" in panel.audio.caption.text()
    assert not panel.audio.play_button.isEnabled()
    assert panel.audio.player is None or panel.audio.player.source().isEmpty()


def test_without_an_output_device_the_waveform_shows_and_playback_waits_for_one(
        qtbot, model, monkeypatch):
    monkeypatch.setattr(preview_audio, "audio_output_available", lambda: False)
    panel = QtPreview(model.state, model)
    qtbot.addWidget(panel)
    panel.show()
    show(qtbot, panel, 3)
    audio = panel.audio
    assert audio.player is None  # nothing to play into: no QMediaPlayer at all
    assert audio.device_note.isVisible() and "no audio output device" in audio.device_note.text()
    assert not audio.play_button.isEnabled() and not audio.slider.isEnabled()
    assert audio.waveform is not None and audio.plot.isEnabled()  # the waveform still shows
    assert audio.time_label.text().endswith("/ 0:00.30")
    audio.play_button.click()  # harmless
    audio.stop()
    monkeypatch.setattr(preview_audio, "audio_output_available", lambda: True)
    audio._devices.audioOutputsChanged.emit()  # a device was plugged in
    assert audio.player is not None and not audio.device_note.isVisible()
    assert audio.play_button.isEnabled()
    qtbot.waitUntil(lambda: audio.player.source().toLocalFile().endswith("item03.wav"), timeout=WAIT)


def test_corrupt_image_shows_the_loader_reason(qtbot, panel, model):
    path = model.item(7).media["image"].path
    path.write_bytes(b"this is not a png at all")
    show(qtbot, panel, 7)
    assert "cannot show item07.png: not a readable image" in panel.image_caption.text()
    assert "not a readable image" in panel.image.text()
    assert "Traceback" not in panel.image.text()
    assert panel.text.toPlainText() == "a green thing number 7"  # the rest still shows


def test_stale_results_are_dropped(qtbot, panel):
    """Item 2's decodes are superseded by item 5's and by item 0's (which has no audio):
    nothing of item 2 ever shows, even after its jobs end."""
    panel.state.current = 2
    panel.state.current = 0
    show(qtbot, panel, 5)
    panel.state.current = 0
    qtbot.waitUntil(lambda: panel.text.toPlainText() == "a red thing number 0", timeout=WAIT)
    qtbot.wait(300)
    assert "no audio for this item" in panel.audio.caption.text()
    assert panel.text.toPlainText() == "a red thing number 0"


def test_envelope_and_spectrogram_shapes():
    rate = 16000
    y = np.sin(np.linspace(0, 400 * np.pi, rate)).astype(np.float32)
    times, low, high = envelope(y, rate, bins=2000)
    assert len(times) == len(low) == len(high) == 2000
    assert (low <= high).all() and high.max() == pytest.approx(1, abs=1e-3)
    spec = spectrogram(y)
    assert spec.shape[1] == 257 and spec.shape[0] <= 1000 and spec.max() == 0
    times, low, high = envelope(y[:10], rate)
    assert len(times) == 10

"""The encoder dialog turns widgets into EmbedOptions and back, remembered in QSettings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from mmviewer.core.embed.options import EmbedOptions


@pytest.fixture
def settings(tmp_path):
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.clear()


def test_options_round_trip_through_settings(settings):
    from mmviewer.gui.settings import load_options, save_options

    assert load_options(settings) == EmbedOptions()  # nothing remembered yet
    chosen = EmbedOptions(offline=False, clip_model="ViT-B-16", clip_pretrained="laion2b_s34b_b88k",
                          audio="logmel", device="cpu", batch_size=16, max_audio_seconds=12.0,
                          workers=2, use_store=False)
    save_options(settings, chosen)
    again = QSettings(settings.fileName(), QSettings.Format.IniFormat)  # as on the next run
    assert load_options(again) == chosen


def test_unreadable_settings_fall_back(settings):
    from mmviewer.gui.settings import OPTIONS_KEY, load_options

    settings.setValue(OPTIONS_KEY, "{not json")
    assert load_options(settings, EmbedOptions(offline=True)) == EmbedOptions(offline=True)


@pytest.mark.parametrize("options", [
    EmbedOptions(offline=True, audio="logmel", max_audio_seconds=30.0, use_store=False),
    EmbedOptions(clip_model="RN50", clip_pretrained="/models/rn50.pt", device="cuda", batch_size=8),
    EmbedOptions(clip_model="ViT-B-32", clip_pretrained="local-dir:/models/clip", workers=3),
])
def test_dialog_shows_and_returns_the_same_options(qtbot, options):
    from mmviewer.gui.dialogs.encoders import QtEncoderDialog

    dialog = QtEncoderDialog(options, "data")
    qtbot.addWidget(dialog)
    assert dialog.options() == options
    assert dialog.clip_box.isEnabled() is (not options.offline)


def test_widgets_change_the_options(qtbot):
    from mmviewer.gui.dialogs.encoders import QtEncoderDialog

    dialog = QtEncoderDialog(EmbedOptions(), "data")
    qtbot.addWidget(dialog)
    dialog.offline_radio.setChecked(True)
    dialog.audio_combo.setCurrentIndex(dialog.audio_combo.findData("logmel"))
    dialog.device_combo.setCurrentText("auto")
    dialog.batch_spin.setValue(0)
    got = dialog.options()
    assert got.offline and got.audio == "logmel" and got.device is None and got.batch_size is None
    assert not dialog.clip_box.isEnabled()


def test_ask_encoders_saves_the_accepted_choice(qtbot, settings, monkeypatch):
    from mmviewer.gui.dialogs import encoders as mod
    from mmviewer.gui.settings import load_options

    def accept(self):
        self.offline_radio.setChecked(True)
        self.dont_ask_check.setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(mod.QtEncoderDialog, "exec", accept)
    options, dont_ask = mod.ask_encoders(None, settings, "data")
    assert options.offline and dont_ask
    assert load_options(settings).offline

    monkeypatch.setattr(mod.QtEncoderDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert mod.ask_encoders(None, settings, "data") == (None, False)


def test_check_reports_missing_local_weights(qtbot, tmp_path):
    from mmviewer.gui.dialogs.encoders import QtEncoderDialog

    dialog = QtEncoderDialog(EmbedOptions(clip_pretrained=f"local-dir:{tmp_path / 'nothing'}"))
    qtbot.addWidget(dialog)
    dialog.check_button.click()
    qtbot.waitUntil(lambda: dialog.check_button.isEnabled(), timeout=60_000)
    assert dialog.weights_status.text().startswith("✘")
    assert "nothing" in dialog.weights_status.text()


def test_command_line_options_override_the_remembered_ones():
    from mmviewer.cli import build_parser, options_from_args
    from mmviewer.gui.settings import merge_cli_options

    defaults = options_from_args(build_parser().parse_args([]))
    remembered = EmbedOptions(clip_model="RN50", audio="logmel", max_audio_seconds=20.0)
    cli = options_from_args(build_parser().parse_args(["--offline", "--device", "cpu"]))
    merged = merge_cli_options(remembered, cli, defaults)
    assert merged.offline and merged.device == "cpu"
    assert merged.clip_model == "RN50" and merged.audio == "logmel"
    assert merged.max_audio_seconds == 20.0

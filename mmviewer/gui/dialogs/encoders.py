"""The "which encoders?" dialog shown before a folder is embedded (File → Open folder…).

The choice is an :class:`~mmviewer.core.embed.options.EmbedOptions`; it is remembered in QSettings
(as ``EmbedOptions.to_dict()``) and offered again next time. "Don't ask again this session"
makes later opens in this run use the remembered choice directly, as ``mmviewer FOLDER`` and
``--demo`` always do.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.app.runner import JobRunner
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.core.encoders.info import MODEL_TAGS, clip_weights_status
from mmviewer.gui.qt_jobs import QtScheduler
from mmviewer.gui.settings import load_options, save_options

LOCAL_DIR = "local-dir:"
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "mps")
WEIGHTS_HINT = ("A pretrained tag (downloaded once into the Hugging Face cache), a checkpoint "
                "file (.pt/.pth/.bin/.safetensors), or local-dir:FOLDER with open_clip_config.json.")


class QtEncoderDialog(QDialog):
    """Pick encoders; :meth:`options` returns the choice as ``EmbedOptions``."""

    def __init__(self, options: EmbedOptions | None = None, target: str = "",
                 parent: QWidget | None = None, jobs: JobRunner | None = None):
        super().__init__(parent)
        self.setWindowTitle("Choose encoders")
        self._base = options or EmbedOptions()
        # The weights check imports open_clip (seconds): a job of the window's runner, or of
        # one of the dialog's own when it is shown before any window.
        self._check = (jobs or JobRunner(QtScheduler())).slot("clip-weights-check", id(self))

        intro = QLabel(f"Embed <b>{html.escape(target)}</b> with:" if target else "Embed the dataset with:")
        intro.setToolTip(target)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.clip_radio = QRadioButton("CLIP (open_clip): images and text in one shared space")
        self.clip_radio.setToolTip(
            "A pretrained CLIP model embeds images and texts into one space, so text→image "
            "matching works without any fitting. Needs the model weights (downloaded once).")
        self.offline_radio = QRadioButton("Offline encoders: no weights, no network")
        self.offline_radio.setToolTip(
            "Pixel features for images, TF-IDF/LSA for text, MFCC or log-mel for audio. Fast and "
            "always available; cross-modal matching then relies on a learned alignment.")
        group = QButtonGroup(self)
        group.addButton(self.clip_radio)
        group.addButton(self.offline_radio)
        self.clip_radio.toggled.connect(self._on_clip_radio_toggled)

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.addItems(list(MODEL_TAGS))
        self.model_combo.setToolTip("open_clip model name (architecture), e.g. ViT-B-32.")
        self.model_combo.currentTextChanged.connect(self._on_model_combo_changed)

        self.weights_combo = QComboBox()
        self.weights_combo.setEditable(True)
        self.weights_combo.setMinimumContentsLength(24)
        self.weights_combo.setToolTip(WEIGHTS_HINT)
        self.weights_combo.currentTextChanged.connect(self._on_weights_combo_changed)
        self.file_button = QPushButton("File…")
        self.file_button.setToolTip("Use a local checkpoint file for this model.")
        self.file_button.clicked.connect(self._on_file_button_clicked)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip(
            "Use a local open_clip folder (open_clip_config.json + weights) as local-dir:FOLDER.")
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip(
            "Look for these weights on this computer (nothing is downloaded).")
        self.check_button.clicked.connect(self._on_check_button_clicked)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights_combo, 1)
        for button in (self.file_button, self.folder_button, self.check_button):
            weights_row.addWidget(button)
        self.weights_status = QLabel(WEIGHTS_HINT)
        self.weights_status.setWordWrap(True)
        self.weights_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.weights_status.setToolTip("Where the weights come from, or what is missing.")

        self.clip_box = QGroupBox("CLIP")
        self.clip_box.setToolTip("Model and weights for the image and text encoders.")
        clip_form = QFormLayout(self.clip_box)
        clip_form.addRow(_label("Model", self.model_combo.toolTip()), self.model_combo)
        clip_form.addRow(_label("Weights", WEIGHTS_HINT), weights_row)
        clip_form.addRow(self.weights_status)

        self.audio_combo = QComboBox()
        self.audio_combo.addItem("MFCC (40 + deltas)", "mfcc")
        self.audio_combo.addItem("log-mel statistics (64 bands)", "logmel")
        self.audio_combo.setToolTip("Audio features: MFCC suits speech; log-mel keeps more timbre.")
        self.max_audio_spin = QDoubleSpinBox()
        self.max_audio_spin.setRange(1.0, 3600.0)
        self.max_audio_spin.setDecimals(0)
        self.max_audio_spin.setSuffix(" s")
        self.max_audio_spin.setToolTip("Decode at most this much of each audio clip.")
        self.device_combo = QComboBox()
        self.device_combo.setEditable(True)
        self.device_combo.addItems(list(DEVICES))
        self.device_combo.setToolTip("Where CLIP runs: auto picks CUDA when present, else the CPU.")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 4096)
        self.batch_spin.setSpecialValueText("auto")
        self.batch_spin.setToolTip("Items per encoder batch (auto: each encoder's default).")
        self.store_check = QCheckBox("Cache embeddings next to the dataset (.mmviewer folder)")
        self.store_check.setToolTip(
            "Reuse embeddings on the next open; only new or changed files are encoded again.")

        other = QGroupBox("Audio and compute")
        other.setToolTip("Audio encoder, decoding cap, device and batching.")
        form = QFormLayout(other)
        form.addRow(_label("Audio", self.audio_combo.toolTip()), self.audio_combo)
        form.addRow(_label("Max audio", self.max_audio_spin.toolTip()), self.max_audio_spin)
        form.addRow(_label("Device", self.device_combo.toolTip()), self.device_combo)
        form.addRow(_label("Batch size", self.batch_spin.toolTip()), self.batch_spin)
        form.addRow(self.store_check)

        self.dont_ask_check = QCheckBox("Don't ask again this session")
        self.dont_ask_check.setToolTip(
            "Later opens in this run use this choice without showing the dialog "
            "(it is always remembered for next time).")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Embed")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip(
            "Start embedding in the background with these encoders.")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Do not open.")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.clip_radio)
        layout.addWidget(self.clip_box)
        layout.addWidget(self.offline_radio)
        layout.addWidget(other)
        layout.addWidget(self.dont_ask_check)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        self.set_options(self._base)

    # -- options <-> widgets ----------------------------------------------------------------------
    def set_options(self, options: EmbedOptions) -> None:
        self._base = options
        (self.offline_radio if options.offline else self.clip_radio).setChecked(True)
        self._on_clip_radio_toggled(not options.offline)
        self.model_combo.setCurrentText(options.clip_model)
        self._on_model_combo_changed(options.clip_model)
        self.weights_combo.setCurrentText(options.clip_pretrained)
        self.audio_combo.setCurrentIndex(max(0, self.audio_combo.findData(options.audio)))
        self.max_audio_spin.setValue(float(options.max_audio_seconds))
        self.device_combo.setCurrentText(options.device or "auto")
        self.batch_spin.setValue(int(options.batch_size or 0))
        self.store_check.setChecked(bool(options.use_store))

    def options(self) -> EmbedOptions:
        device = self.device_combo.currentText().strip()
        data = self._base.to_dict()
        data.update(
            offline=self.offline_radio.isChecked(),
            clip_model=self.model_combo.currentText().strip() or "ViT-B-32",
            clip_pretrained=self.weights_combo.currentText().strip() or "openai",
            audio=self.audio_combo.currentData(),
            device=None if device in ("", "auto") else device,
            batch_size=self.batch_spin.value() or None,
            max_audio_seconds=float(self.max_audio_spin.value()),
            use_store=self.store_check.isChecked(),
        )
        return EmbedOptions.from_dict(data)

    @property
    def dont_ask_again(self) -> bool:
        return self.dont_ask_check.isChecked()

    # -- handlers -------------------------------------------------------------------------------
    def _on_clip_radio_toggled(self, checked: bool) -> None:
        self.clip_box.setEnabled(checked)
        self.device_combo.setEnabled(checked)

    def _on_model_combo_changed(self, model: str) -> None:
        current = self.weights_combo.currentText()
        self.weights_combo.blockSignals(True)
        self.weights_combo.clear()
        self.weights_combo.addItems([*MODEL_TAGS.get(model.strip(), ("openai",))])
        self.weights_combo.setCurrentText(current or "openai")
        self.weights_combo.blockSignals(False)

    def _on_weights_combo_changed(self, _text: str) -> None:
        self.weights_status.setText(WEIGHTS_HINT)

    def _on_file_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CLIP checkpoint", str(Path.home()),
            "Checkpoints (*.pt *.pth *.bin *.safetensors);;All files (*)")
        if path:
            self.weights_combo.setCurrentText(path)

    def _on_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "open_clip folder", str(Path.home()))
        if folder:
            self.weights_combo.setCurrentText(LOCAL_DIR + folder)

    def _on_check_button_clicked(self) -> None:
        self.weights_status.setText("Looking for the weights… (the first check loads open_clip)")
        self.check_button.setEnabled(False)
        opts = self.options()
        self._check.submit(clip_weights_status, opts.clip_model, opts.clip_pretrained,
                           on_result=self._on_check_returned,
                           on_error=lambda err: self._on_check_returned((False, str(err))))

    def _on_check_returned(self, value) -> None:
        found, message = value
        try:
            self.check_button.setEnabled(True)
            self.weights_status.setText(("✔ " if found else "✘ ") + message)
        except RuntimeError:  # the dialog closed meanwhile
            pass


def ask_encoders(parent, settings, target: str = "", fallback: EmbedOptions | None = None,
                 jobs: JobRunner | None = None) -> tuple[EmbedOptions | None, bool]:
    """Show the dialog; returns ``(options or None when cancelled, don't ask again)``.

    Accepted choices are saved in ``settings``.
    """
    dialog = QtEncoderDialog(load_options(settings, fallback), target, parent, jobs)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None, False
    options = dialog.options()
    save_options(settings, options)
    return options, dialog.dont_ask_again


def _label(text: str, tip: str) -> QLabel:
    label = QLabel(text)
    label.setToolTip(tip)
    return label

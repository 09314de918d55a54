"""Settings, persisted in the home's ``config.toml``; invalid values are refused with a message."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from triage_app.config import ConfigError, Home, Settings, remember_home, save_settings


class SettingsDialog(QDialog):
    def __init__(self, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings - MURA Triage")
        self.home = home
        settings = home.settings
        self.inbox = QLineEdit(settings.inbox or str(home.inbox_dir))
        self.data_home = QLineEdit(str(home.root))
        self.checkpoint = QLineEdit(settings.checkpoint)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(settings.device)
        self.precision = QComboBox()
        self.precision.addItems(["auto", "fp32", "bf16", "fp16"])
        self.precision.setCurrentText(settings.precision)
        self.threshold = QLineEdit("" if settings.threshold is None else f"{settings.threshold:g}")
        self.threshold.setPlaceholderText("from the checkpoint (0.5)")
        self.stable_seconds = QDoubleSpinBox()
        self.stable_seconds.setRange(-1e6, 1e6)
        self.stable_seconds.setDecimals(1)
        self.stable_seconds.setValue(settings.stable_seconds)
        self.stable_seconds.setSuffix(" s")

        form = QFormLayout(self)
        form.addRow("Inbox (hot folder)", self._with_browse(self.inbox, folder=True))
        form.addRow("Data home (next start)", self._with_browse(self.data_home, folder=True))
        form.addRow("Model checkpoint", self._with_browse(self.checkpoint, folder=False))
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Threshold", self.threshold)
        form.addRow("Study complete after", self.stable_seconds)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.error: str | None = None

    def _with_browse(self, edit: QLineEdit, folder: bool) -> QWidget:
        button = QPushButton("Browse...")

        def browse() -> None:
            chosen = (QFileDialog.getExistingDirectory(self, "Choose folder", edit.text()) if folder else
                      QFileDialog.getOpenFileName(self, "Choose checkpoint", edit.text(), "Checkpoints (*.ckpt)")[0])
            if chosen:
                edit.setText(chosen)

        button.clicked.connect(browse)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(button)
        return row

    def settings(self) -> Settings:
        """The settings as entered; raises :class:`ConfigError` for anything invalid."""
        threshold_text = self.threshold.text().strip()
        try:
            threshold = float(threshold_text) if threshold_text else None
        except ValueError:
            raise ConfigError(f"threshold must be a number between 0 and 1, got {threshold_text!r}") from None
        inbox = self.inbox.text().strip()
        if inbox and not Path(inbox).expanduser().is_dir():
            raise ConfigError(f"inbox folder does not exist: {inbox}")
        checkpoint = self.checkpoint.text().strip()
        if checkpoint:
            path = Path(checkpoint).expanduser()
            if not (path if path.is_absolute() else self.home.root / path).is_file():
                raise ConfigError(f"checkpoint not found: {checkpoint}")
        settings = replace(self.home.settings, inbox="" if inbox == str(self.home.root / "inbox") else inbox,
                           checkpoint=checkpoint, device=self.device.currentText(),
                           precision=self.precision.currentText(), threshold=threshold,
                           stable_seconds=self.stable_seconds.value())
        settings.validate()
        return settings

    def accept(self) -> None:
        try:
            settings = self.settings()
            data_home = Path(self.data_home.text().strip()).expanduser()
            if not str(data_home).strip():
                raise ConfigError("data home must not be empty")
        except ConfigError as exc:
            self.error = str(exc)
            QMessageBox.warning(self, "Invalid setting", str(exc))
            return
        save_settings(self.home.config_path, settings)
        if data_home.resolve() != self.home.root:
            remember_home(data_home.resolve())
        self.error = None
        super().accept()

"""Start the window: ``mura-triage [--home DIR] [--inbox DIR] [--checkpoint PATH]`` and ``mura-triage demo``."""

from __future__ import annotations

import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import torch
from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from triage_app import __version__
from triage_app.config import Home
from triage_app.gui.controller import PipelineController
from triage_app.gui.main_window import MainWindow
from triage_app.gui.workers import Worker, start


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MURA Triage")
    app.setOrganizationName("MURA Triage")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resources.files("triage_app.resources").joinpath("icon.png"))))
    return app  # type: ignore[return-value]


def reserve_core_for_gui() -> int:
    """Leave one core to the window: CPU inference on every core makes the event loop stutter.
    Returns the previous torch thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    return previous


def open_window(home: Home) -> MainWindow:
    controller = PipelineController(home)
    window = MainWindow(controller)
    controller.start()
    return window


def run_window(home: Home, quit_after: float | None = None) -> int:
    """Open the window and run the event loop; ``quit_after`` closes it (installation smoke tests)."""
    app = application()
    reserve_core_for_gui()
    window = open_window(home)
    window.show()
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    return app.exec()


class DemoFeeder:
    """Drops the demo's staged studies into the inbox over ``seconds`` so the worklist visibly reorders."""

    def __init__(self, staging: Path, inbox: Path, seconds: float = 60.0) -> None:
        self.studies = sorted(p for p in staging.iterdir() if p.is_dir())
        self.inbox = inbox
        self.timer = QTimer()
        self.timer.setInterval(int(1000 * seconds / max(len(self.studies), 1)))
        self.timer.timeout.connect(self.drop_next)

    def start(self) -> None:
        self.drop_next()
        self.timer.start()

    def drop_next(self) -> None:
        if not self.studies:
            self.timer.stop()
            return
        study = self.studies.pop(0)
        target = self.inbox / study.name
        tmp = self.inbox / f".{study.name}.incoming"  # hidden while copying: taken only once renamed
        shutil.copytree(study, tmp)
        os.replace(tmp, target)
        shutil.rmtree(study)


def run_demo(home: Home, staging: Path, needs_training: bool, train) -> int:  # type: ignore[no-untyped-def]
    """Train the demo model if needed (progress dialog), then open the window and feed the studies."""
    app = application()
    reserve_core_for_gui()
    state: dict = {}

    def open_demo_window() -> None:
        home.settings.checkpoint = str(home.models_dir / "demo.ckpt")
        window = open_window(home)
        window.setWindowTitle("MURA Triage - DEMO (synthetic data) - not for clinical use")
        window.show()
        feeder = DemoFeeder(staging, home.inbox_dir)
        feeder.start()
        state.update(window=window, feeder=feeder)

    if needs_training:
        dialog = QProgressDialog("Training the demo model on synthetic phantoms (first run only) ...", None, 0, 100)
        dialog.setWindowTitle("MURA Triage demo")
        dialog.setMinimumDuration(0)
        worker = Worker(lambda: train(lambda done, total: worker.signals.progress.emit(done, total)))
        worker.signals.progress.connect(lambda done, total: (dialog.setMaximum(total), dialog.setValue(done)))
        worker.signals.finished.connect(lambda _result: (dialog.reset(), open_demo_window()))
        worker.signals.errored.connect(lambda message: (dialog.reset(), QMessageBox.critical(
            None, "Demo model", f"Training the demo model failed:\n{message}"), app.quit()))
        state["worker"] = start(worker)
        dialog.show()
    else:
        open_demo_window()
    return app.exec()

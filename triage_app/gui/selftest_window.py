"""The self-test's window step: open the real main window on a home and let it show its worklist."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEventLoop

from triage_app.config import Home
from triage_app.gui.app import application, open_window


def check_window(home: Home, timeout: float = 10.0) -> tuple[int, int, int, str]:
    """Returns (worklist rows shown, window width, height, Qt platform); closes the window again."""
    app = application()
    window = open_window(home)
    try:
        window.show()
        deadline = time.monotonic() + timeout
        while window.model.rowCount() < 1 and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
            time.sleep(0.05)
        pixels = window.grab()
        width, height = (0, 0) if pixels.isNull() else (pixels.width(), pixels.height())
        return window.model.rowCount(), width, height, app.platformName()
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.processEvents()

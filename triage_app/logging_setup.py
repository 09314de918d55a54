"""Logging to ``<home>/logs/triage.log`` (private) and stderr.

Log messages never carry patient names, IDs or UIDs: the code logs counts and reason codes.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from triage_app.files import private_file


def setup_logging(logs_dir: Path | None, verbose: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mura_triage", False):
            root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console._mura_triage = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if logs_dir is not None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        log_file = logs_dir / "triage.log"
        handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=5)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s"))
        handler._mura_triage = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        private_file(log_file)

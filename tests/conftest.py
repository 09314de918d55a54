from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained DenseNet-169 checkpoint, written once per test session."""
    from model.checkpoint import write_initial_checkpoint

    return write_initial_checkpoint(tmp_path_factory.mktemp("models") / "untrained.ckpt")


@pytest.fixture
def make_home(tmp_path: Path):
    """Create a data home with fast settings; returns (Home, inbox)."""
    from triage_app.config import open_home

    def _make(checkpoint: Path | None = None, **overrides: object):
        settings = {"settle_seconds": 0.0, "stable_seconds": 0.5, "poll_seconds": 0.1,
                    "incomplete_grace_seconds": 30.0, "batch_size": 4}
        settings.update(overrides)
        if checkpoint is not None:
            settings["checkpoint"] = str(checkpoint)
        home = open_home(tmp_path / "home", settings)
        return home, home.inbox_dir

    return _make

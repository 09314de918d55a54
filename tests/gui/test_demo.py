"""The demo: staged phantom studies, the demo model, and the feeder that drops studies over time."""

from __future__ import annotations

from pathlib import Path

from model.checkpoint import load_checkpoint
from triage_app import demo
from triage_app.config import open_home


def test_demo_model_is_trained_once_and_labelled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(demo, "DEMO_RECIPE", ["--init", "none", "--epochs", "1", "--image-size", "64",
                                               "--workers", "0", "--no-progress"])
    monkeypatch.setattr(demo, "DEMO_TRAINING_STUDIES", 12)
    home = open_home(tmp_path / "home")
    assert demo.needs_training(home)
    progress: list[tuple[int, int]] = []
    path = demo.train_demo_model(home, lambda done, total: progress.append((done, total)))
    loaded = load_checkpoint(path)
    assert loaded.metadata.demo and "DEMO" in loaded.metadata.name
    assert progress and progress[-1][0] == progress[-1][1]
    assert not demo.needs_training(home)


def test_staged_studies_are_fed_into_the_inbox(qtbot, tmp_path: Path) -> None:
    from triage_app.gui.app import DemoFeeder

    home = open_home(tmp_path / "home")
    staging = demo.stage_demo_studies(home, 3, seed=5)
    assert (home.root / "labels.csv").is_file() and not list(staging.glob("*.csv"))
    feeder = DemoFeeder(staging, home.inbox_dir, seconds=0.3)
    feeder.start()
    qtbot.waitUntil(lambda: len([p for p in home.inbox_dir.iterdir() if not p.name.startswith(".")]) == 3,
                    timeout=5000)
    assert not any(staging.iterdir())
    assert all(any(study.rglob("*.dcm")) for study in home.inbox_dir.iterdir())

"""The self-test's window step and the window's ``--quit-after`` smoke-test option, offscreen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage_app.cli import main


def test_full_self_test_creates_the_window(qapp, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["self-test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    window = report["steps"][-1]
    assert window["name"] == "window" and window["ok"]
    assert "worklist shows the study" in window["detail"]


def test_window_quits_after_the_given_seconds(qapp, tmp_path: Path) -> None:
    assert main(["--home", str(tmp_path / "home"), "--quit-after", "0.5"]) == 0
    assert (tmp_path / "home" / "triage.db").exists()


def test_quit_after_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path / "home"), "--quit-after", "0"]) == 2
    assert "--quit-after must be > 0" in capsys.readouterr().err

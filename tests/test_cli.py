"""The command-line contract: subcommands, JSON shapes, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import sample_file, write_study
from triage_app.cli import main

FAST = "[ingest]\nsettle_seconds = 0\npoll_seconds = 0.1\n[studies]\nstable_seconds = 0.3\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    (root / "config.toml").write_text(FAST)
    return root


def test_watch_once_then_worklist_and_quarantine_json(home: Path, tmp_path: Path, untrained_checkpoint,
                                                      capsys) -> None:
    inbox = tmp_path / "inbox"
    write_study(inbox / "a", "WRIST", views=2, seed=41, finding="fracture")
    write_study(inbox / "b", "HAND", views=1, seed=42)
    (inbox / "scan.pdf").write_bytes(b"%PDF-1.4 not an image" * 20)
    assert main(["--home", str(home), "watch", "--inbox", str(inbox), "--once",
                 "--checkpoint", str(untrained_checkpoint)]) == 0
    err = capsys.readouterr().err
    assert "not for clinical use" in err and "summary:" in err
    assert main(["--home", str(home), "worklist", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    for row in rows:
        for key in ("study_uid", "status", "study_type", "probability", "abnormal", "views", "patient_id",
                    "accession_number", "received_at"):
            assert key in row
        assert row["status"] == "complete" and 0 <= row["probability"] <= 1
        assert isinstance(row["abnormal"], bool)
    assert rows[0]["probability"] >= rows[1]["probability"]
    assert {r["study_type"]: r["views"] for r in rows} == {"WRIST": 2, "HAND": 1}
    assert main(["--home", str(home), "quarantine", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["original_name"] == "scan.pdf" and entry["reason_code"] == "not_dicom"
    assert Path(entry["path"]).is_file()
    assert main(["--home", str(home), "worklist"]) == 0
    assert "not for clinical use" in capsys.readouterr().out


def test_score_json_does_not_touch_the_worklist(home: Path, tmp_path: Path, untrained_checkpoint, capsys) -> None:
    files = write_study(tmp_path / "study", "ELBOW", views=2, seed=43)
    shutil.copy(sample_file("RG3_J2KR.dcm"), tmp_path / "study" / "rg3.dcm")
    assert main(["--home", str(home), "score", str(tmp_path / "study"), "--json",
                 "--checkpoint", str(untrained_checkpoint)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    elbow = next(r for r in lines if r["study_type"] == "ELBOW")
    assert len(elbow["views"]) == 2
    assert {v["path"] for v in elbow["views"]} == {str(f) for f in files}
    mean = sum(v["probability"] for v in elbow["views"]) / 2
    assert elbow["probability"] == pytest.approx(mean, abs=1e-5)
    assert elbow["abnormal"] == (elbow["probability"] > 0.5)
    assert all(f.exists() for f in files)
    assert main(["--home", str(home), "worklist", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_model_init_and_info(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.ckpt"
    assert main(["model", "init", "--out", str(out), "--seed", "1"]) == 0
    assert main(["model", "info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert info["architecture"] == "densenet169" and info["image_size"] == 224 and info["threshold"] == 0.5


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "triage_app", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("watch", "--inbox", "/nonexistent/inbox", "--once"), "inbox folder does not exist"),
        (("watch", "--once", "--checkpoint", "/nonexistent.ckpt"), "checkpoint not found"),
        (("score", "/nonexistent.dcm", "--checkpoint", "{bad}"), "no such file or folder"),
        (("watch", "--bogus"), "unrecognized arguments"),
        (("worklist", "--limit", "x"), "invalid int value"),
        (("model", "init", "--out", "{tmp}/m.ckpt", "--init", "imagenet"), "densenet169-b2777c0a.pth"),
    ],
)
def test_errors_are_one_line_without_traceback(home: Path, tmp_path: Path, args, message) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_text("not a checkpoint")
    args = [a.replace("{bad}", str(bad)).replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run([sys.executable, "-m", "triage_app", "--home", str(home), *args],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "TORCH_HOME": str(tmp_path / "torch"),
                                 "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_unreadable_checkpoint_in_watch_is_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_text("not a checkpoint")
    result = _run("watch", "--once", "--checkpoint", str(bad), home=home)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read checkpoint" in result.stderr


def test_version_and_module_entry_point(home: Path) -> None:
    result = _run("--version", home=home)
    assert result.returncode == 0 and result.stdout.startswith("mura-triage ")


def test_window_without_a_display_is_one_line(home: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "triage_app", "--home", str(home)], capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 2 and "no display" in result.stderr and "Traceback" not in result.stderr

"""The trainer: outputs, resume, Ctrl-C, evaluate, and 2-process (gloo) equivalence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.checkpoint import load_checkpoint
from model.phantom_datasets import write_mura_dataset
from triage_app.cli import main

TINY = ["--init", "none", "--image-size", "64", "--workers", "0", "--no-progress", "--seed", "3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("phantoms")
    write_mura_dataset(out, 16, abnormal_fraction=0.5, seed=11, valid_fraction=0.25)
    return out / "MURA-v1.1"


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_training_writes_checkpoints_metrics_and_report(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "2", *TINY]) == 0
    rows = _metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2]
    for row in rows:
        assert {"train_loss", "val_loss", "lr", "kappa", "auroc", "seconds", "train_images_per_s"} <= set(row)
    best = load_checkpoint(out / "best.ckpt")
    training = best.metadata.training
    assert best.metadata.image_size == 64 and training["trained"] is True
    assert best.metadata.demo and "DEMO" in best.metadata.name  # trained on phantoms: labelled synthetic
    assert training["data"]["kind"] == "mura" and training["data"]["train"]["images"] > 0
    assert training["recipe"]["lr"] == 1e-4 and training["recipe"]["batch_size"] == 8
    assert "overall" in training["validation"] and training["code_version"]
    last = load_checkpoint(out / "last.ckpt")
    assert last.extra["epoch"] == 1 and "optimizer" in last.extra and "scheduler" in last.extra
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"overall", "by_study_type", "threshold"}
    assert "kappa (95% CI)" in (out / "report.md").read_text()
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_from_the_saved_epoch(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", *TINY]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "3", "--no-progress"]) == 0
    assert [r["epoch"] for r in _metrics(out)] == [1, 2, 3]
    assert load_checkpoint(out / "last.ckpt").extra["epoch"] == 2


def test_ctrl_c_saves_last_checkpoint(data: Path, tmp_path: Path, monkeypatch) -> None:
    import model.training as training

    real = training.train_one_epoch
    calls = {"n": 0}

    def interrupted_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_one_epoch", interrupted_second_epoch)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "3", *TINY]) == 130
    assert load_checkpoint(out / "last.ckpt").extra["epoch"] == 0  # epoch 1 completed, epoch 2 not


def test_evaluate_reproduces_the_training_validation(data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", *TINY]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--data", str(data), "--checkpoint", str(out / "best.ckpt"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    trained = json.loads((out / "report.json").read_text())
    assert result["overall"]["n_studies"] == trained["overall"]["n_studies"]
    assert result["overall"]["auroc"] == pytest.approx(trained["overall"]["auroc"], abs=1e-6)
    assert result["overall"]["kappa"] == pytest.approx(trained["overall"]["kappa"], abs=1e-9)
    for block in (result["overall"], *result["by_study_type"].values()):
        assert {"n_studies", "kappa", "kappa_ci", "auroc", "sensitivity", "specificity", "accuracy"} <= set(block)

    findings = data.parent / "findings.csv"
    assert main(["evaluate", "--data", str(data), "--checkpoint", str(out / "best.ckpt"), "--json",
                 "--findings", str(findings)]) == 0
    game = json.loads(capsys.readouterr().out)["localization"]
    abnormal_valid = sum(1 for line in findings.read_text().splitlines()
                         if "/valid/" in line and ("hardware" in line or "fracture" in line))
    assert game["images"] == abnormal_valid > 0
    assert set(game["by_finding"]) <= {"hardware", "fracture"}
    assert sum(part["images"] for part in game["by_finding"].values()) == game["images"]
    assert sum(part["hits"] for part in game["by_finding"].values()) == game["hits"]


def test_fine_tuning_starts_from_a_checkpoint_at_another_size(data: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["train", "--data", str(data), "--out", str(first), "--epochs", "1", *TINY]) == 0
    tiny_96 = [a if a != "64" else "96" for a in TINY if a not in ("--init", "none")]
    assert main(["train", "--data", str(data), "--out", str(second), "--epochs", "1",
                 "--init", str(first / "best.ckpt"), *tiny_96]) == 0
    tuned = load_checkpoint(second / "best.ckpt").metadata
    assert tuned.image_size == 96 and tuned.training["recipe"]["init"] == str(first / "best.ckpt")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{missing}"], "is not a folder"),
        (["--data", "{data}", "--init", "imagenet"], "densenet169-b2777c0a.pth"),
        (["--data", "{data}", "--init", "none", "--batch-size", "1000"], "fewer than one batch"),
    ],
)
def test_bad_training_input_is_one_line(data: Path, tmp_path: Path, args, message, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    args = [a.replace("{missing}", str(tmp_path / "nope")).replace("{data}", str(data)) for a in args]
    assert main(["train", *args, "--out", str(tmp_path / "o"), "--epochs", "1", "--image-size", "64",
                 "--workers", "0", "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_two_gloo_processes_match_one_process(data: Path, tmp_path: Path) -> None:
    common = ["train", "--data", str(data), "--epochs", "2", *TINY]
    single = tmp_path / "one"
    double = tmp_path / "two"
    run = subprocess.run([sys.executable, "-m", "triage_app", *common, "--out", str(single)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "triage_app", *common, "--out", str(double)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "x 2" in run.stderr  # really ran with two processes
    one, two = _metrics(single), _metrics(double)
    assert len(one) == len(two) == 2
    for a, b in zip(one, two, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3)
        # the training loss is averaged over 8 steps of slightly different float summation order
        # (batch-norm sums are all-reduced): equal to a few parts per thousand
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-2)
    pa = json.loads((single / "valid_predictions.json").read_text())["studies"]
    pb = json.loads((double / "valid_predictions.json").read_text())["studies"]
    assert [s["study"] for s in pa] == [s["study"] for s in pb]
    assert np.allclose([s["probability"] for s in pa], [s["probability"] for s in pb], atol=1e-3)
    ra = json.loads((single / "report.json").read_text())["overall"]
    rb = json.loads((double / "report.json").read_text())["overall"]
    for key in ("n_studies", "kappa", "sensitivity", "specificity", "accuracy", "tp", "fp", "tn", "fn"):
        assert ra[key] == rb[key], key
    assert ra["auroc"] == pytest.approx(rb["auroc"], abs=1e-9)


def test_unreadable_training_image_is_named(data: Path, tmp_path: Path, capsys) -> None:
    import shutil

    copy = tmp_path / "MURA-v1.1"
    shutil.copytree(data, copy)
    first = (copy / "train_image_paths.csv").read_text().splitlines()[0]
    (copy.parent / first).write_bytes(b"this is not a PNG")
    assert main(["train", "--data", str(copy), "--out", str(tmp_path / "o"), "--epochs", "1", *TINY]) == 2
    err = capsys.readouterr().err
    assert "cannot read training image" in err and "image1.png" in err

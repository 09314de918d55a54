"""The demo: a home with synthetic phantom studies and a demo model trained on phantoms (Qt-free part).

Everything here is labelled DEMO - synthetic data. The demo model is trained once per home (a few
minutes on a CPU) and reused by later runs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from model.checkpoint import load_checkpoint
from model.phantom_datasets import write_dicom_dataset, write_mura_dataset
from triage_app.config import Home

DEMO_SETTINGS = {"settle_seconds": 0.5, "stable_seconds": 3.0, "poll_seconds": 0.5}
#: A small, fast recipe: the point is a demo in minutes, not a good model.
DEMO_RECIPE = ["--init", "none", "--epochs", "4", "--image-size", "128", "--lr", "5e-4", "--workers", "0",
               "--no-progress", "--seed", "1"]
DEMO_TRAINING_STUDIES = 90


def demo_checkpoint(home: Home) -> Path:
    return home.models_dir / "demo.ckpt"


def needs_training(home: Home) -> bool:
    path = demo_checkpoint(home)
    if not path.exists():
        return True
    try:
        return not load_checkpoint(path).metadata.demo
    except ValueError:
        return True


def train_demo_model(home: Home, on_progress: Callable[[int, int], None] | None = None) -> Path:
    """Train DenseNet-169 on generated MURA-layout phantoms and install it as ``models/demo.ckpt``."""
    from model.training import get_args_parser
    from model.training import main as train

    data = home.root / "demo-training"
    run = home.models_dir / "demo-run"
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(run, ignore_errors=True)
    write_mura_dataset(data, DEMO_TRAINING_STUDIES, abnormal_fraction=0.5, seed=1234)
    args = get_args_parser().parse_args(["--data", str(data / "MURA-v1.1"), "--out", str(run), *DEMO_RECIPE])
    if train(args, on_progress) != 0:
        raise RuntimeError("demo model training was interrupted")
    shutil.copy2(run / "best.ckpt", demo_checkpoint(home))
    return demo_checkpoint(home)


def stage_demo_studies(home: Home, studies: int, seed: int) -> Path:
    """Write phantom DICOM studies into ``<home>/demo-staging`` (labels kept beside, not in the inbox)."""
    staging = home.root / "demo-staging"
    shutil.rmtree(staging, ignore_errors=True)
    write_dicom_dataset(staging / f"batch-{int(time.time())}", studies, 0.5, seed)
    batch = next(staging.iterdir())
    for side_file in (p for p in batch.iterdir() if p.is_file()):  # labels, findings, synthetic marker
        side_file.rename(home.root / side_file.name)
    for study in batch.iterdir():
        study.rename(staging / study.name)
    batch.rmdir()
    return staging

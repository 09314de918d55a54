"""Ingest files/s and scoring views/s of the headless pipeline, beside a baseline in the same run.

Baselines: for ingest, a naive "read the header and move the file" loop (no validation, hashing,
decoding, fsync or database); for scoring, DenseNet-169 forward passes on ready-made tensors (no
decoding, preprocessing or database). The gap is what safety and bookkeeping cost.

    python benchmarks/pipeline_throughput.py [--phantoms 120] [--large 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pydicom
import torch
from _output import emit  # benchmarks/_output.py, beside this script
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from model.checkpoint import write_initial_checkpoint
from model.network import build_network
from model.phantom_datasets import write_dicom_dataset
from triage_app.config import open_home
from triage_app.pipeline import Pipeline


def make_phantom_inputs(folder: Path, studies: int) -> Path:
    write_dicom_dataset(folder, studies, 0.5, seed=1)
    for side in folder.glob("*.csv"):
        side.unlink()
    return folder


def make_large_inputs(folder: Path, copies: int) -> Path:
    """Copies of a real 1760 x 1760 CR radiograph, two views per study."""
    folder.mkdir(parents=True)
    source = pydicom.dcmread(get_testdata_file("RG3_UNCR.dcm"))
    for index in range(copies):
        source.SOPInstanceUID = generate_uid()
        source.StudyInstanceUID = generate_uid() if index % 2 == 0 else source.StudyInstanceUID
        source.save_as(folder / f"rg3_{index}.dcm")
    return folder


def baseline_ingest(files: list[Path], dest: Path) -> float:
    dest.mkdir()
    started = time.perf_counter()
    for index, path in enumerate(files):
        pydicom.dcmread(path, stop_before_pixels=True)
        shutil.move(path, dest / f"{index}.dcm")
    return len(files) / (time.perf_counter() - started)


def pipeline_ingest(source: Path, home_root: Path, checkpoint: Path | None) -> tuple[float, float | None, int]:
    settings = {"settle_seconds": 0.0, "stable_seconds": 0.0, "poll_seconds": 0.1}
    if checkpoint:
        settings["checkpoint"] = str(checkpoint)
    home = open_home(home_root, settings)
    files = [p for p in source.rglob("*.dcm")]
    for path in files:
        target = home.inbox_dir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    pipeline = Pipeline(home)
    started = time.perf_counter()
    pipeline.ingest_ready_files()
    files_per_second = len(files) / (time.perf_counter() - started)
    views_per_second = None
    if pipeline.scoring:
        started = time.perf_counter()
        while pipeline.scoring.score_pending_batch():
            pass
        views_per_second = pipeline.scoring.stats.views_scored / (time.perf_counter() - started)
    pipeline.close()
    return files_per_second, views_per_second, len(files)


def baseline_forward(batch_size: int, batches: int) -> float:
    net = build_network("none", seed=0).eval()
    images = torch.randn(batch_size, 3, 224, 224)
    with torch.inference_mode():
        net(images)  # warm-up
        started = time.perf_counter()
        for _ in range(batches):
            net(images)
    return batch_size * batches / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantoms", type=int, default=120, help="synthetic studies (2-4 views each)")
    parser.add_argument("--large", type=int, default=8, help="copies of a 1760x1760 CR radiograph (6 MB)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    results: dict[str, object] = {
        "machine": {"python": sys.version.split()[0], "torch": torch.__version__, "cpu": platform.processor()
                    or platform.machine(), "threads": torch.get_num_threads()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        checkpoint = write_initial_checkpoint(tmp_path / "untrained.ckpt")
        inputs = {
            "phantom": make_phantom_inputs(tmp_path / "in-phantom", args.phantoms),
            "large_cr": make_large_inputs(tmp_path / "in-large", args.large),
        }
        for label, source in inputs.items():
            copy = tmp_path / f"copy-{label}"
            shutil.copytree(source, copy)
            base = baseline_ingest([p for p in copy.rglob("*.dcm")], tmp_path / f"moved-{label}")
            ours, views, n = pipeline_ingest(source, tmp_path / f"home-{label}", checkpoint)
            results[f"ingest_{label}"] = {"files": n, "pipeline_files_per_s": round(ours, 2),
                                          "baseline_read_and_move_files_per_s": round(base, 2)}
            results[f"scoring_{label}"] = {"pipeline_views_per_s": round(views or 0.0, 2)}
    results["scoring_baseline_forward_only_views_per_s"] = round(baseline_forward(8, 4), 2)
    emit(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

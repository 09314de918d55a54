"""Training data sources: MURA-v1.1 CSV layout, site DICOM datasets, class weights, bad data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from model.datasets import (
    DataError,
    ImageRecord,
    ViewDataset,
    check_split,
    load_mura,
    load_site_dataset,
    load_splits,
    type_weights,
)
from model.phantom_datasets import write_dicom_dataset, write_mura_dataset


@pytest.fixture(scope="module")
def mura(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mura")
    write_mura_dataset(out, 21, abnormal_fraction=0.5, seed=3)
    return out / "MURA-v1.1"


def test_mura_reader_follows_the_csv_layout(mura: Path) -> None:
    train = load_mura(mura, "train")
    valid = load_mura(mura, "valid")
    lines = (mura / "train_image_paths.csv").read_text().splitlines()
    assert len(train) == len(lines) and all(line.startswith("MURA-v1.1/train/XR_") for line in lines)
    studies = dict(line.rsplit(",", 1) for line in (mura / "train_labeled_studies.csv").read_text().splitlines())
    for record in train:
        assert Path(record.path).is_file() and record.path.startswith(str(mura.parent))
        assert record.study_id in studies and record.label == int(studies[record.study_id])
        assert f"/XR_{record.study_type}/" in record.path
        assert record.label == ("positive" in record.study_id)
        assert record.patient_id.startswith("patient")
    assert {r.patient_id for r in train}.isdisjoint({r.patient_id for r in valid})
    assert load_splits(mura.parent)[2] == "mura"  # the folder that holds MURA-v1.1 works too
    assert {r.study_type for r in load_mura(mura, "train", study_types=["HAND"])} == {"HAND"}


def test_mura_errors_and_skip_missing(mura: Path, tmp_path: Path) -> None:
    copy = tmp_path / "MURA-v1.1"
    shutil.copytree(mura, copy)
    first = (copy / "train_image_paths.csv").read_text().splitlines()[0]
    (copy.parent / first).unlink()
    with (copy / "train_image_paths.csv").open("a") as handle:
        handle.write(first.rsplit("/", 1)[0] + "/._image1.png\n")  # macOS resource fork: skipped
    with pytest.raises(DataError, match=r"1 image\(s\) listed .* do not exist.*--skip-missing"):
        load_mura(copy, "train")
    assert len(load_mura(copy, "train", skip_missing=True)) == len(load_mura(mura, "train")) - 1
    (copy / "valid_labeled_studies.csv").unlink()
    with pytest.raises(DataError, match=r"missing valid_labeled_studies\.csv"):
        load_mura(copy, "valid")
    with pytest.raises(DataError, match=r"neither a MURA-v1\.1 folder"):
        load_splits(tmp_path / "MURA-v1.1" / "train")


def test_site_dataset_splits_by_patient(tmp_path: Path) -> None:
    write_dicom_dataset(tmp_path, 15, abnormal_fraction=0.4, seed=5)
    (tmp_path / "notes.txt").write_text("not DICOM")
    train, valid = load_site_dataset(tmp_path, val_fraction=0.3, seed=1)
    assert train and valid
    assert {r.patient_id for r in train}.isdisjoint({r.patient_id for r in valid})
    labels = {row["study_instance_uid"]: row for row in csv.DictReader((tmp_path / "labels.csv").open())}
    for record in train + valid:
        assert record.label == int(labels[record.study_id]["label"])
        assert record.study_type == labels[record.study_id]["study_type"]
    again = load_site_dataset(tmp_path, val_fraction=0.3, seed=1)
    assert [r.path for r in again[1]] == [r.path for r in valid]


def test_site_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing labels\.csv"):
        load_site_dataset(tmp_path)
    (tmp_path / "labels.csv").write_text("study_instance_uid,label\n1.2.3,maybe\n")
    with pytest.raises(DataError, match="label must be 0 or 1"):
        load_site_dataset(tmp_path)
    (tmp_path / "labels.csv").write_text("study_instance_uid,label\n1.2.3,1\n")
    with pytest.raises(DataError, match="without DICOM files"):
        load_site_dataset(tmp_path)


def test_one_class_split_is_refused() -> None:
    records = [ImageRecord("x.png", 0, 1, f"s{i}", "WRIST", f"p{i}") for i in range(4)]
    with pytest.raises(DataError, match="abnormal studies only"):
        check_split(records, "validation")


def test_type_weights_follow_the_paper() -> None:
    records = ([ImageRecord("a", 0, 1, "s", "WRIST", "p")] * 3 + [ImageRecord("b", 0, 0, "t", "WRIST", "p")] * 7
               + [ImageRecord("c", 0, 1, "u", "HAND", "q")] * 2)
    weights = type_weights(records)
    assert weights["WRIST"] == pytest.approx((0.3, 0.7))  # w_T0 = A/(A+N), w_T1 = N/(A+N)
    assert weights["HAND"] == pytest.approx((1.0, 0.0))


def test_augmentation_is_seeded_per_image(mura: Path) -> None:
    records = load_mura(mura, "train")[:3]
    a = ViewDataset(records, {}, 64, augment=True, seed=4)
    b = ViewDataset(records, {}, 64, augment=True, seed=4)
    assert torch.equal(a[1][0], b[1][0])
    a.set_epoch(1)
    assert not torch.equal(a[1][0], b[1][0])
    plain = ViewDataset(records, {}, 64)[1][0]
    assert plain.shape == (3, 64, 64) and np.isfinite(plain.numpy()).all()

"""Training data: MURA-v1.1 CSVs, a site's DICOM folder with ``labels.csv``, and a torch Dataset.

Every image goes through the app's own decode (:mod:`model.dicom_image` for DICOM) and the shared
:func:`model.preprocessing.preprocess_image`, so the network trains on exactly what it will see.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image

from model.dicom_image import decode_frames, frame_count
from model.preprocessing import DEFAULT_IMAGE_SIZE, IMAGENET, Normalization, preprocess_image
from model.study_types import OTHER, STUDY_TYPES, map_study_type

SPLITS = ("train", "valid")


class DataError(ValueError):
    """Unusable training data; the message says what and where."""


@dataclass(frozen=True)
class ImageRecord:
    path: str
    frame: int
    label: int
    study_id: str
    study_type: str
    patient_id: str


# -- MURA-v1.1 ------------------------------------------------------------------------------------
def _read_csv_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise DataError(f"missing {path.name} in {path.parent} (is this a MURA-v1.1 folder?)")
    with path.open(newline="") as handle:
        return [row for row in csv.reader(handle) if row and row[0].strip()]


def _mura_type(relative: str) -> str:
    for part in relative.split("/"):
        if part.startswith("XR_") and part[3:] in STUDY_TYPES:
            return part[3:]
    return OTHER


def load_mura(root: Path, split: str, study_types: Sequence[str] | None = None,
              skip_missing: bool = False) -> list[ImageRecord]:
    """Read ``<split>_image_paths.csv`` and ``<split>_labeled_studies.csv`` of a MURA-v1.1 folder.

    Paths in the CSVs start with ``MURA-v1.1/``: they are resolved against the folder's parent. The
    study label comes from the labeled-studies CSV, the type from the ``XR_<TYPE>`` folder.
    """
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}")
    root = Path(root)
    base = root.parent
    labels: dict[str, int] = {}
    for row in _read_csv_rows(root / f"{split}_labeled_studies.csv"):
        if len(row) < 2 or row[1].strip() not in ("0", "1"):
            raise DataError(f"{split}_labeled_studies.csv: bad line {','.join(row)!r}")
        labels[row[0].strip().rstrip("/") + "/"] = int(row[1])
    records, missing = [], []
    for row in _read_csv_rows(root / f"{split}_image_paths.csv"):
        relative = row[0].strip()
        if Path(relative).name.startswith("."):
            continue  # macOS "._" resource forks shipped in some copies
        study = relative.rsplit("/", 1)[0] + "/"
        if study not in labels:
            raise DataError(f"{relative} belongs to no study in {split}_labeled_studies.csv")
        study_type = _mura_type(relative)
        if study_types and study_type not in study_types:
            continue
        if not (base / relative).is_file():
            missing.append(relative)
            continue
        patient = next((p for p in relative.split("/") if p.startswith("patient")), study)
        records.append(ImageRecord(str(base / relative), 0, labels[study], study, study_type, patient))
    _check_missing(missing, skip_missing, f"MURA {split}")
    return records


def _check_missing(missing: list[str], skip_missing: bool, what: str) -> None:
    if missing and not skip_missing:
        raise DataError(f"{len(missing)} image(s) listed in {what} do not exist (first: {missing[0]}); "
                        "pass --skip-missing to continue without them")


# -- site DICOM dataset ---------------------------------------------------------------------------
def _read_site_labels(path: Path) -> dict[str, tuple[int, str | None]]:
    if not path.is_file():
        raise DataError(f"missing {path.name} in {path.parent} (columns: study_instance_uid,label[,study_type])")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"study_instance_uid", "label"} <= set(reader.fieldnames):
            raise DataError(f"{path} needs the columns study_instance_uid,label (optional: study_type)")
        labels = {}
        for line, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip()
            if label not in ("0", "1"):
                raise DataError(f"{path}:{line}: label must be 0 or 1, got {label!r}")
            study_type = (row.get("study_type") or "").strip().upper() or None
            labels[row["study_instance_uid"].strip()] = (int(label), study_type)
    return labels


def load_site_dataset(folder: Path, val_fraction: float = 0.2, seed: int = 0,
                      study_types: Sequence[str] | None = None, skip_missing: bool = False
                      ) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """A folder of DICOM files plus ``labels.csv``; validation split by patient (seeded)."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError("--val-fraction must lie strictly between 0 and 1")
    folder = Path(folder)
    labels = _read_site_labels(folder / "labels.csv")
    records: list[ImageRecord] = []
    seen_studies: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in (".csv", ".json")):
        if path.name.startswith(".") or path.name.upper() == "DICOMDIR":
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            continue  # not DICOM: a site folder may hold reports and the like
        study_uid = str(ds.get("StudyInstanceUID", ""))
        if study_uid not in labels:
            continue
        label, study_type = labels[study_uid]
        if study_type is None:
            study_type = map_study_type(ds.get("BodyPartExamined"), (ds.get("StudyDescription"),
                                        ds.get("SeriesDescription"), ds.get("ProtocolName")))
        if study_types and study_type not in study_types:
            continue
        patient = str(ds.get("PatientID", "") or study_uid)
        seen_studies.add(study_uid)
        records.extend(ImageRecord(str(path), frame, label, study_uid, study_type, patient)
                       for frame in range(frame_count(ds)))
    missing = [uid for uid, (_, t) in labels.items()
               if uid not in seen_studies and not (study_types and t and t not in study_types)]
    _check_missing(missing, skip_missing, "labels.csv (studies without DICOM files)")
    patients = sorted({r.patient_id for r in records})
    rng = np.random.default_rng(seed)
    rng.shuffle(patients)
    n_valid = max(1, math.ceil(len(patients) * val_fraction)) if len(patients) > 1 else 0
    valid_patients = set(patients[:n_valid])
    return ([r for r in records if r.patient_id not in valid_patients],
            [r for r in records if r.patient_id in valid_patients])


# -- checks and class weights ---------------------------------------------------------------------
def check_split(records: Sequence[ImageRecord], name: str) -> None:
    if not records:
        raise DataError(f"the {name} split has no images")
    classes = {r.label for r in records}
    if len(classes) < 2:
        only = "abnormal" if classes == {1} else "normal"
        raise DataError(f"the {name} split has {only} studies only; training needs both classes")


def type_weights(records: Iterable[ImageRecord]) -> dict[str, tuple[float, float]]:
    """MURA's per-type loss weights from training image counts: ``(w_T0, w_T1)`` with
    ``w_T1 = |N_T| / (|A_T| + |N_T|)`` and ``w_T0 = |A_T| / (|A_T| + |N_T|)``."""
    abnormal: Counter[str] = Counter()
    normal: Counter[str] = Counter()
    for record in records:
        (abnormal if record.label else normal)[record.study_type] += 1
    weights = {}
    for study_type in set(abnormal) | set(normal):
        total = abnormal[study_type] + normal[study_type]
        weights[study_type] = (abnormal[study_type] / total, normal[study_type] / total)
    return weights


def is_mura_folder(path: Path) -> Path | None:
    """The MURA-v1.1 folder itself, or a folder that holds it; None for anything else."""
    for candidate in (path, path / "MURA-v1.1"):
        if (candidate / "train_image_paths.csv").is_file() or (candidate / "valid_image_paths.csv").is_file():
            return candidate
    return None


def load_splits(data: Path, val_fraction: float = 0.2, seed: int = 0, study_types: Sequence[str] | None = None,
                skip_missing: bool = False, need_train: bool = True
                ) -> tuple[list[ImageRecord], list[ImageRecord], str]:
    """``(train, valid, kind)`` from a MURA-v1.1 folder or a site DICOM folder with labels.csv."""
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"--data {data} is not a folder")
    mura = is_mura_folder(data)
    if mura is not None:
        train = load_mura(mura, "train", study_types, skip_missing) if need_train else []
        return train, load_mura(mura, "valid", study_types, skip_missing), "mura"
    if (data / "labels.csv").is_file():
        train, valid = load_site_dataset(data, val_fraction, seed, study_types, skip_missing)
        return train, valid, "site"
    raise DataError(f"{data} is neither a MURA-v1.1 folder (train_image_paths.csv ...) "
                    "nor a site dataset (DICOM files + labels.csv)")


def dataset_summary(records: Sequence[ImageRecord]) -> dict:
    studies = {r.study_id: r for r in records}
    return {
        "images": len(records),
        "studies": len(studies),
        "patients": len({r.patient_id for r in records}),
        "abnormal_images": sum(r.label for r in records),
        "abnormal_studies": sum(r.label for r in studies.values()),
        "by_study_type": dict(sorted(Counter(r.study_type for r in records).items())),
    }


# -- loading and augmentation ---------------------------------------------------------------------
def load_image(record: ImageRecord) -> np.ndarray:
    """A record's image as floats in [0, 1], bone bright (PNG greyscale or RGB, or DICOM)."""
    path = Path(record.path)
    try:
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            with Image.open(path) as image:
                return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        return decode_frames(pydicom.dcmread(path))[record.frame]
    except Exception as exc:
        raise DataError(f"cannot read training image {path}: {exc}") from exc


class ViewDataset(torch.utils.data.Dataset):
    """Preprocessed views; training augmentation (flip, rotation) is seeded per (seed, epoch, index)
    so that one process and many processes see exactly the same images."""

    def __init__(self, records: Sequence[ImageRecord], weights: dict[str, tuple[float, float]],
                 image_size: int = DEFAULT_IMAGE_SIZE, augment: bool = False, rotation: float = 30.0,
                 seed: int = 0, normalization: Normalization = IMAGENET, flip: bool = True) -> None:
        self.records = list(records)
        self.weights = weights
        self.image_size = image_size
        self.augment = augment
        self.flip = flip
        self.rotation = rotation
        self.seed = seed
        self.epoch = 0
        self.normalization = normalization
        self._fill = [-m / s for m, s in zip(normalization.mean, normalization.std, strict=True)]

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        record = self.records[index]
        tensor = preprocess_image(load_image(record), self.image_size, self.normalization)
        if self.augment:
            generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch * 10_007 + index) % 2**62)
            if torch.rand((), generator=generator) < 0.5 and self.flip:
                tensor = TF.horizontal_flip(tensor)
            angle = float((torch.rand((), generator=generator) * 2 - 1) * self.rotation)
            if angle:
                tensor = TF.rotate(tensor, angle, interpolation=TF.InterpolationMode.BILINEAR, fill=self._fill)
        w0, w1 = self.weights.get(record.study_type, (0.5, 0.5))
        weight = w1 if record.label else w0
        return tensor, torch.tensor(float(record.label)), torch.tensor(weight), index

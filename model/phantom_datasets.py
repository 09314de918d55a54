"""Whole synthetic datasets: MURA-v1.1 layout (PNG + CSVs) or DICOM studies with ``labels.csv``.

Every abnormal image's finding box is written to ``findings.csv`` beside the data so that CAM
localisation (the "pointing game") can be scored. Everything is labelled synthetic.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.uid import generate_uid

from model.phantom_dicom import PhantomStudyInfo, write_view
from model.phantoms import FINDINGS, make_phantom
from model.study_types import STUDY_TYPES

FINDINGS_FIELDS = ["image", "study", "study_type", "label", "finding", "x0", "y0", "x1", "y1", "rows", "cols"]


@dataclass(frozen=True)
class StudyPlan:
    index: int
    study_type: str
    abnormal: bool
    views: int
    finding: str | None
    seed: int


def plan_studies(n_studies: int, abnormal_fraction: float, seed: int,
                 study_types: tuple[str, ...] = STUDY_TYPES) -> list[StudyPlan]:
    if n_studies < 1:
        raise ValueError("--studies must be at least 1")
    if not 0.0 <= abnormal_fraction <= 1.0:
        raise ValueError("--abnormal-fraction must lie between 0 and 1")
    rng = np.random.default_rng(seed)
    n_abnormal = round(n_studies * abnormal_fraction)
    labels = np.array([True] * n_abnormal + [False] * (n_studies - n_abnormal))
    rng.shuffle(labels)
    plans = []
    for index, abnormal in enumerate(labels):
        plans.append(StudyPlan(
            index=index,
            study_type=study_types[index % len(study_types)],
            abnormal=bool(abnormal),
            views=int(rng.integers(2, 5)),
            finding=str(rng.choice(FINDINGS)) if abnormal else None,
            seed=int(rng.integers(0, 2**31 - 1)),
        ))
    return plans


def _size(rng: np.random.Generator, study_type: str) -> tuple[int, int]:
    tall = study_type in ("FINGER", "FOREARM", "HUMERUS")
    rows = int(rng.integers(300, 360)) if tall else int(rng.integers(260, 320))
    cols = int(rng.integers(200, 250)) if tall else int(rng.integers(240, 300))
    return rows, cols


def write_dicom_dataset(out: Path, n_studies: int, abnormal_fraction: float = 0.5, seed: int = 0,
                        progress: Callable[[int], None] | None = None) -> list[StudyPlan]:
    """CR/DX studies (MONOCHROME1 and 2, 12-16 bit) in ``out/<accession>/``, plus ``labels.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_studies(n_studies, abnormal_fraction, seed)
    with (out / "labels.csv").open("w", newline="") as labels_file, \
            (out / "findings.csv").open("w", newline="") as findings_file:
        labels = csv.writer(labels_file)
        labels.writerow(["study_instance_uid", "label", "study_type"])
        findings = csv.DictWriter(findings_file, FINDINGS_FIELDS)
        findings.writeheader()
        for plan in plans:
            rng = np.random.default_rng(plan.seed)
            info = PhantomStudyInfo(generate_uid(), f"PHANTOM{plan.index:05d}", f"SYN{seed:03d}{plan.index:05d}",
                                    plan.study_type)
            series_uid = generate_uid()
            photometric = "MONOCHROME1" if plan.index % 2 else "MONOCHROME2"
            bits = (12, 14, 16)[plan.index % 3]
            modality = "CR" if plan.index % 4 < 2 else "DX"
            rows, cols = _size(rng, plan.study_type)
            folder = out / info.accession_number
            for view in range(plan.views):
                phantom = make_phantom(plan.study_type, rng, plan.finding, rows=rows, cols=cols)
                path = write_view(folder / f"view{view + 1}.dcm", phantom, info, series_uid, view, rng,
                                  photometric=photometric, bits_stored=bits, modality=modality)
                _write_finding(findings, path.relative_to(out).as_posix(), info.study_uid, plan, phantom)
            labels.writerow([info.study_uid, int(plan.abnormal), plan.study_type])
            if progress:
                progress(1)
    return plans


def write_mura_dataset(out: Path, n_studies: int, abnormal_fraction: float = 0.5, seed: int = 0,
                       valid_fraction: float = 0.2, progress: Callable[[int], None] | None = None
                       ) -> list[StudyPlan]:
    """The MURA-v1.1 layout (``out/MURA-v1.1/...``) with train/valid splits and their four CSVs."""
    root = out / "MURA-v1.1"
    plans = plan_studies(n_studies, abnormal_fraction, seed)
    n_valid = max(1, round(n_studies * valid_fraction)) if n_studies > 1 else 0
    rows_by_split: dict[str, tuple[list[str], list[str]]] = {"train": ([], []), "valid": ([], [])}
    root.mkdir(parents=True, exist_ok=True)
    with (out / "findings.csv").open("w", newline="") as findings_file:
        findings = csv.DictWriter(findings_file, FINDINGS_FIELDS)
        findings.writeheader()
        for plan in plans:
            split = "valid" if plan.index >= n_studies - n_valid else "train"
            rng = np.random.default_rng(plan.seed)
            suffix = "positive" if plan.abnormal else "negative"
            study_dir = f"MURA-v1.1/{split}/XR_{plan.study_type}/patient{plan.index + 1:05d}/study1_{suffix}/"
            rows, cols = _size(rng, plan.study_type)
            for view in range(plan.views):
                phantom = make_phantom(plan.study_type, rng, plan.finding, rows=rows, cols=cols)
                relative = f"{study_dir}image{view + 1}.png"
                (out / relative).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.round(phantom.image * 255).astype(np.uint8)).save(out / relative)
                rows_by_split[split][0].append(relative)
                _write_finding(findings, relative, study_dir, plan, phantom)
            rows_by_split[split][1].append(f"{study_dir},{int(plan.abnormal)}")
            if progress:
                progress(1)
    for split, (images, studies) in rows_by_split.items():
        (root / f"{split}_image_paths.csv").write_text("".join(f"{p}\n" for p in images))
        (root / f"{split}_labeled_studies.csv").write_text("".join(f"{s}\n" for s in studies))
    return plans


def _write_finding(writer: csv.DictWriter, image: str, study: str, plan: StudyPlan, phantom) -> None:  # type: ignore[no-untyped-def]
    box = phantom.bbox or ("", "", "", "")
    writer.writerow({"image": image, "study": study, "study_type": plan.study_type, "label": int(plan.abnormal),
                     "finding": plan.finding or "", "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3],
                     "rows": phantom.image.shape[0], "cols": phantom.image.shape[1]})

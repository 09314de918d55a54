"""Test helpers: synthetic DICOM studies, real radiographs from pydicom-data, dcmtk re-encoding."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from model.phantom_dicom import PhantomStudyInfo, write_view
from model.phantoms import make_phantom


def sample_file(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data lacks {name}"
    return Path(path)


def write_study(
    folder: Path,
    study_type: str = "WRIST",
    views: int = 3,
    finding: str | None = None,
    seed: int = 0,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    study_uid: str | None = None,
    patient_id: str | None = None,
    accession: str | None = None,
    rows: int = 160,
    cols: int = 128,
) -> list[Path]:
    """A multi-view phantom study as DICOM files in ``folder`` (one file per view)."""
    rng = np.random.default_rng(seed)
    info = PhantomStudyInfo(
        study_uid=study_uid or generate_uid(),
        patient_id=patient_id or f"PH{seed:06d}",
        accession_number=accession or f"ACC{seed:06d}",
        study_type=study_type,
    )
    series_uid = generate_uid()
    paths = []
    for index in range(views):
        phantom = make_phantom(study_type, rng, finding, rows=rows, cols=cols)
        paths.append(write_view(folder / f"{info.accession_number}_{index}.dcm", phantom, info, series_uid, index,
                                rng, photometric=photometric, bits_stored=bits_stored))
    return paths


def dcmtk(tool: str, source: Path, dest: Path) -> Path:
    """Re-encode with dcmtk (installed by .ci/run); fails loudly if the tool is missing."""
    exe = shutil.which(tool)
    if exe is None:
        message = f"{tool} not found: install dcmtk (apt-get install dcmtk), as .ci/run does"
        if os.environ.get("MURA_TRIAGE_REQUIRE_DCMTK"):
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run([exe, str(source), str(dest)], check=True, capture_output=True)
    return dest


def edit(source: Path, dest: Path, **changes: object) -> Path:
    """Copy a DICOM file with some attributes changed (None deletes)."""
    ds = pydicom.dcmread(source)
    for keyword, value in changes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(dest)
    return dest

"""Write phantoms as CR/DX DICOM studies with realistic tags, clearly marked synthetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    generate_uid,
)

from model.phantoms import Phantom

VIEW_POSITIONS = ("PA", "LAT", "OBL", "AP")
DESCRIPTIONS = {
    "ELBOW": "XR ELBOW", "FINGER": "XR FINGER", "FOREARM": "XR FOREARM", "HAND": "XR HAND",
    "HUMERUS": "XR HUMERUS", "SHOULDER": "XR SHOULDER", "WRIST": "XR WRIST",
}


@dataclass(frozen=True)
class PhantomStudyInfo:
    study_uid: str
    patient_id: str
    accession_number: str
    study_type: str


def write_view(
    path: Path,
    phantom: Phantom,
    info: PhantomStudyInfo,
    series_uid: str,
    view_index: int,
    rng: np.random.Generator,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    modality: str = "CR",
    study_datetime: datetime | None = None,
    sop_uid: str | None = None,
) -> Path:
    """One view as a DICOM file: stored values span ``bits_stored`` bits with a window that shows
    the phantom as drawn; MONOCHROME1 files store the inverted values, as CR readers do."""
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError("photometric must be MONOCHROME1 or MONOCHROME2")
    if not 8 <= bits_stored <= 16:
        raise ValueError("bits_stored must be between 8 and 16")
    when = study_datetime or datetime(2026, 1, 1, 8, 0) + timedelta(minutes=int(rng.integers(0, 600)))
    top = 2**bits_stored - 1
    # The drawn image spans the middle of the range; the window maps it back to [0, 1].
    low, high = 0.1 * top, 0.9 * top
    values = low + phantom.image * (high - low)
    if photometric == "MONOCHROME1":
        values = top - values
    pixels = np.clip(np.round(values), 0, top).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ComputedRadiographyImageStorage if modality == "CR" else (
        DigitalXRayImageStorageForPresentation)
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = info.study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.PatientName = f"PHANTOM^{info.study_type.title()}{info.patient_id[-4:]}"
    ds.PatientID = info.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.AccessionNumber = info.accession_number
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.StudyDescription = f"{DESCRIPTIONS[info.study_type]} {2 + view_index % 2}V - SYNTHETIC PHANTOM"
    ds.SeriesDescription = f"{info.study_type} {VIEW_POSITIONS[view_index % len(VIEW_POSITIONS)]}"
    ds.BodyPartExamined = info.study_type
    ds.ViewPosition = VIEW_POSITIONS[view_index % len(VIEW_POSITIONS)]
    ds.InstitutionName = "MURA Triage synthetic data"
    ds.Manufacturer = "MURA Triage phantom generator"
    ds.SeriesNumber = 1
    ds.InstanceNumber = view_index + 1
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.WindowCenter = round((low + high) / 2, 2)
    ds.WindowWidth = round(high - low + 1, 2)
    ds.PixelData = pixels.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path

"""Read a DICOM file's bytes whole and pull out what the worklist keeps.

"Parses whole" is stricter than pydicom's lenient reader: a file cut short while it is still being
copied must not be taken for a complete one, so lost delimiters, missing pixel data and short
native pixel data all count as incomplete.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from model.dicom_image import frame_count
from model.study_types import map_study_type

_PIXEL_DATA_TAG_LE = b"\xe0\x7f\x10\x00"


class RejectedFile(ValueError):
    """A file the app cannot use. ``code`` names the kind (quarantine reason), the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class IncompleteFile(RejectedFile):
    """The file ends too early: still being written, or truncated if it stays this way."""

    def __init__(self, message: str) -> None:
        super().__init__("truncated", message)


def parse_whole(data: bytes) -> Dataset:
    """Parse every element of a DICOM Part 10 file held in memory.

    Raises :class:`IncompleteFile` when the file ends early and :class:`RejectedFile` (``not_dicom``)
    when it is not DICOM at all.
    """
    if len(data) < 132:
        if data and not data.startswith(b"\x00" * min(len(data), 128)) and b"DICM" not in data:
            raise RejectedFile("not_dicom", "not a DICOM file (too short, no DICM preamble)")
        raise IncompleteFile(f"file is only {len(data)} bytes")
    if data[128:132] != b"DICM":
        raise RejectedFile("not_dicom", "not a DICOM Part 10 file (no 'DICM' marker at byte 128)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError as exc:
            raise RejectedFile("not_dicom", f"not a valid DICOM file: {exc}") from exc
        except (EOFError, OSError) as exc:
            raise IncompleteFile(f"file ends inside a data element: {exc}") from exc
        except Exception as exc:  # pydicom raises many kinds on a corrupt header
            raise RejectedFile("not_dicom", f"DICOM header cannot be parsed: {type(exc).__name__}: {exc}") from exc
    for warning in caught:
        text = str(warning.message)
        if "End of file" in text or "delimiter" in text:
            raise IncompleteFile("file ends before its last data element is complete")
    if "PixelData" not in ds and _has_top_level_pixel_tag(data):
        raise IncompleteFile("pixel data element is cut off")
    if "PixelData" in ds and not ds.file_meta.TransferSyntaxUID.is_compressed:
        expected = _native_pixel_bytes(ds)
        if expected and len(ds.PixelData) < expected:
            raise IncompleteFile(f"pixel data has {len(ds.PixelData)} of {expected} bytes")
    return ds


def _has_top_level_pixel_tag(data: bytes) -> bool:
    # The tag bytes followed by an explicit VR "OB"/"OW" (or an undefined length) is the element itself.
    index = data.rfind(_PIXEL_DATA_TAG_LE)
    return index >= 0 and data[index + 4 : index + 6] in (b"OB", b"OW", b"\xff\xff")


def _native_pixel_bytes(ds: Dataset) -> int:
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        bits = int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return 0
    total_bits = rows * cols * samples * frame_count(ds) * bits
    return (total_bits + 7) // 8


def _text(ds: Dataset, keyword: str, limit: int = 200) -> str | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    return str(value).strip()[:limit] or None


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class InstanceHeader:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str | None
    patient_id: str | None
    patient_name: str | None
    accession_number: str | None
    study_date: str | None
    study_time: str | None
    study_description: str | None
    series_description: str | None
    protocol_name: str | None
    modality: str | None
    body_part: str | None
    institution: str | None
    view_position: str | None
    laterality: str | None
    series_number: int | None
    instance_number: int | None
    transfer_syntax_uid: str | None
    rows: int
    columns: int
    frames: int

    @property
    def study_type(self) -> str:
        return map_study_type(
            self.body_part, (self.study_description, self.series_description, self.protocol_name)
        )


def read_header(ds: Dataset) -> InstanceHeader:
    """Extract the worklist fields; a file without its three identifying UIDs is rejected."""
    uids = {}
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = str(ds.get(keyword, "") or "").strip().rstrip("\x00")
        if not value:
            raise RejectedFile("missing_uid", f"the file has no {keyword}")
        if len(value) > 64:
            raise RejectedFile("missing_uid", f"{keyword} is longer than 64 characters")
        uids[keyword] = value
    meta = getattr(ds, "file_meta", None)
    return InstanceHeader(
        study_uid=uids["StudyInstanceUID"],
        series_uid=uids["SeriesInstanceUID"],
        sop_uid=uids["SOPInstanceUID"],
        sop_class_uid=_text(ds, "SOPClassUID", 64),
        patient_id=_text(ds, "PatientID", 64),
        patient_name=_text(ds, "PatientName"),
        accession_number=_text(ds, "AccessionNumber", 64),
        study_date=_text(ds, "StudyDate", 8),
        study_time=_text(ds, "StudyTime", 32),
        study_description=_text(ds, "StudyDescription"),
        series_description=_text(ds, "SeriesDescription"),
        protocol_name=_text(ds, "ProtocolName"),
        modality=_text(ds, "Modality", 16),
        body_part=_text(ds, "BodyPartExamined", 64),
        institution=_text(ds, "InstitutionName"),
        view_position=_text(ds, "ViewPosition", 16),
        laterality=_text(ds, "ImageLaterality", 4) or _text(ds, "Laterality", 4),
        series_number=_int(ds, "SeriesNumber"),
        instance_number=_int(ds, "InstanceNumber"),
        transfer_syntax_uid=str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None,
        rows=_int(ds, "Rows") or 0,
        columns=_int(ds, "Columns") or 0,
        frames=frame_count(ds),
    )

"""Everything the viewer shows of one study, loaded off the GUI thread (Qt-free).

Each view comes with its display image (the same decode the model saw), the modality values for
the pixel readout, its probability and class activation map, and the header tags a radiologist
checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from model.dicom_image import DecodeError, decode_frames
from triage_app.db import Instance, Study, View

HEADER_TAGS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyDate", "StudyTime",
    "StudyDescription", "SeriesDescription", "Modality", "BodyPartExamined", "ViewPosition", "ImageLaterality",
    "Laterality", "InstitutionName", "Manufacturer", "ManufacturerModelName", "KVP", "Exposure",
    "PixelSpacing", "ImagerPixelSpacing", "Rows", "Columns", "BitsStored", "PhotometricInterpretation",
    "WindowCenter", "WindowWidth", "SOPInstanceUID", "StudyInstanceUID",
)


@dataclass
class StudyView:
    view_id: int
    sop_instance_uid: str
    frame: int
    view_position: str | None
    probability: float | None
    score_error: str | None
    cam: np.ndarray | None
    store_path: str = ""  # relative to the home's store/
    image: np.ndarray | None = None  # float32 rows x cols in [0, 1], bone bright
    values: np.ndarray | None = None  # modality values (rescaled), for the pixel readout
    header: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class StudyDetails:
    study_uid: str
    study_type: str
    probability: float | None
    abnormal: bool | None
    scoring_state: str
    model_version: str | None
    status: str
    read_label: str | None
    views: list[StudyView]


def load_study(sessions: sessionmaker, store: Path, study_uid: str, with_pixels: bool = True) -> StudyDetails | None:
    with sessions() as session:
        study = session.scalars(select(Study).where(Study.study_uid == study_uid)).first()
        if study is None:
            return None
        rows = session.execute(
            select(View, Instance).join(Instance, View.instance_id == Instance.id)
            .where(View.study_id == study.id).order_by(Instance.series_number, Instance.instance_number,
                                                        Instance.id, View.frame_index)
        ).all()
        details = StudyDetails(study.study_uid, study.study_type, study.probability, study.abnormal,
                               study.scoring_state, study.model_version, study.status, study.read_label, [])
        for view, instance in rows:
            cam = None
            if view.cam is not None and view.cam_rows and view.cam_cols:
                cam = np.frombuffer(view.cam, dtype=np.float32).reshape(view.cam_rows, view.cam_cols).copy()
            details.views.append(StudyView(view.id, instance.sop_instance_uid, view.frame_index,
                                           instance.view_position, view.probability, view.score_error, cam,
                                           instance.store_path))
    if with_pixels:
        _load_pixels(details, store)
    return details


def _load_pixels(details: StudyDetails, store: Path) -> None:
    datasets: dict[str, pydicom.Dataset] = {}
    frames: dict[str, list[np.ndarray]] = {}
    for view in details.views:
        path = view.store_path
        try:
            if path not in datasets:
                datasets[path] = pydicom.dcmread(store / path)
                frames[path] = decode_frames(datasets[path])
            ds = datasets[path]
            view.image = frames[path][view.frame]
            raw = ds.pixel_array
            raw = raw[view.frame] if int(ds.get("NumberOfFrames", 1) or 1) > 1 else raw
            view.values = np.asarray(apply_modality_lut(raw, ds)) if raw.ndim == 2 else None
            view.header = {k: str(ds.get(k)) for k in HEADER_TAGS if ds.get(k) not in (None, "")}
            view.header["TransferSyntax"] = ds.file_meta.TransferSyntaxUID.name
        except (OSError, DecodeError, ValueError) as exc:
            view.error = f"cannot display this view: {exc}"

"""The reading workflow, Qt-free: mark read (normal/abnormal), undo, re-score.

Reads are stored with time and user; they feed ``mura-triage export-dataset`` so a site can retrain
on what its radiologists confirmed.
"""

from __future__ import annotations

import getpass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from triage_app.db import ScoringState, Study, StudyStatus, View, utcnow

READ_LABELS = ("normal", "abnormal")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some services): still record something honest
        return "unknown"


def _study(session: Session, study_uid: str) -> Study:
    study = session.scalars(select(Study).where(Study.study_uid == study_uid)).first()
    if study is None:
        raise ValueError(f"no study {study_uid!r} on the worklist")
    return study


def mark_read(session: Session, study_uid: str, label: str, user: str | None = None,
              comment: str | None = None) -> Study:
    if label not in READ_LABELS:
        raise ValueError(f"label must be one of {READ_LABELS}, got {label!r}")
    study = _study(session, study_uid)
    study.status = StudyStatus.READ
    study.read_label = label
    study.read_at = utcnow()
    study.read_by = user or current_user()
    study.read_comment = (comment or "").strip() or None
    return study


def undo_read(session: Session, study_uid: str) -> Study:
    """Back to the unread list; the study keeps its scores."""
    study = _study(session, study_uid)
    if study.status == StudyStatus.READ:
        study.status = StudyStatus.COMPLETE
    study.read_label = study.read_at = study.read_by = study.read_comment = None
    return study


def clear_scores(session: Session, study_ids: list[int]) -> int:
    """Forget the scores of these studies' views so the scorer scores them again (e.g. new model)."""
    if not study_ids:
        return 0
    result = session.execute(
        update(View).where(View.study_id.in_(study_ids)).values(
            probability=None, cam=None, cam_rows=None, cam_cols=None, score_error=None, model_version=None,
            scored_at=None)
    )
    session.execute(update(Study).where(Study.id.in_(study_ids)).values(
        probability=None, abnormal=None, scoring_state=ScoringState.UNSCORED, score_error=None, model_version=None))
    return int(result.rowcount or 0)


def rescore_study(session: Session, study_uid: str) -> int:
    return clear_scores(session, [_study(session, study_uid).id])


def unread_study_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Study.id).where(Study.status != StudyStatus.READ).order_by(Study.id)))

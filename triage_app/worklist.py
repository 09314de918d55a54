"""Worklist rules: study completion, the study score, and the display order.

Order (README "Worklist order"): unread before read; among them studies the model could not score
("read manually") first, then by study probability (highest first; unscored last), then by arrival.
A study the model could not assess is never hidden or sunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.orm import Session

from model.study_types import OTHER
from triage_app.db import TRIAGE_ORDER_EXPRESSIONS, ScoringState, Study, StudyStatus, View, utcnow


@dataclass(frozen=True)
class WorklistFilter:
    """What the user narrowed the list to; empty means everything."""

    study_types: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    search: str = ""  # patient name / ID or accession number, case-insensitive substring

    def apply(self, query: Select) -> Select:
        if self.study_types:
            query = query.where(Study.study_type.in_(self.study_types))
        if self.statuses:
            query = query.where(Study.status.in_(self.statuses))
        text = self.search.strip()
        if text:
            pattern = f"%{text.replace('%', '').replace('_', '')}%"
            query = query.where(or_(Study.patient_name.ilike(pattern), Study.patient_id.ilike(pattern),
                                    Study.accession_number.ilike(pattern)))
        return query


#: Columns a user may sort by instead of the triage order.
SORTABLE = {
    "probability": Study.probability,
    "patient": Study.patient_name,
    "patient_id": Study.patient_id,
    "accession": Study.accession_number,
    "study_type": Study.study_type,
    "received": Study.first_received_at,
    "status": Study.status,
}


def triage_order() -> tuple:
    """The triage order as literal SQL, so that SQLite walks the matching expression index
    (``ix_studies_triage``, see :mod:`triage_app.db`) instead of sorting every study for each page."""
    return (text(TRIAGE_ORDER_EXPRESSIONS),)


def worklist_select(filters: WorklistFilter | None = None, sort: str | None = None,
                    descending: bool = False) -> Select[tuple[Study]]:
    """The triage order by default; ``sort`` names a :data:`SORTABLE` column instead."""
    query = (filters or WorklistFilter()).apply(select(Study))
    if sort is None:
        return query.order_by(*triage_order())
    column = SORTABLE[sort]
    return query.order_by(column.desc() if descending else column.asc(), Study.id)


def index_is_used(session: Session) -> bool:
    """True when SQLite plans the triage order from ``ix_studies_triage`` (no temp B-tree sort)."""
    compiled = worklist_select().limit(10).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    details = " ".join(str(row[-1]) for row in plan)
    return "ix_studies_triage" in details and "TEMP B-TREE" not in details


def worklist(session: Session, limit: int | None = None, offset: int = 0, filters: WorklistFilter | None = None,
             sort: str | None = None, descending: bool = False) -> list[Study]:
    query = worklist_select(filters, sort, descending).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def worklist_count(session: Session, filters: WorklistFilter | None = None) -> int:
    query = (filters or WorklistFilter()).apply(select(func.count(Study.id)))
    return int(session.scalar(query) or 0)


def mark_stable_studies_complete(session: Session, stable_seconds: float, now: datetime | None = None) -> int:
    """Studies with no new instance for ``stable_seconds`` become ``complete``; returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stable_seconds)
    result = session.execute(
        update(Study)
        .where(Study.status == StudyStatus.RECEIVING, Study.last_received_at <= cutoff)
        .values(status=StudyStatus.COMPLETE, completed_at=now)
    )
    return int(result.rowcount or 0)


def refresh_study_score(session: Session, study: Study, threshold: float) -> None:
    """Recompute the study's state and probability (mean of its scored views) from its views."""
    total, scored, failed, mean = session.execute(
        select(
            func.count(View.id),
            func.count(View.probability),
            func.count(View.score_error),
            func.avg(View.probability),
        ).where(View.study_id == study.id)
    ).one()
    if failed:
        study.scoring_state = ScoringState.FAILED
        errors = session.scalars(
            select(View.score_error).where(View.study_id == study.id, View.score_error.is_not(None)).limit(1)
        ).first()
        study.score_error = errors
    elif scored == 0:
        study.scoring_state = ScoringState.UNSCORED
    elif scored < total:
        study.scoring_state = ScoringState.PENDING
    else:
        study.scoring_state = ScoringState.SCORED
    if not failed:
        study.score_error = None
    study.probability = float(mean) if scored else None
    study.abnormal = None if study.probability is None else bool(study.probability > threshold)
    versions = session.scalars(
        select(View.model_version).where(View.study_id == study.id, View.model_version.is_not(None)).distinct()
    ).all()
    study.model_version = ",".join(sorted(versions)) or None


def is_final(study: Study) -> bool:
    """The probability no longer changes: complete (or read) and every view scored."""
    return study.status != StudyStatus.RECEIVING and study.scoring_state == ScoringState.SCORED


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def study_to_dict(study: Study, views: int) -> dict:
    """The JSON shape of `mura-triage worklist --json` (a contract: keep keys stable)."""
    return {
        "study_uid": study.study_uid,
        "status": study.status,
        "scoring": study.scoring_state,
        "read_manually": study.scoring_state == ScoringState.FAILED,
        "study_type": study.study_type,
        "in_training_scope": study.study_type != OTHER,
        "probability": None if study.probability is None else round(study.probability, 6),
        "abnormal": study.abnormal,
        "final": is_final(study),
        "views": views,
        "patient_id": study.patient_id,
        "patient_name": study.patient_name,
        "accession_number": study.accession_number,
        "study_date": study.study_date,
        "study_description": study.study_description,
        "modality": study.modality,
        "body_part": study.body_part,
        "institution": study.institution,
        "received_at": _iso(study.first_received_at),
        "last_received_at": _iso(study.last_received_at),
        "model_version": study.model_version,
        "score_error": study.score_error,
        "read_label": study.read_label,
        "read_at": _iso(study.read_at),
        "read_by": study.read_by,
    }


def view_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(select(View.study_id, func.count(View.id)).group_by(View.study_id)).all())

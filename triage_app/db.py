"""SQLAlchemy models of the worklist database (SQLite, WAL).

Tables: ``studies`` (one row per Study Instance UID), ``instances`` (one per stored SOP instance),
``views`` (one per image frame, the unit the model scores), ``quarantined`` (rejected files with
their reason) and ``duplicates`` (repeated instances that were dropped). Study status and the
scoring state are separate columns because they change for different reasons: arrival/reading
versus the model.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class StudyStatus:
    """Lifecycle of a study on the worklist (see README, "Study statuses")."""

    RECEIVING = "receiving"  # instances still arriving (last one less than stable_seconds ago)
    COMPLETE = "complete"  # no new instance for stable_seconds; waiting to be read
    READ = "read"  # a radiologist has read it (undo returns it to complete)


class ScoringState:
    """What the model has said about a study."""

    UNSCORED = "unscored"  # no model configured (or not yet reached by the scorer)
    PENDING = "pending"  # some views wait for the scorer
    SCORED = "scored"  # every view scored; probability is the mean of its views
    FAILED = "failed"  # at least one view could not be scored: "read manually"


#: Unread first, then "read manually" (failed), then scored before unscored, probability high to low,
#: then arrival. Shared, as literal SQL, by the index below and the worklist query.
TRIAGE_ORDER_EXPRESSIONS = (
    "(studies.status = 'read'), (studies.scoring_state != 'failed'), (studies.probability IS NULL), "
    "studies.probability DESC, studies.first_received_at, studies.id"
)


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    patient_name: Mapped[str | None] = mapped_column(String(200))
    accession_number: Mapped[str | None] = mapped_column(String(64))
    study_date: Mapped[str | None] = mapped_column(String(8))
    study_time: Mapped[str | None] = mapped_column(String(32))
    study_description: Mapped[str | None] = mapped_column(String(200))
    modality: Mapped[str | None] = mapped_column(String(16))
    body_part: Mapped[str | None] = mapped_column(String(64))
    institution: Mapped[str | None] = mapped_column(String(200))
    study_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=StudyStatus.RECEIVING)
    scoring_state: Mapped[str] = mapped_column(String(16), default=ScoringState.UNSCORED)
    probability: Mapped[float | None] = mapped_column(Float)
    abnormal: Mapped[bool | None] = mapped_column(Boolean)
    model_version: Mapped[str | None] = mapped_column(String(64))
    score_error: Mapped[str | None] = mapped_column(Text)
    first_received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_label: Mapped[str | None] = mapped_column(String(16))  # "normal" | "abnormal"
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_by: Mapped[str | None] = mapped_column(String(100))
    read_comment: Mapped[str | None] = mapped_column(Text)

    instances: Mapped[list[Instance]] = relationship(back_populates="study", order_by="Instance.id")

    __table_args__ = (
        Index("ix_studies_status", "status"),
        Index("ix_studies_study_type", "study_type"),
    )


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    series_number: Mapped[int | None] = mapped_column(Integer)
    instance_number: Mapped[int | None] = mapped_column(Integer)
    series_description: Mapped[str | None] = mapped_column(String(200))
    protocol_name: Mapped[str | None] = mapped_column(String(200))
    body_part: Mapped[str | None] = mapped_column(String(64))
    view_position: Mapped[str | None] = mapped_column(String(16))
    laterality: Mapped[str | None] = mapped_column(String(4))
    transfer_syntax_uid: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer, default=1)
    store_path: Mapped[str] = mapped_column(Text)  # relative to the home's store/
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    study: Mapped[Study] = relationship(back_populates="instances")
    views: Mapped[list[View]] = relationship(back_populates="instance", order_by="View.frame_index")


class View(Base):
    """One image the model scores: a single-frame instance, or one frame of a multi-frame one."""

    __tablename__ = "views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    frame_index: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[float | None] = mapped_column(Float)
    cam: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, cam_rows x cam_cols
    cam_rows: Mapped[int | None] = mapped_column(Integer)
    cam_cols: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(64))
    score_error: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime)

    instance: Mapped[Instance] = relationship(back_populates="views")

    __table_args__ = (
        UniqueConstraint("instance_id", "frame_index"),
        Index("ix_views_pending", "probability", "score_error"),
    )


class Quarantined(Base):
    __tablename__ = "quarantined"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    original_name: Mapped[str] = mapped_column(Text)  # path relative to the inbox
    quarantine_path: Mapped[str] = mapped_column(Text)  # relative to the home's quarantine/
    reason_code: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    study_instance_uid: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    quarantined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Duplicate(Base):
    __tablename__ = "duplicates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed study survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(db_path: Path) -> Engine:
    """Open (creating if needed) the database with private permissions and the schema in place."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if not db_path.exists():
        fd = os.open(db_path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    engine = create_engine(
        f"sqlite:///{db_path}", connect_args={"check_same_thread": False, "timeout": 30}, future=True
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        # An expression index that matches the worklist's ORDER BY, so a page is read in index order.
        connection.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS ix_studies_triage ON studies ("
            + TRIAGE_ORDER_EXPRESSIONS.replace("studies.", "") + ")")
    for suffix in ("-wal", "-shm"):
        sidecar = db_path.with_name(db_path.name + suffix)
        if sidecar.exists():
            sidecar.chmod(0o600)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)

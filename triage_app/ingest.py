"""Taking files over from the hot folder into the managed store.

Each file is read once, parsed whole, checked (UIDs, image, decodable), then moved into
``store/<study>/<series>/<sop>.dcm`` and recorded in the same database transaction. A crash at any
point leaves every file either still in the inbox, or in the store — and a stored file without its
row is recorded again by :meth:`Ingestor.recover_store` on the next start. Nothing is overwritten.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from model.dicom_image import DecodeError, decode_frames
from model.study_types import OTHER
from triage_app.db import Duplicate, Instance, Study, StudyStatus, View, utcnow
from triage_app.dicom_header import IncompleteFile, InstanceHeader, RejectedFile, parse_whole, read_header
from triage_app.files import move_file_no_overwrite, private_file, safe_component
from triage_app.quarantine import Quarantine
from triage_app.worklist import refresh_study_score

log = logging.getLogger(__name__)

#: Names that are never DICOM and never worth a quarantine entry.
IGNORED_NAMES = frozenset({"dicomdir", ".ds_store", "thumbs.db", "desktop.ini"})
#: Suffixes of files that copy tools are still writing; they are renamed when done.
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".download", "~")


def is_ignored(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.name.lower() in IGNORED_NAMES or (
        relative.name.lower().endswith(IN_PROGRESS_SUFFIXES)
    )


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    WAITING = "waiting"  # incomplete and still young: try again later
    GONE = "gone"  # vanished between the scan and the read


@dataclass
class IngestResult:
    outcome: Outcome
    study_uid: str | None = None
    reason: str | None = None


class InboxScanner:
    """Finds inbox files whose size and mtime have stayed the same for ``settle_seconds``."""

    def __init__(self, inbox: Path, settle_seconds: float) -> None:
        self.inbox = inbox
        self.settle_seconds = settle_seconds
        self._seen: dict[Path, tuple[tuple[int, int], float]] = {}

    def candidates(self) -> list[Path]:
        """Every file in the inbox that is not ignored, oldest first."""
        found: list[tuple[float, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.inbox):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                path = Path(dirpath, filename)
                if is_ignored(path.relative_to(self.inbox)):
                    continue
                try:
                    found.append((path.stat().st_mtime, path))
                except OSError:
                    continue
        return [p for _, p in sorted(found)]

    def ready(self) -> list[Path]:
        now = time.monotonic()
        ready: list[Path] = []
        current: dict[Path, tuple[tuple[int, int], float]] = {}
        for path in self.candidates():
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self._seen.get(path)
            since = previous[1] if previous and previous[0] == signature else now
            current[path] = (signature, since)
            if now - since >= self.settle_seconds:
                ready.append(path)
        self._seen = current
        return ready

    def remove_empty_dirs(self) -> None:
        """Tidy sub-folders a sender created and that are now empty (never the inbox itself)."""
        for dirpath, _dirnames, _filenames in sorted(os.walk(self.inbox), key=lambda e: -len(e[0])):
            path = Path(dirpath)
            if path == self.inbox or path.name.startswith("."):
                continue
            try:
                if time.time() - path.stat().st_mtime > max(self.settle_seconds, 1.0):
                    path.rmdir()
            except OSError:
                pass


class Ingestor:
    def __init__(
        self,
        inbox: Path,
        store: Path,
        sessions: sessionmaker,
        quarantine: Quarantine,
        incomplete_grace_seconds: float = 60.0,
        threshold: float = 0.5,
    ) -> None:
        self.inbox = inbox
        self.store = store
        self.sessions = sessions
        self.quarantine = quarantine
        self.incomplete_grace_seconds = incomplete_grace_seconds
        self.threshold = threshold

    # -- one file ---------------------------------------------------------------------------------
    def _inbox_name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.inbox))
        except ValueError:
            return path.name

    def ingest_file(self, path: Path) -> IngestResult:
        relative = self._inbox_name(path)
        try:
            stat = path.stat()
            data = path.read_bytes()
        except FileNotFoundError:
            return IngestResult(Outcome.GONE)
        except OSError as exc:
            return self._reject(path, relative, RejectedFile("unreadable", f"cannot read the file: {exc}"))
        young = time.time() - stat.st_mtime < self.incomplete_grace_seconds
        if not data:
            if young:
                return IngestResult(Outcome.WAITING, reason="empty file, may still be written")
            return self._reject(path, relative, RejectedFile("empty", "the file is empty (0 bytes)"))
        try:
            ds = parse_whole(data)
            header = read_header(ds)
        except IncompleteFile as exc:
            if young:
                return IngestResult(Outcome.WAITING, reason=str(exc))
            return self._reject(path, relative, exc)
        except RejectedFile as exc:
            return self._reject(path, relative, exc)
        digest = hashlib.sha256(data).hexdigest()
        with self.sessions() as session:
            existing = session.scalars(select(Instance).where(Instance.sop_instance_uid == header.sop_uid)).first()
            if existing is not None:
                return self._repeated(session, path, relative, header, existing, digest)
        try:
            frames = len(decode_frames(ds))
        except DecodeError as exc:
            if young and exc.code == "undecodable":  # a cut-off compressed stream looks like this too
                return IngestResult(Outcome.WAITING, reason=str(exc))
            return self._reject(path, relative, RejectedFile(exc.code, str(exc)), header)
        return self._store(path, header, digest, len(data), frames)

    def _reject(
        self, path: Path, relative: str, exc: RejectedFile, header: InstanceHeader | None = None
    ) -> IngestResult:
        self.quarantine.put(
            path, relative, exc.code, str(exc),
            sop_uid=header.sop_uid if header else None, study_uid=header.study_uid if header else None,
        )
        return IngestResult(Outcome.QUARANTINED, header.study_uid if header else None, exc.code)

    def _repeated(
        self, session: Session, path: Path, relative: str, header: InstanceHeader, existing: Instance, digest: str
    ) -> IngestResult:
        if existing.sha256 == digest:
            session.add(Duplicate(sop_instance_uid=header.sop_uid, original_name=relative))
            session.commit()
            path.unlink(missing_ok=True)
            log.info("dropped a duplicate instance")
            return IngestResult(Outcome.DUPLICATE, header.study_uid)
        conflict = RejectedFile(
            "conflict",
            "an instance with this SOP Instance UID is already stored with different content; "
            "the stored one was kept",
        )
        return self._reject(path, relative, conflict, header)

    def _store_path(self, header: InstanceHeader) -> Path:
        return Path(safe_component(header.study_uid), safe_component(header.series_uid),
                    safe_component(header.sop_uid) + ".dcm")

    def _store(self, path: Path, header: InstanceHeader, digest: str, size: int, frames: int) -> IngestResult:
        relative_store = self._store_path(header)
        dest = self.store / relative_store
        if dest.exists():  # only after a crash, and recover_store() runs before ingest: never overwrite
            return self._reject(path, self._inbox_name(path), RejectedFile(
                "conflict", "a file for this SOP Instance UID already lies in the store"), header)
        moved = False
        delete_source = False
        try:
            with self.sessions.begin() as session:
                self._record(session, header, relative_store, digest, size, frames)
                session.flush()
                delete_source = move_file_no_overwrite(path, dest)
                moved = True
                private_file(dest)
        except BaseException:
            if moved and not delete_source:  # the commit failed after the move: put the file back
                try:
                    os.rename(dest, path)
                except OSError:
                    log.exception("could not return a file to the inbox; it stays in the store and will be "
                                  "recorded on the next start")
            elif moved:
                dest.unlink(missing_ok=True)
            raise
        if delete_source:
            path.unlink(missing_ok=True)
        return IngestResult(Outcome.STORED, header.study_uid)

    def _record(
        self, session: Session, header: InstanceHeader, relative_store: Path, digest: str, size: int, frames: int
    ) -> Instance:
        now = utcnow()
        study = session.scalars(select(Study).where(Study.study_uid == header.study_uid)).first()
        if study is None:
            study = Study(
                study_uid=header.study_uid,
                study_type=header.study_type,
                status=StudyStatus.RECEIVING,
                first_received_at=now,
                last_received_at=now,
            )
            session.add(study)
        for field in ("patient_id", "patient_name", "accession_number", "study_date", "study_time",
                      "study_description", "modality", "body_part", "institution"):
            if getattr(study, field) is None and getattr(header, field) is not None:
                setattr(study, field, getattr(header, field))
        if study.study_type == OTHER and header.study_type != OTHER:
            study.study_type = header.study_type
        study.last_received_at = now
        if study.status != StudyStatus.RECEIVING:
            # New images reopen a study, also a read one: they have not been seen yet.
            study.status = StudyStatus.RECEIVING
            study.completed_at = None
        instance = Instance(
            study=study,
            sop_instance_uid=header.sop_uid,
            sop_class_uid=header.sop_class_uid,
            series_instance_uid=header.series_uid,
            series_number=header.series_number,
            instance_number=header.instance_number,
            series_description=header.series_description,
            protocol_name=header.protocol_name,
            body_part=header.body_part,
            view_position=header.view_position,
            laterality=header.laterality,
            transfer_syntax_uid=header.transfer_syntax_uid,
            rows=header.rows,
            columns=header.columns,
            frames=frames,
            store_path=relative_store.as_posix(),
            sha256=digest,
            size_bytes=size,
            received_at=now,
        )
        session.add(instance)
        session.flush()
        for frame in range(frames):
            session.add(View(instance_id=instance.id, study_id=study.id, frame_index=frame))
        session.flush()
        refresh_study_score(session, study, self.threshold)
        return instance

    # -- after a crash ----------------------------------------------------------------------------
    def recover_store(self) -> int:
        """Record store files that a crash left without their database row (moved, not committed)."""
        with self.sessions() as session:
            known = set(session.scalars(select(Instance.store_path)))
        recovered = 0
        for path in sorted(self.store.rglob("*")):
            if not path.is_file():
                continue
            if path.name.endswith(".partial"):  # a cross-device copy cut short; its source is still in the inbox
                path.unlink(missing_ok=True)
                continue
            relative = path.relative_to(self.store).as_posix()
            if relative in known:
                continue
            data = path.read_bytes()
            try:
                ds = parse_whole(data)
                header = read_header(ds)
                frames = len(decode_frames(ds))
            except (RejectedFile, DecodeError) as exc:
                code = getattr(exc, "code", "unreadable")
                self.quarantine.put(path, relative, code, f"found in the store after a restart: {exc}")
                continue
            with self.sessions.begin() as session:
                if session.scalars(select(Instance.id).where(Instance.sop_instance_uid == header.sop_uid)).first():
                    continue
                self._record(session, header, Path(relative), hashlib.sha256(data).hexdigest(), len(data), frames)
            recovered += 1
        if recovered:
            log.warning("recorded %d stored file(s) left unrecorded by an earlier crash", recovered)
        return recovered

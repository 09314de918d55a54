"""Quarantine: files the app cannot use, kept with a reason file beside them and a database row."""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage_app.db import Quarantined, utcnow
from triage_app.files import move_file_no_overwrite, private_file, safe_component

log = logging.getLogger(__name__)

REASON_SUFFIX = ".reason.json"

#: Human descriptions of the reason codes (shown in `mura-triage quarantine` and the GUI).
REASON_CODES = {
    "not_dicom": "not a DICOM file",
    "empty": "empty file",
    "truncated": "file is cut short (copy interrupted?)",
    "no_pixel_data": "DICOM without an image",
    "undecodable": "image cannot be decoded",
    "missing_uid": "identifying UIDs missing",
    "not_2d": "not a 2-D image",
    "conflict": "same SOP Instance UID as a stored file, different content",
    "unreadable": "file cannot be read",
}


class Quarantine:
    def __init__(self, root: Path, sessions: sessionmaker) -> None:
        self.root = root
        self.sessions = sessions

    def put(
        self,
        source: Path,
        original_name: str,
        code: str,
        reason: str,
        sop_uid: str | None = None,
        study_uid: str | None = None,
    ) -> Quarantined:
        """Move ``source`` into quarantine. The reason file is written first, so a crash at any point
        leaves the file either in the inbox or in quarantine with its reason (see :meth:`recover`)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}-{safe_component(Path(original_name).name)[:80]}"
        dest = self.root / name
        size = source.stat().st_size if source.exists() else None
        record = {
            "original_name": original_name,
            "reason_code": code,
            "reason": reason,
            "sop_instance_uid": sop_uid,
            "study_instance_uid": study_uid,
            "size_bytes": size,
            "quarantined_at": utcnow().isoformat(),
        }
        reason_path = dest.with_name(dest.name + REASON_SUFFIX)
        reason_path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        private_file(reason_path)
        delete_source = move_file_no_overwrite(source, dest)
        private_file(dest)
        row = self._record(name, record)
        if delete_source:
            source.unlink(missing_ok=True)
        log.warning("quarantined a file: %s (%s)", code, REASON_CODES.get(code, code))
        return row

    def _record(self, name: str, record: dict) -> Quarantined:
        with self.sessions.begin() as session:
            row = Quarantined(
                original_name=record["original_name"],
                quarantine_path=name,
                reason_code=record["reason_code"],
                reason=record["reason"],
                sop_instance_uid=record.get("sop_instance_uid"),
                study_instance_uid=record.get("study_instance_uid"),
                size_bytes=record.get("size_bytes"),
                quarantined_at=datetime.fromisoformat(record["quarantined_at"]),
            )
            session.add(row)
        return row

    def recover(self) -> int:
        """Record quarantined files whose database row was lost in a crash; drop orphan reason files."""
        recovered = 0
        with self.sessions() as session:
            known = set(session.scalars(select(Quarantined.quarantine_path)))
        for reason_path in sorted(self.root.glob("*" + REASON_SUFFIX)):
            name = reason_path.name[: -len(REASON_SUFFIX)]
            if name in known:
                continue
            if not (self.root / name).exists():  # crashed before the move: file is still in the inbox
                reason_path.unlink(missing_ok=True)
                continue
            try:
                record = json.loads(reason_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                record = {"original_name": name, "reason_code": "unreadable", "reason": "reason file lost",
                          "quarantined_at": utcnow().isoformat()}
            self._record(name, record)
            recovered += 1
        return recovered


def list_quarantined(session: Session) -> list[Quarantined]:
    return list(session.scalars(select(Quarantined).order_by(Quarantined.quarantined_at.desc(), Quarantined.id.desc())))


def quarantined_to_dict(row: Quarantined, root: Path) -> dict:
    return {
        "original_name": row.original_name,
        "reason_code": row.reason_code,
        "reason": row.reason,
        "path": os.fspath(root / row.quarantine_path),
        "sop_instance_uid": row.sop_instance_uid,
        "study_instance_uid": row.study_instance_uid,
        "size_bytes": row.size_bytes,
        "quarantined_at": row.quarantined_at.isoformat() + "Z",
    }

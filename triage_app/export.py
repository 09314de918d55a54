"""Turn what radiologists confirmed on the worklist into a site dataset for retraining."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from sqlalchemy import select

from triage_app.config import Home
from triage_app.db import Study, make_engine, make_session_factory

READ_LABELS = {"normal": 0, "abnormal": 1}


def export_reads(home: Home, out: Path) -> tuple[int, int]:
    """Copy every read study's stored files to ``out/<study>/...`` and write ``labels.csv``.

    Returns (studies, files). The output holds patient data: it is created private (0700).
    """
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    engine = make_engine(home.db_path)
    studies = files = 0
    try:
        with make_session_factory(engine)() as session, (out / "labels.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["study_instance_uid", "label", "study_type"])
            query = select(Study).where(Study.read_label.in_(READ_LABELS)).order_by(Study.read_at)
            for study in session.scalars(query):
                for instance in study.instances:
                    dest = out / instance.store_path
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(home.store_dir / instance.store_path, dest)
                    files += 1
                writer.writerow([study.study_uid, READ_LABELS[study.read_label], study.study_type])
                studies += 1
    finally:
        engine.dispose()
    return studies, files

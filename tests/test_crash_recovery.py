"""Restart after a crash: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
from sqlalchemy import func, select

from tests.helpers import write_study
from triage_app.db import Instance, Quarantined, View, make_engine, make_session_factory
from triage_app.files import safe_component
from triage_app.pipeline import Pipeline


def test_store_file_without_row_is_recorded_on_restart(make_home, tmp_path: Path) -> None:
    """The crash window between the move into the store and the commit."""
    home, inbox = make_home()
    (path,) = write_study(tmp_path / "src", views=1, seed=31)
    ds = pydicom.dcmread(path)
    orphan = home.store_dir / safe_component(ds.StudyInstanceUID) / safe_component(ds.SeriesInstanceUID)
    orphan.mkdir(parents=True)
    shutil.copy(path, orphan / f"{ds.SOPInstanceUID}.dcm")
    (orphan / f".{ds.SOPInstanceUID}.dcm.partial").write_bytes(b"half a copy")  # cross-device copy cut short
    shutil.copy(path, inbox / "resent.dcm")  # the sender retries the same file
    pipeline = Pipeline(home)  # recovery runs on start
    with pipeline.sessions() as session:
        assert session.scalar(select(func.count(Instance.id))) == 1
    assert not list(orphan.glob("*.partial"))
    pipeline.ingest_ready_files()
    with pipeline.sessions() as session:
        assert session.scalar(select(func.count(Instance.id))) == 1  # the resent copy is a duplicate
    assert not (inbox / "resent.dcm").exists()
    pipeline.close()


def test_quarantined_file_without_row_is_recorded_on_restart(make_home) -> None:
    home, _inbox = make_home()
    (home.quarantine_dir / "x-junk.bin").write_bytes(b"junk")
    (home.quarantine_dir / "x-junk.bin.reason.json").write_text(json.dumps({
        "original_name": "junk.bin", "reason_code": "not_dicom", "reason": "not a DICOM file",
        "quarantined_at": "2026-01-01T08:00:00"}))
    (home.quarantine_dir / "y-never-moved.reason.json").write_text("{}")  # crash before the move
    pipeline = Pipeline(home)
    with pipeline.sessions() as session:
        rows = list(session.scalars(select(Quarantined)))
    assert [(r.original_name, r.reason_code) for r in rows] == [("junk.bin", "not_dicom")]
    assert not (home.quarantine_dir / "y-never-moved.reason.json").exists()
    pipeline.close()


def test_kill_during_ingest_then_restart_loses_nothing(make_home, untrained_checkpoint, tmp_path: Path) -> None:
    home, inbox = make_home(untrained_checkpoint, stable_seconds=0.5)
    sops = set()
    for study in range(8):
        for path in write_study(inbox / f"study{study}", "WRIST", views=4, seed=100 + study, rows=96, cols=80):
            sops.add(pydicom.dcmread(path).SOPInstanceUID)
    command = [sys.executable, "-m", "triage_app", "--home", str(home.root), "watch",
               "--checkpoint", str(untrained_checkpoint)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    sessions = make_session_factory(make_engine(home.db_path))
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            with sessions() as session:
                stored = session.scalar(select(func.count(Instance.id)))
            if stored >= 6:
                break
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)  # no clean-up of any kind
        process.wait(30)
    assert stored >= 6, "the watcher never stored anything"
    # restart and finish the job
    finished = subprocess.run([*command, "--once", "--timeout", "300"], capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stderr
    with sessions() as session:
        recorded = list(session.scalars(select(Instance.sop_instance_uid)))
        unscored = session.scalar(select(func.count(View.id)).where(View.probability.is_(None)))
    assert sorted(recorded) == sorted(sops)  # every file exactly once
    assert unscored == 0
    assert not [p for p in inbox.rglob("*") if p.is_file()]
    assert len(list(home.store_dir.rglob("*.dcm"))) == len(sops)

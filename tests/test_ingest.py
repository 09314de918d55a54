"""Hot-folder ingest: grouping, duplicates, conflicts, quarantine, partial files, store safety."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import generate_uid
from sqlalchemy import func, select

from tests.helpers import edit, sample_file, write_study
from triage_app.db import Duplicate, Instance, Quarantined, Study, View
from triage_app.ingest import Outcome
from triage_app.pipeline import Pipeline


def counts(pipeline: Pipeline) -> dict[str, int]:
    with pipeline.sessions() as session:
        return {
            "studies": session.scalar(select(func.count(Study.id))),
            "instances": session.scalar(select(func.count(Instance.id))),
            "views": session.scalar(select(func.count(View.id))),
            "quarantined": session.scalar(select(func.count(Quarantined.id))),
            "duplicates": session.scalar(select(func.count(Duplicate.id))),
        }


def inbox_files(inbox: Path) -> list[Path]:
    return [p for p in inbox.rglob("*") if p.is_file()]


def test_multi_view_multi_study_inbox_is_grouped(make_home) -> None:
    home, inbox = make_home()
    wrist = write_study(inbox / "a", "WRIST", views=3, seed=1)
    hand = write_study(inbox / "b" / "deep", "HAND", views=2, seed=2)
    shutil.copy(sample_file("RG3_UNCR.dcm"), inbox / "rg3.dcm")
    wrist_ds = pydicom.dcmread(wrist[0])
    pipeline = Pipeline(home)
    assert pipeline.ingest_ready_files() == 0
    assert inbox_files(inbox) == []
    with pipeline.sessions() as session:
        studies = {s.study_uid: s for s in session.scalars(select(Study))}
        assert len(studies) == 3
        by_type = {s.study_type: s for s in studies.values()}
        assert set(by_type) == {"WRIST", "HAND", "OTHER"}
        assert len(by_type["WRIST"].instances) == 3 and len(by_type["HAND"].instances) == 2
        assert by_type["WRIST"].study_uid == wrist_ds.StudyInstanceUID
        assert by_type["WRIST"].patient_id == wrist_ds.PatientID
        assert by_type["WRIST"].accession_number == wrist_ds.AccessionNumber
        assert by_type["WRIST"].patient_name.startswith("PHANTOM^")
        assert by_type["WRIST"].status == "receiving"
        assert by_type["WRIST"].scoring_state == "unscored"
        instance = by_type["HAND"].instances[0]
        assert instance.view_position in ("PA", "LAT") and instance.received_at is not None
        assert (home.store_dir / instance.store_path).is_file()
        assert instance.store_path.startswith(f"{by_type['HAND'].study_uid}/")
    assert counts(pipeline)["views"] == 6
    assert len(hand) == 2
    pipeline.close()


def test_each_frame_of_a_multiframe_image_is_a_view(make_home) -> None:
    home, inbox = make_home()
    shutil.copy(sample_file("emri_small_jpeg_ls_lossless.dcm"), inbox / "multi.dcm")
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    assert counts(pipeline)["views"] == 10
    pipeline.close()


def test_duplicate_is_dropped_and_conflict_quarantined(make_home) -> None:
    home, inbox = make_home()
    (original,) = write_study(inbox, views=1, seed=7)
    keep = original.read_bytes()
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    stored = next(home.store_dir.rglob("*.dcm"))
    # identical content again: dropped, recorded as a duplicate
    (inbox / "again.dcm").write_bytes(keep)
    pipeline.ingest_ready_files()
    # same SOP Instance UID, different pixels: quarantined as a conflict, stored file untouched
    ds = pydicom.dcmread(stored)
    ds.PixelData = bytes(len(ds.PixelData))
    ds.save_as(inbox / "conflict.dcm")
    pipeline.ingest_ready_files()
    assert stored.read_bytes() == keep
    c = counts(pipeline)
    assert (c["instances"], c["duplicates"], c["quarantined"]) == (1, 1, 1)
    with pipeline.sessions() as session:
        row = session.scalars(select(Quarantined)).one()
        assert row.reason_code == "conflict" and row.sop_instance_uid == ds.SOPInstanceUID
    assert inbox_files(inbox) == []
    pipeline.close()


def _bad_files(tmp: Path) -> dict[str, Path]:
    """At least one file per quarantine reason."""
    tmp.mkdir(parents=True, exist_ok=True)
    (good,) = write_study(tmp / "src", views=1, seed=11)
    files: dict[str, Path] = {}
    files["not_dicom"] = tmp / "report.pdf"
    files["not_dicom"].write_bytes(b"%PDF-1.4\n" + os.urandom(4000))
    files["not_dicom_text"] = tmp / "notes.txt"
    files["not_dicom_text"].write_text("patient called, will bring films\n" * 20)
    files["empty"] = tmp / "empty.dcm"
    files["empty"].write_bytes(b"")
    files["truncated"] = tmp / "truncated.dcm"
    files["truncated"].write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    files["no_pixel_data"] = edit(good, tmp / "sr.dcm", PixelData=None, SOPInstanceUID=generate_uid())
    files["missing_uid"] = edit(good, tmp / "nouid.dcm", StudyInstanceUID=None, SOPInstanceUID=generate_uid())
    ds = pydicom.dcmread(good)
    ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.PixelData = 1, 100, bytes(200)
    ds.save_as(tmp / "line.dcm")
    files["not_2d"] = tmp / "line.dcm"
    j2k = pydicom.dcmread(sample_file("RG3_J2KR.dcm"))
    j2k.SOPInstanceUID = generate_uid()
    j2k.PixelData = encapsulate([os.urandom(50000)])  # valid DICOM structure, garbage codestream
    j2k.save_as(tmp / "corrupt_j2k.dcm")
    files["undecodable"] = tmp / "corrupt_j2k.dcm"
    jpeg12 = pydicom.dcmread(sample_file("JPEG-lossy.dcm"))
    jpeg12.SOPInstanceUID = generate_uid()
    jpeg12.save_as(tmp / "jpeg12.dcm")
    files["undecodable_jpeg12"] = tmp / "jpeg12.dcm"
    return files


def test_bad_files_are_quarantined_with_reasons_while_the_watcher_keeps_running(make_home, tmp_path: Path) -> None:
    pytest.importorskip("gdcm")
    home, inbox = make_home()
    bad = _bad_files(tmp_path / "bad")
    pipeline = Pipeline(home)
    pipeline.start()
    try:
        old = time.time() - 3600  # long past the incomplete-file grace period
        for name, path in bad.items():
            dest = inbox / f"{name}{path.suffix}"
            shutil.copy(path, dest)
            os.utime(dest, (old, old))
        (inbox / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        (inbox / "DICOMDIR").write_bytes(b"\0" * 200)
        (inbox / ".hidden.dcm").write_bytes(b"x")
        deadline = time.monotonic() + 60
        while counts(pipeline)["quarantined"] < len(bad) and time.monotonic() < deadline:
            time.sleep(0.1)
        # the watcher is still alive: a good study dropped now is taken
        write_study(inbox / "later", views=2, seed=12)
        while counts(pipeline)["instances"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        pipeline.stop()
    c = counts(pipeline)
    assert c["quarantined"] == len(bad) and c["instances"] == 2
    with pipeline.sessions() as session:
        reasons = {row.original_name: row for row in session.scalars(select(Quarantined))}
    for name in bad:
        expected = name.split("_text")[0].split("_jpeg12")[0]
        row = next(r for n, r in reasons.items() if n.startswith(name + "."))
        assert row.reason_code == expected, (name, row.reason)
        assert row.reason
        quarantined = home.quarantine_dir / row.quarantine_path
        assert quarantined.is_file()
        assert quarantined.with_name(quarantined.name + ".reason.json").is_file()
        assert oct(quarantined.stat().st_mode & 0o777) == "0o600"
    assert "gpl-codecs" in reasons["undecodable_jpeg12.dcm"].reason
    # ignored files stay where they are, unrecorded
    assert sorted(p.name for p in inbox_files(inbox)) == [".DS_Store", ".hidden.dcm", "DICOMDIR"]
    assert len(set(bad)) >= 8
    pipeline.close()


def test_a_partial_file_is_taken_once_complete(make_home, tmp_path: Path) -> None:
    home, inbox = make_home(incomplete_grace_seconds=30.0)
    (source,) = write_study(tmp_path / "src", views=1, seed=13)
    data = source.read_bytes()
    target = inbox / "arriving.dcm"
    target.write_bytes(data[: len(data) // 3])
    pipeline = Pipeline(home)
    assert pipeline.ingest_ready_files() == 1  # waiting, not quarantined
    assert target.exists() and counts(pipeline)["quarantined"] == 0
    with target.open("ab") as handle:
        handle.write(data[len(data) // 3 :])
    assert pipeline.ingest_ready_files() == 0
    assert not target.exists()
    c = counts(pipeline)
    assert (c["instances"], c["quarantined"]) == (1, 0)
    pipeline.close()


def test_the_scanner_waits_for_size_and_mtime_to_settle(make_home, tmp_path: Path) -> None:
    home, inbox = make_home(settle_seconds=0.5)
    write_study(inbox, views=1, seed=14)
    pipeline = Pipeline(home)
    assert pipeline.scanner.ready() == []  # first sight: not settled yet
    time.sleep(0.6)
    assert len(pipeline.scanner.ready()) == 1
    pipeline.close()


def test_crafted_uids_cannot_escape_the_store(make_home) -> None:
    home, inbox = make_home()
    (path,) = write_study(inbox, views=1, seed=15)
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID = "../../../../etc"
    ds.SeriesInstanceUID = "/abs/olute"
    ds.SOPInstanceUID = ".."
    ds.save_as(path)
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    stored = [p for p in home.root.rglob("*.dcm")]
    assert len(stored) == 1
    assert home.store_dir.resolve() in stored[0].resolve().parents
    pipeline.close()


def test_outcomes_of_ingest_file(make_home) -> None:
    home, inbox = make_home()
    (path,) = write_study(inbox, views=1, seed=16)
    copy = inbox / "copy.dcm"
    shutil.copy(path, copy)
    pipeline = Pipeline(home)
    assert pipeline.ingestor.ingest_file(path).outcome is Outcome.STORED
    assert pipeline.ingestor.ingest_file(copy).outcome is Outcome.DUPLICATE
    assert pipeline.ingestor.ingest_file(inbox / "vanished.dcm").outcome is Outcome.GONE
    pipeline.close()


def test_database_and_store_are_private(make_home) -> None:
    home, inbox = make_home()
    write_study(inbox, views=1, seed=17)
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    assert oct(home.db_path.stat().st_mode & 0o777) == "0o600"
    assert oct(home.root.stat().st_mode & 0o777) == "0o700"
    assert oct(home.store_dir.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in home.store_dir.rglob("*.dcm"))
    pipeline.close()

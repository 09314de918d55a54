from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from model.datasets import load_site_dataset
from tests.helpers import write_study
from triage_app.cli import main
from triage_app.db import Study, utcnow
from triage_app.pipeline import Pipeline


def test_export_dataset_writes_read_studies_as_a_site_dataset(make_home, tmp_path: Path, capsys) -> None:
    home, inbox = make_home()
    write_study(inbox / "a", "WRIST", views=2, seed=61, patient_id="P1")
    write_study(inbox / "b", "HAND", views=1, seed=62, patient_id="P2")
    write_study(inbox / "c", "ELBOW", views=1, seed=63, patient_id="P3")  # never read: not exported
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    with pipeline.sessions.begin() as session:
        for study in session.scalars(select(Study)):
            if study.study_type in ("WRIST", "HAND"):
                study.status, study.read_at, study.read_by = "read", utcnow(), "dr.test"
                study.read_label = "abnormal" if study.study_type == "WRIST" else "normal"
    pipeline.close()
    out = tmp_path / "export"
    assert main(["--home", str(home.root), "export-dataset", "--out", str(out)]) == 0
    assert "exported 2 read studies (3 files)" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "labels.csv").open()))
    assert {(r["study_type"], r["label"]) for r in rows} == {("WRIST", "1"), ("HAND", "0")}
    train, valid = load_site_dataset(out, val_fraction=0.5, seed=0)
    assert len(train) + len(valid) == 3
    assert oct(out.stat().st_mode & 0o777) == "0o700"

"""Scoring with an untrained checkpoint: CAM, probabilities, study means, failures."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import torch
from sqlalchemy import select

from model.checkpoint import load_checkpoint
from model.inference import InferenceEngine, upsample_cam
from model.preprocessing import preprocess_image
from tests.helpers import sample_file, write_study
from triage_app.db import Study, View
from triage_app.pipeline import Pipeline
from triage_app.worklist import study_to_dict, view_counts, worklist


def test_cam_is_what_the_logit_is_made_of(untrained_checkpoint) -> None:
    loaded = load_checkpoint(untrained_checkpoint)
    images = torch.stack([preprocess_image(np.random.default_rng(i).random((300, 200))) for i in range(2)])
    with torch.no_grad():
        logits, cams = loaded.network(images)
    assert cams.shape == (2, 7, 7)
    bias = loaded.network.classifier.bias[0]
    assert torch.allclose(cams.mean(dim=(1, 2)) + bias, logits, atol=1e-4)


def test_upsampled_cam_matches_non_square_images() -> None:
    cam = np.zeros((7, 7), dtype=np.float32)
    cam[0, 6] = 1.0  # top-right hot spot
    up = upsample_cam(cam, (500, 300))
    assert up.shape == (500, 300) and up.min() == 0.0 and up.max() == 1.0
    row, col = np.unravel_index(np.argmax(up), up.shape)
    assert row < 500 / 7 and col > 300 * 6 / 7


def test_engine_scores_in_batches(untrained_checkpoint) -> None:
    engine = InferenceEngine(load_checkpoint(untrained_checkpoint), device="cpu", batch_size=2)
    rng = np.random.default_rng(0)
    images = [rng.random((128 + 10 * i, 96)).astype(np.float32) for i in range(5)]
    batched = engine.predict(images)
    single = [engine.predict([image])[0] for image in images]
    assert len(batched) == 5
    for a, b in zip(batched, single, strict=True):
        assert 0.0 <= a.probability <= 1.0 and a.cam.shape == (7, 7)
        assert abs(a.probability - b.probability) < 1e-5
    assert engine.description == "DenseNet-169 - cpu - fp32"


def test_pipeline_scores_views_and_averages_them_per_study(make_home, untrained_checkpoint) -> None:
    home, inbox = make_home(untrained_checkpoint, stable_seconds=0.2)
    write_study(inbox / "s1", "ELBOW", views=3, seed=21, finding="hardware")
    write_study(inbox / "s2", "FINGER", views=2, seed=22)
    shutil.copy(sample_file("RG3_J2KR.dcm"), inbox / "rg3.dcm")
    pipeline = Pipeline(home)
    assert pipeline.run_once(timeout=300)
    with pipeline.sessions() as session:
        studies = list(session.scalars(select(Study)))
        assert len(studies) == 3
        for study in studies:
            views = list(session.scalars(select(View).where(View.study_id == study.id)))
            probabilities = [v.probability for v in views]
            assert all(0.0 <= p <= 1.0 for p in probabilities)
            assert study.probability == pytest.approx(sum(probabilities) / len(probabilities))
            assert study.abnormal == (study.probability > 0.5)
            assert study.status == "complete" and study.scoring_state == "scored"
            for view in views:
                cam = np.frombuffer(view.cam, dtype=np.float32).reshape(view.cam_rows, view.cam_cols)
                assert cam.shape == (7, 7) and np.isfinite(cam).all()
                assert view.model_version == pipeline.checkpoint.version
        rows = [study_to_dict(s, view_counts(session)[s.id]) for s in worklist(session)]
    assert [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    assert all(r["final"] for r in rows)
    assert pipeline.scoring.stats.views_scored == 6
    pipeline.close()


def test_study_probability_updates_as_views_arrive(make_home, untrained_checkpoint) -> None:
    home, inbox = make_home(untrained_checkpoint, stable_seconds=60)
    paths = write_study(inbox.parent / "staging", "WRIST", views=2, seed=23)
    pipeline = Pipeline(home)
    shutil.move(paths[0], inbox / paths[0].name)
    pipeline.ingest_ready_files()
    assert pipeline.scoring.score_pending_batch()
    with pipeline.sessions() as session:
        study = session.scalars(select(Study)).one()
        first = study.probability
        assert study.status == "receiving" and study.scoring_state == "scored"
        assert study_to_dict(study, 1)["final"] is False
    shutil.move(paths[1], inbox / paths[1].name)
    pipeline.ingest_ready_files()
    with pipeline.sessions() as session:
        assert session.scalars(select(Study)).one().scoring_state == "pending"
    pipeline.scoring.score_pending_batch()
    with pipeline.sessions() as session:
        study = session.scalars(select(Study)).one()
        views = [v.probability for v in session.scalars(select(View))]
        assert study.probability == pytest.approx(sum(views) / 2)
        assert first in views
    pipeline.close()


def test_a_failing_model_puts_the_study_first_as_read_manually(make_home, untrained_checkpoint, monkeypatch) -> None:
    home, inbox = make_home(untrained_checkpoint)
    write_study(inbox / "a", "HAND", views=2, seed=24)
    pipeline = Pipeline(home)
    pipeline.ingest_ready_files()
    assert pipeline.scoring.score_pending_batch()  # the first study scores normally

    def broken(*_args, **_kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    write_study(inbox / "b", "WRIST", views=2, seed=25)
    pipeline.ingest_ready_files()
    monkeypatch.setattr(pipeline.inference, "predict", broken)
    assert pipeline.scoring.score_pending_batch()
    with pipeline.sessions() as session:
        ordered = worklist(session)
        assert ordered[0].study_type == "WRIST"
        assert ordered[0].scoring_state == "failed"
        assert "CUDA error" in ordered[0].score_error
        assert ordered[1].scoring_state == "scored"
        assert study_to_dict(ordered[0], 2)["read_manually"] is True
    pipeline.close()


def test_without_a_model_studies_are_listed_unscored(make_home) -> None:
    home, inbox = make_home()
    write_study(inbox, views=1, seed=26)
    pipeline = Pipeline(home)
    assert pipeline.inference is None and "--checkpoint" in pipeline.no_model_hint
    assert pipeline.run_once(timeout=60)
    with pipeline.sessions() as session:
        (study,) = worklist(session)
        row = study_to_dict(study, 1)
    assert row["probability"] is None and row["abnormal"] is None and row["scoring"] == "unscored"
    assert row["status"] == "complete"
    pipeline.close()


def test_scorer_thread_keeps_up_while_watching(make_home, untrained_checkpoint) -> None:
    home, inbox = make_home(untrained_checkpoint, stable_seconds=0.3)
    pipeline = Pipeline(home)
    pipeline.start()
    try:
        write_study(inbox, "SHOULDER", views=2, seed=27)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with pipeline.sessions() as session:
                study = session.scalars(select(Study)).first()
                if study is not None and study.status == "complete" and study.scoring_state == "scored":
                    break
            time.sleep(0.2)
        else:
            pytest.fail("study was not completed and scored in time")
    finally:
        pipeline.stop()
    pipeline.close()

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import write_study
from triage_app.db import Study, View
from triage_app.pipeline import Pipeline
from triage_app.reading import clear_scores, mark_read, rescore_study, undo_read, unread_study_ids
from triage_app.worklist import worklist


def test_read_undo_and_rescore(make_home, untrained_checkpoint) -> None:
    home, inbox = make_home(untrained_checkpoint)
    write_study(inbox / "a", "WRIST", views=2, seed=71)
    write_study(inbox / "b", "HAND", views=1, seed=72)
    pipeline = Pipeline(home)
    assert pipeline.run_once(timeout=120)
    with pipeline.sessions.begin() as session:
        first = worklist(session)[0]
        mark_read(session, first.study_uid, "abnormal", user="dr.a", comment="  plate at distal radius ")
    with pipeline.sessions() as session:
        ordered = worklist(session)
        assert ordered[-1].study_uid == first.study_uid  # read studies drop below unread ones
        assert (ordered[-1].read_label, ordered[-1].read_by, ordered[-1].read_comment) == (
            "abnormal", "dr.a", "plate at distal radius")
        assert ordered[-1].read_at is not None and len(unread_study_ids(session)) == 1
    with pipeline.sessions.begin() as session:
        undo_read(session, first.study_uid)
    with pipeline.sessions() as session:
        assert worklist(session)[0].study_uid == first.study_uid
        assert worklist(session)[0].status == "complete" and worklist(session)[0].read_label is None
    views_of_first = 2 if first.study_type == "WRIST" else 1
    with pipeline.sessions.begin() as session:
        assert rescore_study(session, first.study_uid) == views_of_first
    with pipeline.sessions() as session:
        study = session.scalars(select(Study).where(Study.study_uid == first.study_uid)).one()
        assert study.probability is None and study.scoring_state == "unscored"
    assert pipeline.scoring.score_pending_batch()
    with pipeline.sessions() as session:
        assert all(v.probability is not None for v in session.scalars(select(View)))
    with pipeline.sessions.begin() as session:
        assert clear_scores(session, unread_study_ids(session)) == 3
        with pytest.raises(ValueError, match="label must be"):
            mark_read(session, first.study_uid, "maybe")
        with pytest.raises(ValueError, match="no study"):
            mark_read(session, "1.2.3", "normal")
    pipeline.close()

"""The worklist order and study completion."""

from __future__ import annotations

from datetime import datetime, timedelta

from triage_app.db import Study, make_engine, make_session_factory
from triage_app.worklist import mark_stable_studies_complete, worklist

T0 = datetime(2026, 1, 1, 8, 0)


def _study(uid: str, minutes: int, probability: float | None, state: str = "scored", status: str = "complete"):
    return Study(study_uid=uid, study_type="WRIST", status=status, scoring_state=state, probability=probability,
                 first_received_at=T0 + timedelta(minutes=minutes), last_received_at=T0 + timedelta(minutes=minutes))


def test_order_manual_first_then_probability_then_arrival_and_read_last(tmp_path) -> None:
    sessions = make_session_factory(make_engine(tmp_path / "t.db"))
    with sessions.begin() as session:
        session.add_all([
            _study("low", 0, 0.10),
            _study("high", 5, 0.95),
            _study("unscored-early", 1, None, state="unscored"),
            _study("unscored-late", 9, None, state="unscored", status="receiving"),
            _study("manual", 8, None, state="failed"),
            _study("manual-partial", 7, 0.2, state="failed"),
            _study("mid-early", 2, 0.60),
            _study("mid-late", 3, 0.60),
            _study("partial", 4, 0.70, state="pending", status="receiving"),
            _study("read-high", 0, 0.99, status="read"),
            _study("read-manual", 0, None, state="failed", status="read"),
        ])
    with sessions() as session:
        order = [s.study_uid for s in worklist(session)]
    assert order == [
        "manual-partial", "manual",  # could not be scored: first, by arrival
        "high", "partial", "mid-early", "mid-late", "low",  # by probability, ties by arrival
        "unscored-early", "unscored-late",  # no score yet: after scored ones, by arrival
        "read-manual", "read-high",  # read studies drop below every unread one
    ]


def test_studies_complete_after_stable_seconds(tmp_path) -> None:
    sessions = make_session_factory(make_engine(tmp_path / "t.db"))
    with sessions.begin() as session:
        session.add_all([_study("old", 0, None, status="receiving"), _study("new", 10, None, status="receiving")])
    with sessions.begin() as session:
        assert mark_stable_studies_complete(session, 300, now=T0 + timedelta(minutes=12)) == 1
    with sessions() as session:
        status = {s.study_uid: s.status for s in session.query(Study)}
    assert status == {"old": "complete", "new": "receiving"}


def test_filters_search_and_sorting(tmp_path) -> None:
    from triage_app.worklist import WorklistFilter, worklist_count

    sessions = make_session_factory(make_engine(tmp_path / "t.db"))
    with sessions.begin() as session:
        for i, (study_type, status) in enumerate([("WRIST", "complete"), ("HAND", "read"), ("WRIST", "receiving")]):
            study = _study(f"s{i}", i, 0.1 * (i + 1), status=status)
            study.study_type, study.patient_name, study.accession_number = study_type, f"DOE^JANE{i}", f"ACC{i}"
            session.add(study)
    with sessions() as session:
        assert [s.study_uid for s in worklist(session, filters=WorklistFilter(study_types=frozenset({"WRIST"})))] \
            == ["s2", "s0"]
        assert worklist_count(session, WorklistFilter(statuses=frozenset({"read"}))) == 1
        assert [s.study_uid for s in worklist(session, filters=WorklistFilter(search="jane1"))] == ["s1"]
        assert [s.study_uid for s in worklist(session, filters=WorklistFilter(search="acc2"))] == ["s2"]
        assert [s.study_uid for s in worklist(session, sort="probability")] == ["s0", "s1", "s2"]
        assert [s.study_uid for s in worklist(session, sort="patient", descending=True)] == ["s2", "s1", "s0"]


def test_triage_order_is_served_by_the_expression_index(tmp_path) -> None:
    from triage_app.worklist import index_is_used

    sessions = make_session_factory(make_engine(tmp_path / "t.db"))
    with sessions() as session:
        assert index_is_used(session)  # a page never sorts the whole table

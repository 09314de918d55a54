"""Owns the headless pipeline for the window and turns its callbacks into Qt signals."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from sqlalchemy import func, select

from model.checkpoint import CheckpointError
from triage_app.config import Home, open_home
from triage_app.db import Quarantined, Study, View
from triage_app.pipeline import Pipeline
from triage_app.reading import clear_scores, mark_read, rescore_study, undo_read, unread_study_ids

log = logging.getLogger(__name__)


class PipelineController(QObject):
    """Signals in (``changed`` from worker threads, delivered queued), method calls out."""

    changed = Signal()
    model_changed = Signal()

    def __init__(self, home: Home, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.model_error: str | None = None
        self.pipeline = self._make_pipeline()
        self.sessions = self.pipeline.sessions

    def _make_pipeline(self) -> Pipeline:
        try:
            pipeline = Pipeline(self.home, on_change=self.changed.emit)
            self.model_error = None
        except (CheckpointError, RuntimeError, ValueError) as exc:
            # A broken model must not keep the worklist from opening: run without one and say why.
            self.model_error = str(exc).splitlines()[0]
            log.error("model could not be loaded: %s", self.model_error)
            self.home.settings.checkpoint = ""
            pipeline = Pipeline(self.home, on_change=self.changed.emit)
        return pipeline

    def start(self) -> None:
        self.pipeline.start()

    def stop(self) -> None:
        self.pipeline.close()

    def reload_settings(self) -> None:
        """Re-open the home with the saved config.toml and restart the pipeline (e.g. a new model)."""
        self.pipeline.close()
        self.home = open_home(self.home.root)
        self.pipeline = self._make_pipeline()
        self.sessions = self.pipeline.sessions
        self.pipeline.start()
        self.model_changed.emit()
        self.changed.emit()

    # -- status -----------------------------------------------------------------------------------
    @property
    def model_description(self) -> str:
        return self.pipeline.inference.description if self.pipeline.inference else "no model"

    @property
    def is_demo_model(self) -> bool:
        return bool(self.pipeline.checkpoint and self.pipeline.checkpoint.metadata.demo)

    def queue_length(self) -> int:
        return self.pipeline.views_pending()

    def views_per_second(self) -> float:
        return self.pipeline.scoring.recent_views_per_second() if self.pipeline.scoring else 0.0

    def quarantined(self) -> list[Quarantined]:
        with self.sessions() as session:
            return list(session.scalars(select(Quarantined).order_by(Quarantined.id.desc()).limit(500)))

    def study_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count(Study.id))) or 0)

    # -- reading ----------------------------------------------------------------------------------
    def mark_read(self, study_uid: str, label: str, comment: str | None = None) -> None:
        with self.sessions.begin() as session:
            mark_read(session, study_uid, label, comment=comment)
        self.changed.emit()

    def undo_read(self, study_uid: str) -> None:
        with self.sessions.begin() as session:
            undo_read(session, study_uid)
        self.changed.emit()

    def rescore(self, study_uid: str) -> None:
        with self.sessions.begin() as session:
            rescore_study(session, study_uid)
        if self.pipeline.scoring:
            self.pipeline.scoring.wake()
        self.changed.emit()

    def rescore_unread(self, worker) -> int:  # type: ignore[no-untyped-def]
        """Runs in a worker: re-score unread studies one at a time; ``worker.aborted`` stops between studies,
        leaving the rest with their previous scores."""
        with self.sessions() as session:
            ids = unread_study_ids(session)
        for done, study_id in enumerate(ids):
            if worker.aborted:
                return done
            with self.sessions.begin() as session:
                clear_scores(session, [study_id])
            if self.pipeline.scoring:
                self.pipeline.scoring.wake()
                while not worker.aborted and self._pending(study_id):
                    time.sleep(0.05)
            worker.signals.progress.emit(done + 1, len(ids))
        self.changed.emit()
        return len(ids)

    def _pending(self, study_id: int) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count(View.id)).where(
                View.study_id == study_id, View.probability.is_(None), View.score_error.is_(None))) or 0)

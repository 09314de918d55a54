"""The scoring service: a worker thread that scores pending views with the model.

It is separate from ingest so a slow model never holds files up in the inbox. Work comes from the
database (views without a probability or an error), so a restart simply picks up where a crash
stopped. A view that cannot be scored gets its error recorded and its study becomes "read
manually"; the service itself never dies on a bad view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from model.dicom_image import decode_frames
from model.inference import InferenceEngine
from triage_app.db import Instance, Study, View, utcnow
from triage_app.worklist import refresh_study_score

log = logging.getLogger(__name__)


@dataclass
class ScoringStats:
    views_scored: int = 0
    views_failed: int = 0
    seconds_busy: float = 0.0

    @property
    def views_per_second(self) -> float:
        return self.views_scored / self.seconds_busy if self.seconds_busy else 0.0


class ScoringService:
    def __init__(
        self,
        engine: InferenceEngine,
        store: Path,
        sessions: sessionmaker,
        threshold: float | None = None,
        on_scored: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.sessions = sessions
        self.threshold = engine.threshold if threshold is None else threshold
        self.on_scored = on_scored
        self.stats = ScoringStats()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recent: deque[tuple[float, int]] = deque(maxlen=64)

    # -- thread control ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scoring", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Called by ingest when new views arrive."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                did_work = self.score_pending_batch()
            except Exception:  # a broken database or similar: log, wait, retry — never die
                log.exception("scoring loop error")
                did_work = False
            if not did_work:
                self._wake.wait(1.0)
                self._wake.clear()

    # -- the work ---------------------------------------------------------------------------------
    def pending_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(
                select(func.count(View.id)).where(View.probability.is_(None), View.score_error.is_(None))
            ) or 0)

    def score_pending_batch(self) -> bool:
        """Score up to one batch of pending views, oldest first. Returns False when nothing was pending."""
        with self.sessions() as session:
            rows = session.execute(
                select(View.id, View.frame_index, Instance.store_path)
                .join(Instance, View.instance_id == Instance.id)
                .where(View.probability.is_(None), View.score_error.is_(None))
                .order_by(View.id)
                .limit(self.engine.batch_size)
            ).all()
        if not rows:
            return False
        started = time.perf_counter()
        images: dict[int, np.ndarray] = {}
        errors: dict[int, str] = {}
        decoded: dict[str, list[np.ndarray]] = {}
        for view_id, frame_index, store_path in rows:
            try:
                if store_path not in decoded:
                    decoded[store_path] = decode_frames(pydicom.dcmread(self.store / store_path))
                images[view_id] = decoded[store_path][frame_index]
            except Exception as exc:
                errors[view_id] = f"image could not be read for scoring: {exc}".splitlines()[0]
        results: dict[int, tuple[float, np.ndarray]] = {}
        if images:
            ids = list(images)
            try:
                predictions = self.engine.predict([images[i] for i in ids])
                results = {i: (p.probability, p.cam) for i, p in zip(ids, predictions, strict=True)}
            except Exception as exc:
                log.exception("model failed on a batch; scoring its views one by one")
                for view_id in ids:
                    try:
                        (prediction,) = self.engine.predict([images[view_id]])
                        results[view_id] = (prediction.probability, prediction.cam)
                    except Exception as single:
                        errors[view_id] = f"model failed: {type(single).__name__}: {single}".splitlines()[0]
                if not results and not errors:
                    raise exc
        for view_id, (probability, _cam) in list(results.items()):
            if not np.isfinite(probability):
                errors[view_id] = "model returned a non-finite probability"
                del results[view_id]
        self._write(results, errors)
        elapsed = time.perf_counter() - started
        self.stats.views_scored += len(results)
        self.stats.views_failed += len(errors)
        self.stats.seconds_busy += elapsed
        self._recent.append((time.monotonic(), len(results)))
        return True

    def _write(self, results: dict[int, tuple[float, np.ndarray]], errors: dict[int, str]) -> None:
        now = utcnow()
        version = self.engine.checkpoint.version
        with self.sessions.begin() as session:
            study_ids: set[int] = set()
            for view in session.scalars(select(View).where(View.id.in_([*results, *errors]))):
                if view.id in results:
                    probability, cam = results[view.id]
                    view.probability = probability
                    cam32 = np.ascontiguousarray(cam, dtype=np.float32)
                    view.cam, view.cam_rows, view.cam_cols = cam32.tobytes(), cam32.shape[0], cam32.shape[1]
                    view.score_error = None
                else:
                    view.score_error = errors[view.id]
                view.model_version = version
                view.scored_at = now
                study_ids.add(view.study_id)
            session.flush()
            for study in session.scalars(select(Study).where(Study.id.in_(study_ids))):
                refresh_study_score(session, study, self.threshold)
        if self.on_scored:
            self.on_scored(sorted(study_ids))

    def recent_views_per_second(self, window: float = 30.0) -> float:
        """Throughput over the last ``window`` seconds, for status displays."""
        now = time.monotonic()
        recent = [(t, n) for t, n in self._recent if now - t <= window]
        if len(recent) < 2:
            return self.stats.views_per_second
        span = recent[-1][0] - recent[0][0]
        return sum(n for _, n in recent[1:]) / span if span > 0 else self.stats.views_per_second

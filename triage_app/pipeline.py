"""The headless triage pipeline: hot folder -> store -> studies -> scores -> worklist.

Two threads besides the caller's: the ingest loop (scan inbox, take files over, complete stable
studies) and the scoring service. The GUI (later) and the ``watch`` command both drive this class;
it imports no Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from model.checkpoint import LoadedCheckpoint, load_checkpoint
from model.inference import InferenceEngine
from triage_app.config import Home
from triage_app.db import Study, StudyStatus, make_engine, make_session_factory
from triage_app.ingest import InboxScanner, Ingestor, Outcome
from triage_app.quarantine import Quarantine
from triage_app.scoring import ScoringService
from triage_app.worklist import mark_stable_studies_complete

log = logging.getLogger(__name__)

NO_MODEL_HINT = (
    "no model configured: studies are listed as 'unscored'. Set one with --checkpoint PATH or "
    "[model] checkpoint = \"PATH\" in {config} (create one with `mura-triage model init --out PATH`)"
)


@dataclass
class IngestCounts:
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        if outcome is Outcome.STORED:
            self.stored += 1
        elif outcome is Outcome.DUPLICATE:
            self.duplicate += 1
        elif outcome is Outcome.QUARANTINED:
            self.quarantined += 1

    @property
    def files_per_second(self) -> float:
        done = self.stored + self.duplicate + self.quarantined
        return done / self.seconds if self.seconds else 0.0


class Pipeline:
    def __init__(self, home: Home, on_change: Callable[[], None] | None = None) -> None:
        self.home = home
        self.engine_db = make_engine(home.db_path)
        self.sessions = make_session_factory(self.engine_db)
        self.quarantine = Quarantine(home.quarantine_dir, self.sessions)
        self.on_change = on_change
        self.checkpoint: LoadedCheckpoint | None = None
        self.inference: InferenceEngine | None = None
        checkpoint_path = home.checkpoint_path()
        if checkpoint_path is not None:
            self.checkpoint = load_checkpoint(checkpoint_path)
            self.inference = InferenceEngine(
                self.checkpoint, home.settings.device, home.settings.precision, home.settings.batch_size
            )
        self.threshold = (
            home.settings.threshold if home.settings.threshold is not None
            else (self.checkpoint.metadata.threshold if self.checkpoint else 0.5)
        )
        self.ingestor = Ingestor(
            home.inbox_dir, home.store_dir, self.sessions, self.quarantine,
            home.settings.incomplete_grace_seconds, self.threshold,
        )
        self.scanner = InboxScanner(home.inbox_dir, home.settings.settle_seconds)
        self.scoring = (
            ScoringService(self.inference, home.store_dir, self.sessions, self.threshold,
                           on_scored=lambda _ids: self._changed())
            if self.inference else None
        )
        self.counts = IngestCounts()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ingest_thread: threading.Thread | None = None
        self._observer = None
        self.recover()

    @property
    def no_model_hint(self) -> str | None:
        return None if self.inference else NO_MODEL_HINT.format(config=self.home.config_path)

    def _changed(self) -> None:
        if self.on_change:
            self.on_change()

    # -- steps ------------------------------------------------------------------------------------
    def recover(self) -> None:
        """Bring the store and quarantine in line with the database after an unclean stop."""
        self.quarantine.recover()
        self.ingestor.recover_store()

    def ingest_ready_files(self) -> int:
        """Take over every settled file in the inbox; returns how many files are still waiting."""
        waiting = 0
        started = time.perf_counter()
        processed = False
        for path in self.scanner.ready():
            if self._stop.is_set():
                break
            try:
                result = self.ingestor.ingest_file(path)
            except Exception:  # never let one file stop the hot folder
                log.exception("unexpected error while ingesting a file; it stays in the inbox")
                waiting += 1
                continue
            self.counts.add(result.outcome)
            if result.outcome is Outcome.WAITING:
                waiting += 1
            elif result.outcome is not Outcome.GONE:
                processed = True
        if processed:
            self.counts.seconds += time.perf_counter() - started
            self.scanner.remove_empty_dirs()
            if self.scoring:
                self.scoring.wake()
            self._changed()
        return waiting

    def complete_stable_studies(self) -> int:
        with self.sessions.begin() as session:
            changed = mark_stable_studies_complete(session, self.home.settings.stable_seconds)
        if changed:
            self._changed()
        return changed

    def inbox_pending(self) -> int:
        return len(self.scanner.candidates())

    def studies_receiving(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(
                select(func.count(Study.id)).where(Study.status == StudyStatus.RECEIVING)) or 0)

    def views_pending(self) -> int:
        return self.scoring.pending_count() if self.scoring else 0

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the ingest loop, the file-system watcher and the scoring service."""
        self._stop.clear()
        if self.scoring:
            self.scoring.start()
        self._start_observer()
        self._ingest_thread = threading.Thread(target=self._ingest_loop, name="ingest", daemon=True)
        self._ingest_thread.start()

    def _start_observer(self) -> None:
        """File-system events only wake the loop early; the periodic scan is what guarantees pickup,
        because network shares often deliver no events."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency; polling still works
            return
        wake = self._wake

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # type: ignore[no-untyped-def]
                wake.set()

        try:
            observer = Observer()
            observer.schedule(_Handler(), str(self.home.inbox_dir), recursive=True)
            observer.daemon = True
            observer.start()
            self._observer = observer
        except OSError:  # e.g. inotify watch limit reached: polling alone still works
            log.warning("file-system events unavailable for the inbox; polling every %.1f s",
                        self.home.settings.poll_seconds)

    def _ingest_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.ingest_ready_files()
                self.complete_stable_studies()
            except Exception:
                log.exception("ingest loop error; retrying")
            self._wake.wait(self.home.settings.poll_seconds)
            self._wake.clear()
            if self.home.settings.settle_seconds > 0:
                # let events for a file that is being written settle before the next scan
                self._stop.wait(min(0.2, self.home.settings.settle_seconds))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None
        if self._ingest_thread is not None:
            self._ingest_thread.join(60)
            self._ingest_thread = None
        if self.scoring:
            self.scoring.stop()

    def run_once(self, timeout: float | None = None, progress: Callable[[str], None] | None = None) -> bool:
        """Take what is in the inbox, wait until those studies are complete and scored, then return.

        Returns False if ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self.start()
        try:
            while True:
                inbox = self.inbox_pending()
                receiving = self.studies_receiving()
                pending = self.views_pending()
                if progress:
                    progress(f"inbox {inbox} file(s), {receiving} study(ies) receiving, {pending} view(s) to score")
                if inbox == 0 and receiving == 0 and pending == 0:
                    return True
                if deadline is not None and time.monotonic() > deadline:
                    return False
                self._wake.set()
                time.sleep(0.2)
        finally:
            self.stop()

    def close(self) -> None:
        self.stop()
        self.engine_db.dispose()

"""The main window: live worklist on top, study viewer below, reading tools, status bar."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from model.study_types import OTHER, STUDY_TYPES
from triage_app import NOT_FOR_CLINICAL_USE
from triage_app.db import StudyStatus
from triage_app.gui.about import show_about
from triage_app.gui.controller import PipelineController
from triage_app.gui.settings_dialog import SettingsDialog
from triage_app.gui.viewer import StudyViewer
from triage_app.gui.workers import Worker, start
from triage_app.gui.worklist_model import PROBABILITY_ROLE, STUDY_UID_ROLE, WorklistModel
from triage_app.study_views import load_study
from triage_app.worklist import WorklistFilter


class ProbabilityBarDelegate(QStyledItemDelegate):
    """The abnormality column: a bar whose length and colour (green to red) follow the probability."""

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:  # type: ignore[no-untyped-def]
        probability = index.data(PROBABILITY_ROLE)
        if probability is not None:
            rect: QRect = option.rect.adjusted(2, 4, -2, -4)
            width = int(rect.width() * max(0.0, min(1.0, probability)))
            colour = QColor.fromHsvF(max(0.0, 0.33 * (1.0 - probability)), 0.75, 0.85)
            painter.save()
            painter.fillRect(QRect(rect.left(), rect.top(), width, rect.height()), colour)
            painter.restore()
        super().paint(painter, option, index)


class MainWindow(QMainWindow):
    def __init__(self, controller: PipelineController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle(f"MURA Triage - {NOT_FOR_CLINICAL_USE}")
        self.resize(1400, 900)
        self._undo_stack: list[str] = []
        self._load_generation = 0
        self._open_uid: str | None = None

        self.model = WorklistModel(controller.sessions, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setItemDelegateForColumn(1, ProbabilityBarDelegate(self.table))
        for column, width in enumerate((120, 110, 180, 110, 120, 190, 55, 150, 110)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.activated.connect(self._open_index)

        self.type_filter = QComboBox()
        self.type_filter.addItems(["All study types", *STUDY_TYPES, OTHER])
        self.status_filter = QComboBox()
        self.status_filter.addItems(["Unread", "All statuses", StudyStatus.RECEIVING, StudyStatus.COMPLETE,
                                     StudyStatus.READ])
        self.status_filter.setCurrentText("All statuses")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search patient name, ID or accession")
        self.search.setClearButtonEnabled(True)
        for signal in (self.type_filter.currentIndexChanged, self.status_filter.currentIndexChanged,
                       self.search.textChanged):
            signal.connect(self._filters_changed)
        self.count_label = QLabel()
        filter_bar = QHBoxLayout()
        for widget in (self.type_filter, self.status_filter):
            filter_bar.addWidget(widget)
        filter_bar.addWidget(self.search, 1)
        filter_bar.addWidget(self.count_label)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        worklist_panel = QWidget()
        worklist_layout = QVBoxLayout(worklist_panel)
        worklist_layout.setContentsMargins(4, 4, 4, 0)
        worklist_layout.addWidget(self.banner)
        worklist_layout.addLayout(filter_bar)
        worklist_layout.addWidget(self.table, 1)

        self.viewer = StudyViewer()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(worklist_panel)
        splitter.addWidget(self.viewer)
        splitter.setSizes([380, 520])
        self.setCentralWidget(splitter)

        self._build_actions()
        self._build_quarantine_dock()
        self._build_status_bar()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)
        self._refresh_timer.timeout.connect(self.refresh)
        controller.changed.connect(self._refresh_timer.start)
        controller.model_changed.connect(self._update_banner)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()
        self._update_banner()
        self.refresh()

    # -- building ---------------------------------------------------------------------------------
    def _action(self, text: str, shortcut: str | None, slot, tip: str = "") -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else tip or text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.mark_normal_action = self._action("Read: normal", "N", lambda: self.mark_selected("normal"))
        self.mark_abnormal_action = self._action("Read: abnormal", "A", lambda: self.mark_selected("abnormal"))
        self.undo_action = self._action("Undo read", "Ctrl+Z", self.undo_last_read)
        self.rescore_action = self._action("Re-score study", "Ctrl+R", self.rescore_selected)
        self.rescore_all_action = self._action("Re-score all unread...", None, self.rescore_unread)
        self.settings_action = self._action("Settings...", "Ctrl+,", self.open_settings)
        self.about_action = self._action("About MURA Triage", None, lambda: show_about(
            self, self.controller.pipeline.checkpoint))
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Optional comment for the read")
        self.comment.setMaximumWidth(360)
        toolbar = QToolBar("Reading")
        toolbar.setObjectName("readingToolbar")
        for action in (self.mark_normal_action, self.mark_abnormal_action, self.undo_action):
            toolbar.addAction(action)
        toolbar.addWidget(self.comment)
        toolbar.addSeparator()
        toolbar.addAction(self.rescore_action)
        self.addToolBar(toolbar)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.settings_action)
        file_menu.addAction(self._action("Quit", "Ctrl+Q", self.close))
        study_menu = menu.addMenu("&Study")
        for action in (self.mark_normal_action, self.mark_abnormal_action, self.undo_action, self.rescore_action):
            study_menu.addAction(action)
        model_menu = menu.addMenu("&Model")
        model_menu.addAction(self.rescore_all_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_quarantine_dock(self) -> None:
        self.quarantine_table = QTableWidget(0, 3)
        self.quarantine_table.setHorizontalHeaderLabels(["File", "Reason", "When"])
        self.quarantine_table.horizontalHeader().setStretchLastSection(True)
        self.quarantine_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.quarantine_table.verticalHeader().setVisible(False)
        dock = QDockWidget("Quarantine (files that could not be used)", self)
        dock.setObjectName("quarantineDock")
        dock.setWidget(self.quarantine_table)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.quarantine_dock = dock
        self._quarantine_count = -1

    def _build_status_bar(self) -> None:
        self.model_label = QLabel()
        self.queue_label = QLabel()
        self.rate_label = QLabel()
        self.inbox_label = QLabel()
        bar = self.statusBar()
        for label in (self.model_label, self.queue_label, self.rate_label):
            bar.addWidget(label)
        bar.addPermanentWidget(self.inbox_label)

    # -- live updates -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.model.refresh()
        self.count_label.setText(f"{self.model.total} studies")
        self._refresh_quarantine()
        if self._open_uid and self.viewer.details is not None:
            self._reload_open_study_if_changed()

    def _refresh_quarantine(self) -> None:
        rows = self.controller.quarantined()
        if len(rows) == self._quarantine_count:
            return
        self._quarantine_count = len(rows)
        self.quarantine_table.setRowCount(len(rows))
        for n, row in enumerate(rows):
            for column, text in enumerate((row.original_name, f"{row.reason_code}: {row.reason}",
                                           row.quarantined_at.strftime("%Y-%m-%d %H:%M:%S"))):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.quarantine_table.setItem(n, column, item)
        self.quarantine_dock.setWindowTitle(f"Quarantine ({len(rows)} file(s) could not be used)")

    def _update_status(self) -> None:
        self.model_label.setText(f"Model: {self.controller.model_description}")
        self.queue_label.setText(f"Scoring queue: {self.controller.queue_length()} view(s)")
        self.rate_label.setText(f"{self.controller.views_per_second():.1f} views/s")
        self.inbox_label.setText(f"Inbox: {self.controller.home.inbox_dir}")

    def _update_banner(self) -> None:
        controller = self.controller
        if controller.model_error:
            text, colour = f"Model could not be loaded ({controller.model_error}); studies stay unscored. " \
                           "Choose a checkpoint in File > Settings.", "#8a1c1c"
        elif controller.pipeline.inference is None:
            text, colour = ("No model configured: studies are listed unscored. Choose a checkpoint in "
                            "File > Settings (or start with --checkpoint PATH).", "#8a5a00")
        elif controller.is_demo_model:
            text, colour = "DEMO model trained on synthetic data - not for clinical use.", "#5b2a86"
        else:
            text, colour = NOT_FOR_CLINICAL_USE, "#444444"
        self.banner.setText(text)
        self.banner.setStyleSheet(f"QLabel#banner {{ background: {colour}; color: white; padding: 4px; }}")
        self._update_status()

    # -- filters and selection --------------------------------------------------------------------
    def _filters_changed(self) -> None:
        types = self.type_filter.currentText()
        status = self.status_filter.currentText()
        statuses: frozenset[str] = frozenset()
        if status == "Unread":
            statuses = frozenset({StudyStatus.RECEIVING, StudyStatus.COMPLETE})
        elif status != "All statuses":
            statuses = frozenset({status})
        self.model.set_filters(WorklistFilter(
            study_types=frozenset() if types == "All study types" else frozenset({types}),
            statuses=statuses, search=self.search.text()))
        self.count_label.setText(f"{self.model.total} studies")

    def selected_uid(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        return index.data(STUDY_UID_ROLE) if index.isValid() else None

    def select_uid(self, study_uid: str) -> bool:
        row = self.model.row_of(study_uid)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        uid = current.data(STUDY_UID_ROLE) if current.isValid() else None
        if uid and uid != self._open_uid:
            self.open_study(uid)

    def _open_index(self, index: QModelIndex) -> None:
        uid = index.data(STUDY_UID_ROLE)
        if uid:
            self.open_study(uid)
            self.viewer.graphics.setFocus()

    def open_study(self, study_uid: str) -> None:
        """Load the study's images off the GUI thread; a newer request supersedes an older one."""
        self._open_uid = study_uid
        self._load_generation += 1
        generation = self._load_generation
        self.viewer.title.setText("Loading study ...")
        worker = Worker(load_study, self.controller.sessions, self.controller.home.store_dir, study_uid)
        worker.signals.finished.connect(lambda details, g=generation: self._study_loaded(details, g))
        worker.signals.errored.connect(lambda message: self.viewer.clear(f"Cannot show the study: {message}"))
        self._study_worker = start(worker)

    def _study_loaded(self, details, generation: int) -> None:  # type: ignore[no-untyped-def]
        if generation != self._load_generation:
            return
        if details is None:
            self.viewer.clear("The study is no longer on the worklist")
            return
        same_study = self.viewer.details is not None and self.viewer.details.study_uid == details.study_uid
        row = self.viewer.thumbnails.currentRow() if same_study else 0  # a live update keeps the view
        self.viewer.show_study(details, demo=self.controller.is_demo_model)
        if 0 < row < len(details.views):
            self.viewer.thumbnails.setCurrentRow(row)

    def _reload_open_study_if_changed(self) -> None:
        details = self.viewer.details
        fresh = load_study(self.controller.sessions, self.controller.home.store_dir, details.study_uid,
                           with_pixels=False)
        if fresh is None:
            return
        if (fresh.probability, fresh.scoring_state, len(fresh.views), fresh.status) != (
                details.probability, details.scoring_state, len(details.views), details.status):
            self.open_study(details.study_uid)

    # -- reading ----------------------------------------------------------------------------------
    def mark_selected(self, label: str) -> None:
        uid = self.selected_uid()
        if uid is None:
            return
        row = self.table.selectionModel().currentIndex().row()
        self.controller.mark_read(uid, label, self.comment.text())
        self._undo_stack.append(uid)
        self.comment.clear()
        self.refresh()
        next_row = min(row, self.model.rowCount() - 1)
        if next_row >= 0:  # the next unread study moved into this row
            self.table.selectRow(next_row)
        self.statusBar().showMessage(f"Marked read as {label}. Undo with Ctrl+Z.", 5000)

    def undo_last_read(self) -> None:
        if not self._undo_stack:
            return
        uid = self._undo_stack.pop()
        self.controller.undo_read(uid)
        self.refresh()
        self.select_uid(uid)
        self.statusBar().showMessage("Read undone.", 5000)

    def rescore_selected(self) -> None:
        uid = self.selected_uid()
        if uid:
            self.controller.rescore(uid)
            self.statusBar().showMessage("Study queued for re-scoring.", 5000)

    def rescore_unread(self) -> Worker:
        dialog = QProgressDialog("Re-scoring unread studies ...", "Cancel", 0, 1, self)
        dialog.setWindowTitle("Re-score")
        dialog.setMinimumDuration(0)
        worker = Worker(lambda: self.controller.rescore_unread(worker))
        worker.signals.progress.connect(lambda done, total: (dialog.setMaximum(total), dialog.setValue(done)))
        worker.signals.finished.connect(lambda _n: dialog.reset())
        worker.signals.errored.connect(lambda message: (dialog.reset(), QMessageBox.warning(self, "Re-score",
                                                                                             message)))
        dialog.canceled.connect(lambda: setattr(worker, "aborted", True))
        self._rescore_dialog = dialog
        return start(worker)

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.controller.home, self)
        dialog.accepted.connect(self._settings_saved)
        dialog.open()
        return dialog

    def _settings_saved(self) -> None:
        self.controller.reload_settings()
        self.model.sessions = self.controller.sessions
        self.refresh()
        self.statusBar().showMessage("Settings saved. Use Model > Re-score all unread after changing the model.",
                                     8000)

    def closeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self._status_timer.stop()
        self.controller.stop()
        super().closeEvent(event)

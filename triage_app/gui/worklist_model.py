"""A table model over the worklist database that fetches lazily and never queries in ``data()``.

Rows are loaded in pages as the view scrolls (``canFetchMore``/``fetchMore``); a refresh re-reads
only the rows already loaded and keeps the selection by study UID (persistent indexes), so the list
can hold 100,000 studies and still update live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from model.study_types import OTHER
from triage_app.db import ScoringState, Study, StudyStatus, View
from triage_app.worklist import WorklistFilter, worklist_count, worklist_select

PAGE = 200
COLUMNS = ("Priority", "Abnormality", "Patient", "Patient ID", "Accession", "Study type", "Views", "Received",
           "Status")
#: Worklist sort key per column (None = the triage order).
SORT_KEYS = (None, "probability", "patient", "patient_id", "accession", "study_type", None, "received", "status")
STUDY_UID_ROLE = Qt.ItemDataRole.UserRole + 1
PROBABILITY_ROLE = Qt.ItemDataRole.UserRole + 2

FLAG_COLOURS = {
    "read manually": QColor(230, 140, 20),
    "abnormal": QColor(205, 45, 45),
    "normal": QColor(60, 150, 80),
    "unscored": QColor(130, 130, 130),
}


@dataclass(frozen=True)
class Row:
    study_uid: str
    flag: str
    probability: float | None
    patient_name: str
    patient_id: str
    accession: str
    study_type: str
    views: int
    received: datetime
    status: str
    read_label: str | None


def _flag(scoring_state: str, probability: float | None, abnormal: bool | None) -> str:
    if scoring_state == ScoringState.FAILED:
        return "read manually"
    if probability is None:
        return "unscored"
    return "abnormal" if abnormal else "normal"


class WorklistModel(QAbstractTableModel):
    def __init__(self, sessions: sessionmaker, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self.sessions = sessions
        self.filters = WorklistFilter()
        self.sort_key: str | None = None
        self.descending = False
        self._rows: list[Row] = []
        self._total = 0
        self.reload()

    # -- loading ----------------------------------------------------------------------------------
    def _query(self, offset: int, limit: int) -> tuple[list[Row], int]:
        """One page of plain rows (columns, not ORM objects: a refresh may re-read thousands)."""
        views = (select(func.count(View.id)).where(View.study_id == Study.id).correlate(Study)
                 .scalar_subquery())
        query = worklist_select(self.filters, self.sort_key, self.descending).with_only_columns(
            Study.study_uid, Study.scoring_state, Study.probability, Study.abnormal, Study.patient_name,
            Study.patient_id, Study.accession_number, Study.study_type, views, Study.first_received_at,
            Study.status, Study.read_label,
        ).offset(offset).limit(limit)
        with self.sessions() as session:
            rows = [Row(uid, _flag(state, probability, abnormal), probability, name or "", pid or "", acc or "",
                        study_type, count, received, status, read_label)
                    for (uid, state, probability, abnormal, name, pid, acc, study_type, count, received, status,
                         read_label) in session.execute(query)]
            total = worklist_count(session, self.filters)
        return rows, total

    def reload(self) -> None:
        """Start over from the first page (filters or sort changed)."""
        self.beginResetModel()
        self._rows, self._total = self._query(0, PAGE)
        self.endResetModel()

    def refresh(self) -> None:
        """Re-read the loaded rows in place; selection and scroll position stay."""
        rows, total = self._query(0, max(len(self._rows), PAGE))
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        uids = [self._rows[i.row()].study_uid if i.row() < len(self._rows) else None for i in old_persistent]
        self._rows, self._total = rows, total
        where = {row.study_uid: n for n, row in enumerate(rows)}
        new_persistent = [
            self.index(where[uid], old.column()) if uid in where else QModelIndex()
            for uid, old in zip(uids, old_persistent, strict=True)
        ]
        self.changePersistentIndexList(old_persistent, new_persistent)
        self.layoutChanged.emit()

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: B008 - Qt signature
        if parent.isValid():
            return
        more, self._total = self._query(len(self._rows), PAGE)
        if not more:
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    # -- Qt model API -----------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, study_uid: str) -> int:
        return next((n for n, r in enumerate(self._rows) if r.study_uid == study_uid), -1)

    @property
    def total(self) -> int:
        return self._total

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == STUDY_UID_ROLE:
            return row.study_uid
        if role == PROBABILITY_ROLE:
            return row.probability
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 5 and row.study_type == OTHER:
                return "Body part outside the seven MURA study types the model was trained on"
            if column == 0 and row.flag == "read manually":
                return "The model could not score this study: read it manually"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0:
                return QBrush(FLAG_COLOURS[row.flag])
            if row.status == StudyStatus.READ:
                return QBrush(QColor(140, 140, 140))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(row: Row, column: int) -> str:
        if column == 0:
            return {"read manually": "READ MANUALLY", "abnormal": "ABNORMAL"}.get(row.flag, row.flag)
        if column == 1:
            return "" if row.probability is None else f"{100 * row.probability:.0f}%"
        if column == 2:
            return row.patient_name.replace("^", " ")
        if column == 3:
            return row.patient_id
        if column == 4:
            return row.accession
        if column == 5:
            return f"{row.study_type} (outside training scope)" if row.study_type == OTHER else row.study_type
        if column == 6:
            return str(row.views)
        if column == 7:
            return row.received.strftime("%Y-%m-%d %H:%M:%S")
        if column == 8:
            return f"read ({row.read_label})" if row.status == StudyStatus.READ and row.read_label else row.status
        return ""

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:  # type: ignore[no-untyped-def]
        self.sort_key = SORT_KEYS[column] if 0 <= column < len(SORT_KEYS) else None
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()

    def set_filters(self, filters: WorklistFilter) -> None:
        self.filters = filters
        self.reload()


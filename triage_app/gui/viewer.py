"""The study viewer: thumbnails, the selected view with zoom/pan/window-level, CAM overlay, header tags."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.inference import upsample_cam
from triage_app.study_views import StudyDetails, StudyView

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

CAM_COLOURMAPS = ("inferno", "viridis", "plasma", "CET-L4")


class WindowLevelViewBox(pg.ViewBox):
    """Left drag pans, wheel zooms, right drag changes window (x) and level (y), as on a PACS."""

    window_level_dragged = Signal(float, float)

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)

    def mouseDragEvent(self, ev, axis=None):  # type: ignore[no-untyped-def]
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            if not ev.isStart():
                delta = ev.pos() - ev.lastPos()
                self.window_level_dragged.emit(float(delta.x()), float(delta.y()))
            return
        super().mouseDragEvent(ev, axis)


def _thumbnail(image: np.ndarray, size: int = 96) -> QIcon:
    step = max(1, max(image.shape) // size)
    small = np.ascontiguousarray((np.clip(image[::step, ::step], 0, 1) * 255).astype(np.uint8))
    qimage = QImage(small.data, small.shape[1], small.shape[0], small.shape[1], QImage.Format.Format_Grayscale8)
    return QIcon(QPixmap.fromImage(qimage.copy()))


class StudyViewer(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.details: StudyDetails | None = None
        self.current: StudyView | None = None
        self.window_width = 1.0
        self.level = 0.5

        self.title = QLabel("No study selected")
        self.title.setObjectName("viewerTitle")
        self.title.setWordWrap(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(96, 96))
        self.thumbnails.setFlow(QListWidget.Flow.TopToBottom)
        self.thumbnails.setWrapping(False)
        self.thumbnails.setFixedWidth(130)
        self.thumbnails.currentRowChanged.connect(self._show_view)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        self.view_box = WindowLevelViewBox()
        self.graphics.addItem(self.view_box, row=0, col=0)
        self.image_item = pg.ImageItem()
        self.cam_item = pg.ImageItem()
        self.cam_item.setZValue(10)
        self.view_box.addItem(self.image_item)
        self.view_box.addItem(self.cam_item)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("inferno"), interactive=False,
                                          label="CAM (relative)", width=14)
        self.colour_bar.setImageItem(self.cam_item)
        self.graphics.addItem(self.colour_bar, row=0, col=1)
        self.view_box.window_level_dragged.connect(self._drag_window_level)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

        self.cam_toggle = QCheckBox("CAM overlay")
        self.cam_toggle.setChecked(True)
        self.cam_toggle.toggled.connect(self._update_cam)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity.setFixedWidth(110)
        self.opacity.setToolTip("CAM opacity")
        self.opacity.valueChanged.connect(self._update_cam)
        self.colourmap = QComboBox()
        self.colourmap.addItems(CAM_COLOURMAPS)
        self.colourmap.currentTextChanged.connect(self._set_colourmap)
        self.invert = QCheckBox("Invert")
        self.invert.toggled.connect(self._apply_levels)
        self.reset = QPushButton("Reset view")
        self.reset.clicked.connect(self.reset_view)
        self.readout = QLabel("")
        self.readout.setMinimumWidth(220)

        controls = QHBoxLayout()
        for widget in (self.cam_toggle, QLabel("opacity"), self.opacity, self.colourmap, self.invert, self.reset):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.readout)

        self.header_table = QTableWidget(0, 2)
        self.header_table.setHorizontalHeaderLabels(["Tag", "Value"])
        self.header_table.horizontalHeader().setStretchLastSection(True)
        self.header_table.verticalHeader().setVisible(False)
        self.header_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        image_column = QVBoxLayout()
        image_column.setContentsMargins(0, 0, 0, 0)
        image_column.addWidget(self.graphics, 1)
        image_column.addLayout(controls)
        image_panel = QWidget()
        image_panel.setLayout(image_column)
        splitter = QSplitter()
        splitter.addWidget(self.thumbnails)
        splitter.addWidget(image_panel)
        splitter.addWidget(self.header_table)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([130, 700, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)

    # -- content ----------------------------------------------------------------------------------
    def clear(self, message: str = "No study selected") -> None:
        self.details = self.current = None
        self.thumbnails.clear()
        self.image_item.clear()
        self.cam_item.clear()
        self.header_table.setRowCount(0)
        self.title.setText(message)

    def show_study(self, details: StudyDetails, demo: bool = False) -> None:
        self.details = details
        self.thumbnails.blockSignals(True)
        self.thumbnails.clear()
        for view in details.views:
            label = view.view_position or f"view {view.frame + 1}"
            score = "error" if view.score_error else ("-" if view.probability is None else
                                                       f"{100 * view.probability:.0f}%")
            item = QListWidgetItem(f"{label}\n{score}")
            if view.image is not None:
                item.setIcon(_thumbnail(view.image))
            item.setToolTip(view.score_error or view.error or "")
            self.thumbnails.addItem(item)
        self.thumbnails.blockSignals(False)
        self.title.setText(self._title(details, demo))
        if details.views:
            self.thumbnails.setCurrentRow(0)
            self._show_view(0)

    @staticmethod
    def _title(details: StudyDetails, demo: bool) -> str:
        if details.scoring_state == "failed":
            verdict = "<b style='color:#e68c14'>READ MANUALLY</b> - the model could not score this study"
        elif details.probability is None:
            verdict = "not scored yet"
        else:
            label = "ABNORMAL" if details.abnormal else "normal"
            colour = "#cd2d2d" if details.abnormal else "#3c9650"
            verdict = f"p(abnormal) <b>{100 * details.probability:.1f}%</b> - <b style='color:{colour}'>{label}</b>"
        model = f"model {details.model_version}" if details.model_version else "no model"
        scope = " (outside training scope)" if details.study_type == "OTHER" else ""
        demo_text = " - <b>DEMO model, synthetic data</b>" if demo else ""
        return (f"{details.study_type}{scope} - {len(details.views)} view(s) - {verdict} - {model}{demo_text}"
                f" - <i>not for clinical use</i>")

    def _show_view(self, row: int) -> None:
        if self.details is None or not 0 <= row < len(self.details.views):
            return
        view = self.details.views[row]
        same_view = self.current is not None and self.current.view_id == view.view_id
        self.current = view
        if view.image is None:
            self.image_item.clear()
            self.cam_item.clear()
            self.readout.setText(view.error or "")
        else:
            self.image_item.setImage(view.image, autoLevels=False)
            if same_view:  # a live update of the open view keeps the reader's zoom and window
                self._apply_levels()
            else:
                self.reset_view()
        self.header_table.setRowCount(len(view.header))
        for n, (tag, value) in enumerate(view.header.items()):
            self.header_table.setItem(n, 0, QTableWidgetItem(tag))
            self.header_table.setItem(n, 1, QTableWidgetItem(value))
        self._update_cam()

    # -- display controls -------------------------------------------------------------------------
    def reset_view(self) -> None:
        self.window_width, self.level = 1.0, 0.5
        self._apply_levels()
        self.view_box.autoRange(padding=0.02)

    def _apply_levels(self) -> None:
        low, high = self.level - self.window_width / 2, self.level + self.window_width / 2
        self.image_item.setLevels((high, low) if self.invert.isChecked() else (low, high))

    def _drag_window_level(self, dx: float, dy: float) -> None:
        self.window_width = float(np.clip(self.window_width + dx / 300.0, 0.02, 2.0))
        self.level = float(np.clip(self.level - dy / 300.0, -0.5, 1.5))
        self._apply_levels()

    def _set_colourmap(self, name: str) -> None:
        self.colour_bar.setColorMap(pg.colormap.get(name))
        self._update_cam()

    def cam_visible(self) -> bool:
        return self.cam_item.isVisible() and self.cam_item.image is not None

    def _update_cam(self) -> None:
        view = self.current
        show = self.cam_toggle.isChecked() and view is not None and view.cam is not None and view.image is not None
        if show:
            heat = upsample_cam(view.cam, view.image.shape)  # stretched back like the network's input
            self.cam_item.setImage(heat, levels=(0.0, 1.0))
            self.cam_item.setLookupTable(pg.colormap.get(self.colourmap.currentText()).getLookupTable(0, 1, 256))
            self.cam_item.setOpacity(self.opacity.value() / 100.0)
        self.cam_item.setVisible(bool(show))

    def _mouse_moved(self, position) -> None:  # type: ignore[no-untyped-def]
        view = self.current
        if view is None or view.image is None:
            return
        point = self.view_box.mapSceneToView(position)
        x, y = int(point.x()), int(point.y())
        rows, cols = view.image.shape
        if 0 <= x < cols and 0 <= y < rows:
            value = f"{view.values[y, x]:g}" if view.values is not None else "-"
            self.readout.setText(f"x {x}  y {y}  value {value}  display {view.image[y, x]:.3f}")
        else:
            self.readout.setText("")

"""The desktop window, offscreen with pytest-qt."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer

from tests.helpers import write_study
from triage_app.config import load_settings, open_home
from triage_app.gui.controller import PipelineController
from triage_app.gui.main_window import MainWindow
from triage_app.gui.settings_dialog import SettingsDialog

FAST = {"settle_seconds": 0.0, "stable_seconds": 0.3, "poll_seconds": 0.1, "batch_size": 4}


def make_window(qtbot, root: Path, checkpoint: Path | None = None) -> MainWindow:
    settings = dict(FAST)
    if checkpoint is not None:
        settings["checkpoint"] = str(checkpoint)
    controller = PipelineController(open_home(root, settings))
    window = MainWindow(controller)
    qtbot.addWidget(window)
    controller.start()
    window.show()
    return window


def rows(window: MainWindow):
    return [window.model.row_at(i) for i in range(window.model.rowCount())]


def wait_scored(qtbot, window: MainWindow, count: int, timeout: int = 120_000) -> None:
    """Wait for the window's own live refresh (no extra queries from the test)."""

    def done() -> None:
        current = rows(window)
        assert len(current) == count
        assert all(r.probability is not None and r.status == "complete" for r in current)

    qtbot.waitUntil(done, timeout=timeout)


def test_opens_on_an_empty_home_and_says_no_model(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path / "home")
    assert window.model.rowCount() == 0
    assert "No model configured" in window.banner.text()
    assert "not for clinical use" in window.windowTitle()
    window.close()


def test_studies_appear_ordered_and_the_viewer_shows_views_with_cam(qtbot, tmp_path: Path,
                                                                     untrained_checkpoint) -> None:
    window = make_window(qtbot, tmp_path / "home", untrained_checkpoint)
    inbox = window.controller.home.inbox_dir
    write_study(inbox / "a", "WRIST", views=2, seed=81, finding="hardware", rows=200, cols=120)
    write_study(inbox / "b", "HAND", views=3, seed=82)
    write_study(inbox / "c", "ELBOW", views=1, seed=83)
    wait_scored(qtbot, window, 3)
    probabilities = [r.probability for r in rows(window)]
    assert probabilities == sorted(probabilities, reverse=True)
    assert window.model.data(window.model.index(0, 1)).endswith("%")

    hand_row = next(i for i, r in enumerate(rows(window)) if r.study_type == "HAND")
    window.table.selectRow(hand_row)
    qtbot.waitUntil(lambda: window.viewer.details is not None and window.viewer.details.study_type == "HAND",
                    timeout=20_000)
    assert window.viewer.thumbnails.count() == 3
    assert window.viewer.image_item.image is not None
    assert "p(abnormal)" in window.viewer.title.text()
    assert window.viewer.header_table.rowCount() > 5

    # the CAM toggle changes what is shown
    assert window.viewer.cam_visible()
    with_cam = window.viewer.graphics.grab().toImage()
    window.viewer.cam_toggle.setChecked(False)
    assert not window.viewer.cam_visible()
    without_cam = window.viewer.graphics.grab().toImage()
    assert with_cam != without_cam
    # the overlay has the image's shape, also for non-square images
    wrist_row = next(i for i, r in enumerate(rows(window)) if r.study_type == "WRIST")
    window.viewer.cam_toggle.setChecked(True)
    window.table.selectRow(wrist_row)
    qtbot.waitUntil(lambda: window.viewer.details.study_type == "WRIST", timeout=20_000)
    assert window.viewer.cam_item.image.shape == window.viewer.image_item.image.shape == (200, 120)
    window.close()


def test_mark_read_persists_across_a_restart_and_undo(qtbot, tmp_path: Path, untrained_checkpoint) -> None:
    root = tmp_path / "home"
    window = make_window(qtbot, root, untrained_checkpoint)
    write_study(window.controller.home.inbox_dir / "a", "WRIST", views=1, seed=84)
    write_study(window.controller.home.inbox_dir / "b", "FINGER", views=1, seed=85)
    wait_scored(qtbot, window, 2)
    window.table.selectRow(0)
    first = window.selected_uid()
    window.comment.setText("hardware, no fracture")
    window.mark_abnormal_action.trigger()
    assert rows(window)[-1].study_uid == first and rows(window)[-1].status == "read"
    window.undo_action.trigger()
    assert rows(window)[0].study_uid == first and rows(window)[0].status == "complete"
    window.select_uid(first)
    window.mark_normal_action.trigger()
    window.close()

    again = make_window(qtbot, root, untrained_checkpoint)
    restored = {r.study_uid: r for r in rows(again)}
    assert restored[first].status == "read" and restored[first].read_label == "normal"
    assert rows(again)[-1].study_uid == first
    again.close()


def test_settings_persist_and_invalid_values_are_refused(qtbot, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    window = make_window(qtbot, tmp_path / "home")
    home = window.controller.home
    dialog = SettingsDialog(home, window)
    qtbot.addWidget(dialog)
    dialog.stable_seconds.setValue(-5)
    dialog.accept()
    assert dialog.error and "stable_seconds" in dialog.error and warnings
    dialog.stable_seconds.setValue(25)
    dialog.threshold.setText("1.7")
    dialog.accept()
    assert "threshold" in dialog.error
    dialog.threshold.setText("0.35")
    dialog.device.setCurrentText("cpu")
    dialog.checkpoint.setText(str(tmp_path / "missing.ckpt"))
    dialog.accept()
    assert "checkpoint not found" in dialog.error
    dialog.checkpoint.setText("")
    dialog.accept()
    assert dialog.error is None
    saved = load_settings(home.config_path)
    assert (saved.stable_seconds, saved.threshold, saved.device) == (25.0, 0.35, "cpu")
    window.close()


def test_a_failing_model_shows_studies_as_read_manually(qtbot, tmp_path: Path, untrained_checkpoint,
                                                        monkeypatch) -> None:
    window = make_window(qtbot, tmp_path / "home", untrained_checkpoint)

    def broken(*_args, **_kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(window.controller.pipeline.inference, "predict", broken)
    write_study(window.controller.home.inbox_dir / "a", "WRIST", views=2, seed=86)

    def flagged() -> None:
        window.refresh()
        assert [r.flag for r in rows(window)] == ["read manually"]

    qtbot.waitUntil(flagged, timeout=60_000)
    assert window.model.data(window.model.index(0, 0)) == "READ MANUALLY"
    window.close()


def test_an_unreadable_checkpoint_still_opens_the_worklist(qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_text("garbage")
    window = make_window(qtbot, tmp_path / "home", bad)
    assert "could not be loaded" in window.banner.text()
    window.close()


def test_gui_thread_never_stalls_while_200_views_are_ingested_and_scored(qtbot, tmp_path: Path,
                                                                        untrained_checkpoint) -> None:
    import torch

    from triage_app.gui.app import reserve_core_for_gui

    previous_threads = reserve_core_for_gui()  # as the app does
    window = make_window(qtbot, tmp_path / "home", untrained_checkpoint)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    staging = tmp_path / "staging"
    for study in range(50):
        write_study(staging / f"s{study}", "WRIST", views=4, seed=1000 + study, rows=96, cols=80)
    window.table.setFocus()
    import shutil

    shutil.move(str(staging), str(window.controller.home.inbox_dir / "batch"))
    last[0] = time.perf_counter()
    wait_scored(qtbot, window, 50, timeout=600_000)
    timer.stop()
    stall = max(gaps)
    print(f"\nlongest GUI event-loop gap while ingesting and scoring 200 views: {1000 * stall:.0f} ms "
          f"(median {1000 * float(np.median(gaps)):.0f} ms, {len(gaps)} ticks)")
    window.close()
    torch.set_num_threads(previous_threads)
    assert stall < 0.2


def test_data_never_queries_the_database(qtbot, tmp_path: Path) -> None:
    from sqlalchemy import event

    from triage_app.db import Study, make_engine, make_session_factory
    from triage_app.gui.worklist_model import PAGE, WorklistModel

    engine = make_engine(tmp_path / "t.db")
    with make_session_factory(engine).begin() as session:
        session.add_all(Study(study_uid=f"1.{i}", study_type="HAND", probability=i / 500) for i in range(450))
    model = WorklistModel(make_session_factory(engine))
    assert model.rowCount() == PAGE and model.canFetchMore()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            model.data(model.index(row, column))
    assert statements == []
    model.fetchMore()
    assert model.rowCount() == 2 * PAGE and statements  # fetching more is where queries happen


def test_rescore_all_unread_with_progress_and_about_box(qtbot, tmp_path: Path, untrained_checkpoint) -> None:
    from triage_app.gui.about import about_text

    window = make_window(qtbot, tmp_path / "home", untrained_checkpoint)
    write_study(window.controller.home.inbox_dir / "a", "WRIST", views=1, seed=91)
    write_study(window.controller.home.inbox_dir / "b", "HAND", views=1, seed=92)
    wait_scored(qtbot, window, 2)
    worker = window.rescore_unread()
    with qtbot.waitSignal(worker.signals.finished, timeout=120_000) as finished:
        pass
    assert finished.args == [2]
    wait_scored(qtbot, window, 2)
    text = about_text(window.controller.pipeline.checkpoint)
    assert "not for clinical use" in text and "Untrained weights" in text
    window.close()

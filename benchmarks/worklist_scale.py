"""The worklist window model with 100,000 studies: open, scroll (fetch more), live refresh.

Beside a baseline in the same run: a naive model that loads every study up front. Prints JSON.

    QT_QPA_PLATFORM=offscreen python benchmarks/worklist_scale.py [--studies 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from _output import emit  # benchmarks/_output.py, beside this script
from PySide6.QtWidgets import QApplication, QTableView
from sqlalchemy import insert

from triage_app.db import Study, make_engine, make_session_factory
from triage_app.gui.worklist_model import WorklistModel
from triage_app.worklist import worklist


def fill(db: Path, count: int) -> None:
    engine = make_engine(db)
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1)
    types = ["ELBOW", "FINGER", "FOREARM", "HAND", "HUMERUS", "SHOULDER", "WRIST"]
    rows = []
    for i in range(count):
        p = float(rng.random())
        rows.append({"study_uid": f"1.2.3.{i}", "patient_id": f"P{i:07d}", "patient_name": f"PHANTOM^{i}",
                     "accession_number": f"A{i:07d}", "study_type": types[i % 7], "status": "complete",
                     "scoring_state": "scored", "probability": p, "abnormal": p > 0.5,
                     "first_received_at": start + timedelta(seconds=i),
                     "last_received_at": start + timedelta(seconds=i)})
    with engine.begin() as connection:
        connection.execute(insert(Study), rows)
    engine.dispose()


def timed(function) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "triage.db"
        fill(db, args.studies)
        sessions = make_session_factory(make_engine(db))
        holder: dict = {}
        open_s = timed(lambda: holder.setdefault("model", WorklistModel(sessions)))
        model = holder["model"]
        view = QTableView()
        view.setModel(model)
        view.resize(1200, 800)
        view.show()
        app.processEvents()
        fetches = []
        for _ in range(10):  # ten pages of scrolling
            fetches.append(timed(model.fetchMore))
        scroll_s = timed(lambda: (view.scrollToBottom(), app.processEvents()))
        refresh_s = timed(model.refresh)
        data_s = timed(lambda: [model.data(model.index(r, c)) for r in range(model.rowCount()) for c in range(9)])
        with sessions() as session:
            baseline_s = timed(lambda: worklist(session))
    result = {
        "studies": args.studies,
        "open_first_page_s": round(open_s, 4),
        "fetch_more_page_s": {"median": round(float(np.median(fetches)), 4), "max": round(max(fetches), 4)},
        "scroll_to_loaded_bottom_s": round(scroll_s, 4),
        "refresh_loaded_rows_s": round(refresh_s, 4),
        "loaded_rows": model.rowCount(),
        "data_calls_all_loaded_cells_s": round(data_s, 4),
        "baseline_load_every_study_s": round(baseline_s, 4),
    }
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

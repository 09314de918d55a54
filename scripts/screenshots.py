"""Regenerate the README screenshots from the real window on a virtual X screen (Xvfb).

    python scripts/screenshots.py --checkpoint MODEL.ckpt [--out docs]

Needs Xvfb and ImageMagick's ``import`` (Debian: xvfb imagemagick, plus Qt's xcb libraries). It
drops phantom studies into a fresh home, waits until they are scored, then captures the worklist and
the viewer with the CAM overlay on a phantom with orthopaedic hardware. Everything shown is
synthetic and marked so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def capture(display: str, path: Path) -> None:
    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True)
    print(f"wrote {path}")


def run_window(args: argparse.Namespace) -> int:
    """Runs inside the Xvfb display (QT_QPA_PLATFORM=xcb)."""
    from PySide6.QtCore import QTimer

    from model.phantom_datasets import write_dicom_dataset
    from triage_app.config import open_home
    from triage_app.gui.app import application, open_window

    app = application()
    home = open_home(Path(args.home), {"settle_seconds": 0.2, "stable_seconds": 1.0, "poll_seconds": 0.2,
                                       "checkpoint": str(Path(args.checkpoint).resolve())})
    window = open_window(home)
    window.setGeometry(0, 0, 1600, 1000)
    window.show()
    staging = Path(args.home) / "staging"
    write_dicom_dataset(staging, args.studies, 0.5, seed=args.seed)
    findings = (staging / "findings.csv").read_text().splitlines()
    for side in (p for p in staging.iterdir() if p.is_file()):  # labels, findings, synthetic marker
        side.unlink()
    shutil.move(str(staging), str(home.inbox_dir / "demo"))
    hardware_accessions = {line.split(",")[0].split("/")[0] for line in findings if ",hardware," in line}
    out = Path(args.out)

    def scored() -> bool:
        rows = [window.model.row_at(i) for i in range(window.model.rowCount())]
        return len(rows) == args.studies and all(r.probability is not None for r in rows)

    def step() -> None:
        if not scored():
            return
        timer.stop()
        window.table.selectRow(0)
        QTimer.singleShot(2500, lambda: (capture(args.display, out / "worklist.png"), show_hardware()))

    def show_hardware() -> None:
        rows = [window.model.row_at(i) for i in range(window.model.rowCount())]
        target = next(i for i, r in enumerate(rows) if r.accession in hardware_accessions)
        window.table.selectRow(target)
        window.viewer.opacity.setValue(50)
        QTimer.singleShot(3000, lambda: (capture(args.display, out / "viewer-cam-hardware.png"), app.quit()))

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(500)
    QTimer.singleShot(600_000, app.quit)
    return app.exec()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--display", default=":97")
    parser.add_argument("--home")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return run_window(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    xvfb = subprocess.Popen(["Xvfb", args.display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    try:
        time.sleep(1.5)
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "DISPLAY": args.display, "QT_QPA_PLATFORM": "xcb"}
            return subprocess.run([sys.executable, __file__, "--inside", "--home", home, *sys.argv[1:]],
                                  env=env, check=False).returncode
    finally:
        xvfb.terminate()


if __name__ == "__main__":
    sys.exit(main())

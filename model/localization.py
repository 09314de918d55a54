"""CAM localisation scored with the pointing game.

A hit is when the CAM's maximum, upsampled to the network's input grid (``size`` x ``size``, the
image stretched as in preprocessing), falls inside the finding's box expanded by ``tolerance``
pixels on that grid (the usual 15 px at 224 px).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.datasets import ImageRecord, load_image
from model.inference import upsample_cam
from model.network import TriageNet
from model.preprocessing import preprocess_image


@dataclass(frozen=True)
class FindingBox:
    x0: float
    y0: float
    x1: float
    y1: float
    rows: int
    cols: int
    finding: str = ""  # "hardware", "fracture", ... as the generator wrote it


def read_findings(path: Path) -> dict[str, FindingBox]:
    """``findings.csv`` as written by the phantom generator, keyed by the image path relative to its folder."""
    boxes = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("x0"):
                boxes[row["image"]] = FindingBox(float(row["x0"]), float(row["y0"]), float(row["x1"]),
                                                 float(row["y1"]), int(row["rows"]), int(row["cols"]),
                                                 row.get("finding") or "")
    return boxes


def pointing_hit(cam: np.ndarray, box: FindingBox, size: int = 224, tolerance: float = 15.0) -> bool:
    grid = upsample_cam(cam, (size, size))
    row, col = np.unravel_index(int(np.argmax(grid)), grid.shape)
    sx, sy = size / box.cols, size / box.rows
    return bool(box.x0 * sx - tolerance <= col + 0.5 <= box.x1 * sx + tolerance
                and box.y0 * sy - tolerance <= row + 0.5 <= box.y1 * sy + tolerance)


@torch.inference_mode()
def pointing_game(network: TriageNet, records: Sequence[ImageRecord], boxes: dict[str, FindingBox],
                  root: Path, image_size: int, tolerance: float = 15.0) -> dict:
    """Hit rate over the abnormal images that have a box, overall and per kind of finding; ``root`` is
    the folder findings.csv lives in."""
    network.eval()
    hits = total = 0
    by_finding: dict[str, list[int]] = {}
    for record in records:
        key = Path(record.path).resolve().relative_to(root.resolve()).as_posix()
        box = boxes.get(key)
        if box is None:
            continue
        _, cams = network(preprocess_image(load_image(record), image_size)[None])
        hit = pointing_hit(cams[0].numpy(), box, 224, tolerance)
        hits += hit
        total += 1
        counts = by_finding.setdefault(box.finding or "unspecified", [0, 0])
        counts[0] += hit
        counts[1] += 1
    return {"images": total, "hits": hits, "pointing_game": hits / total if total else None,
            "tolerance_px_at_224": tolerance,
            "by_finding": {kind: {"images": n, "hits": h, "pointing_game": h / n}
                           for kind, (h, n) in sorted(by_finding.items())}}

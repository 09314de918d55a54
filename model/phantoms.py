"""Synthetic upper-extremity radiographs ("phantoms") for tests, the demo and benchmarks.

Each phantom has soft tissue, bones drawn as tubes with a bright cortex and a darker medulla, and
noise. Abnormal phantoms carry one finding the MURA paper names: orthopaedic hardware (a bright
plate with screws) or a fracture line (a dark, jagged gap through a long bone). The finding's
bounding box is returned so CAM localisation can be scored. Images are floats in [0, 1], bone bright.
They are obviously synthetic and never meant to look like a patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.study_types import STUDY_TYPES

FINDINGS = ("hardware", "fracture")


@dataclass(frozen=True)
class Bone:
    start: tuple[float, float]  # (x, y) in [0, 1] image coordinates
    end: tuple[float, float]
    radius: float  # fraction of the image width


@dataclass
class Phantom:
    image: np.ndarray  # float32 rows x cols, [0, 1], bone bright
    study_type: str
    finding: str | None  # None for a normal phantom
    #: (x0, y0, x1, y1) in pixels of ``image``, or None when normal.
    bbox: tuple[int, int, int, int] | None


def _bones(study_type: str, rng: np.random.Generator) -> list[Bone]:
    j = lambda scale=0.03: float(rng.normal(0, scale))  # noqa: E731 - tiny local jitter helper
    if study_type == "FINGER":
        x = 0.5 + j()
        return [Bone((x, 0.08 + i * 0.29), (x + j(0.01), 0.33 + i * 0.29), 0.055) for i in range(3)]
    if study_type == "HAND":
        bones = []
        for i in range(5):
            angle = np.deg2rad(-32 + i * 16 + j(2))
            base = (0.5 + (i - 2) * 0.08, 0.72)
            tip = (base[0] + 0.27 * np.sin(angle), base[1] - 0.27 * np.cos(angle))
            bones.append(Bone(base, tip, 0.026))
            far = (tip[0] + 0.22 * np.sin(angle), tip[1] - 0.22 * np.cos(angle))
            bones.append(Bone((tip[0] + 0.01 * np.sin(angle), tip[1] - 0.01 * np.cos(angle)), far, 0.02))
        bones += [Bone((0.38 + 0.08 * k, 0.8), (0.4 + 0.08 * k, 0.86), 0.03) for k in range(4)]
        return bones
    if study_type == "WRIST":
        bones = [Bone((0.4 + j(), 1.0), (0.42, 0.55), 0.07), Bone((0.63 + j(), 1.0), (0.62, 0.6), 0.045)]
        bones += [Bone((0.33 + 0.1 * k, 0.44 + j(0.01)), (0.37 + 0.1 * k, 0.46), 0.04) for k in range(4)]
        bones += [Bone((0.36 + 0.1 * k, 0.3), (0.37 + 0.1 * k, 0.02), 0.03) for k in range(4)]
        return bones
    if study_type == "FOREARM":
        return [Bone((0.4 + j(), 0.02), (0.43 + j(), 0.98), 0.055), Bone((0.6 + j(), 0.02), (0.58 + j(), 0.98), 0.045)]
    if study_type == "HUMERUS":
        return [Bone((0.5 + j(), 0.12), (0.5 + j(), 0.9), 0.08), Bone((0.5, 0.1), (0.5, 0.1), 0.16)]
    if study_type == "ELBOW":
        return [Bone((0.45 + j(), 0.0), (0.5, 0.48), 0.08), Bone((0.48, 0.52), (0.3 + j(), 1.0), 0.05),
                Bone((0.56, 0.52), (0.45 + j(), 1.0), 0.045), Bone((0.5, 0.5), (0.5, 0.5), 0.11)]
    if study_type == "SHOULDER":
        return [Bone((0.55, 0.35), (0.55, 0.35), 0.16), Bone((0.56 + j(), 0.45), (0.6 + j(), 1.0), 0.08),
                Bone((0.0, 0.2 + j()), (0.7, 0.15), 0.045), Bone((0.3, 0.3), (0.1, 0.95), 0.06)]
    raise ValueError(f"unknown study type {study_type!r}; choose one of {', '.join(STUDY_TYPES)}")


def _segment_distance(xx: np.ndarray, yy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    denom = float(ab @ ab) or 1e-9
    t = np.clip(((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / denom, 0.0, 1.0)
    return np.hypot(xx - (a[0] + t * ab[0]), yy - (a[1] + t * ab[1]))


def make_phantom(
    study_type: str,
    rng: np.random.Generator,
    finding: str | None = None,
    rows: int = 320,
    cols: int = 256,
) -> Phantom:
    """Draw one view. ``finding`` is None (normal), ``hardware`` or ``fracture``."""
    if finding is not None and finding not in FINDINGS:
        raise ValueError(f"finding must be one of {FINDINGS} or None")
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    scale = float(cols)
    bones = _bones(study_type, rng)
    image = np.full((rows, cols), 0.06, dtype=np.float32)
    # soft tissue: the union of wide tubes around the bones
    tissue = np.zeros_like(image)
    bone_layer = np.zeros_like(image)
    for bone in bones:
        a = np.array(bone.start, dtype=np.float32) * [cols, rows]
        b = np.array(bone.end, dtype=np.float32) * [cols, rows]
        r = bone.radius * scale
        dist = _segment_distance(xx, yy, a, b)
        tissue = np.maximum(tissue, np.clip((2.3 * r + 10 - dist) / 8.0, 0, 1))
        cortex = 0.18 * r + 1.5
        inside = np.clip((r - dist) / 1.5, 0, 1)
        # cortex brighter than medulla, both well below metal (1.0), as on a real radiograph
        shell = np.where(dist > r - cortex, 0.78, 0.52 + 0.08 * rng.random())
        bone_layer = np.maximum(bone_layer, inside * shell)
    image = image + 0.28 * tissue
    image = np.maximum(image, bone_layer)
    bbox = None
    if finding is not None:
        long_bones = [b for b in bones if b.start != b.end and b.radius >= 0.02] or bones
        bone = long_bones[int(rng.integers(len(long_bones)))]
        a = np.array(bone.start) * [cols, rows]
        b = np.array(bone.end) * [cols, rows]
        t = float(rng.uniform(0.35, 0.65))
        center = a + t * (b - a)
        direction = (b - a) / (np.linalg.norm(b - a) or 1.0)
        normal = np.array([-direction[1], direction[0]])
        r = bone.radius * scale
        if finding == "hardware":
            half_len = max(0.16 * min(rows, cols), 3 * r)
            dist_along = (xx - center[0]) * direction[0] + (yy - center[1]) * direction[1]
            dist_across = (xx - center[0]) * normal[0] + (yy - center[1]) * normal[1]
            offset = r * 0.9
            plate = (np.abs(dist_along) < half_len) & (np.abs(dist_across - offset) < max(2.0, 0.25 * r))
            image[plate] = 1.0
            for k in np.linspace(-0.8, 0.8, 4):
                screw_c = center + direction * k * half_len
                along = (xx - screw_c[0]) * direction[0] + (yy - screw_c[1]) * direction[1]
                across = (xx - screw_c[0]) * normal[0] + (yy - screw_c[1]) * normal[1]
                screw = (np.abs(along) < max(1.2, 0.12 * r)) & (across > -r * 1.1) & (across < offset + 2)
                image[screw] = 1.0
            extent = half_len * np.abs(direction) + (offset + r * 1.2) * np.abs(normal)
        else:
            dist_across_line = (xx - center[0]) * direction[0] + (yy - center[1]) * direction[1]
            wobble = 2.0 * np.sin((xx * normal[0] + yy * normal[1]) / 4.0)
            # a dark, slightly jagged gap through the whole bone, wide enough to survive the
            # downscaling to the network's input (a few pixels at 224 px)
            gap = np.abs(dist_across_line + wobble) < max(2.5, 0.14 * r)
            within = _segment_distance(xx, yy, a, b) < r * 1.05
            image[gap & within] = 0.10 + 0.2 * tissue[gap & within]
            extent = (r * 1.3) * np.abs(normal) + (r * 0.5 + 4) * np.abs(direction)
        x0, y0 = np.floor(center - extent).astype(int)
        x1, y1 = np.ceil(center + extent).astype(int)
        bbox = (max(0, x0), max(0, y0), min(cols - 1, x1), min(rows - 1, y1))
    image = image + rng.normal(0, 0.02, size=image.shape).astype(np.float32)
    return Phantom(np.clip(image, 0, 1).astype(np.float32), study_type, finding, bbox)

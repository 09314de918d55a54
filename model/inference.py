"""Inference engine: device, precision and batching around a loaded checkpoint.

Callers hand over decoded images (2-D floats in [0, 1], bone bright) and get one probability and
one class activation map per image. Preprocessing is the shared :func:`preprocess_image`, with the
image size and normalisation stored in the checkpoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model.checkpoint import LoadedCheckpoint
from model.devices import autocast_dtype, describe, select_device, select_precision
from model.preprocessing import Normalization, preprocess_image


@dataclass(frozen=True)
class ViewPrediction:
    probability: float
    #: Class activation map at feature resolution (e.g. 7 x 7 for 224 px input), in logit units.
    cam: np.ndarray


class InferenceEngine:
    def __init__(
        self, checkpoint: LoadedCheckpoint, device: str = "auto", precision: str = "auto", batch_size: int = 8
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.checkpoint = checkpoint
        self.device = select_device(device)
        self.precision = select_precision(precision, self.device)
        self.batch_size = batch_size
        self.network = checkpoint.network.to(self.device).eval()
        self._normalization = Normalization.from_dict(checkpoint.metadata.normalization)

    @property
    def description(self) -> str:
        """E.g. ``DenseNet-169 - cuda:0 - bf16``, for status bars and logs."""
        return f"{self.checkpoint.metadata.name} - {describe(self.device)} - {self.precision}"

    @property
    def threshold(self) -> float:
        return float(self.checkpoint.metadata.threshold)

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        return preprocess_image(image, self.checkpoint.metadata.image_size, self._normalization)

    @torch.inference_mode()
    def predict_tensors(self, batch: torch.Tensor) -> list[ViewPrediction]:
        dtype = autocast_dtype(self.precision)
        autocast = (
            torch.autocast(device_type=self.device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        )
        with autocast:
            logits, cams = self.network(batch.to(self.device, non_blocking=True))
        probabilities = torch.sigmoid(logits.float()).cpu().numpy()
        cams_np = cams.float().cpu().numpy()
        return [ViewPrediction(float(p), c) for p, c in zip(probabilities, cams_np, strict=True)]

    def predict(self, images: Sequence[np.ndarray]) -> list[ViewPrediction]:
        """Score images in batches of ``batch_size``."""
        results: list[ViewPrediction] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            results.extend(self.predict_tensors(torch.stack([self.prepare(img) for img in chunk])))
        return results


def upsample_cam(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Scale a CAM to an image's ``(rows, cols)`` and map it to [0, 1] for display.

    The network saw the image stretched to a square, so stretching the map back to the original
    shape (not letter-boxing it) keeps it aligned with the anatomy, also for non-square images.
    """
    tensor = torch.as_tensor(np.asarray(cam, dtype=np.float32))[None, None]
    up = F.interpolate(tensor, size=shape, mode="bilinear", align_corners=False)[0, 0].numpy()
    low, high = float(up.min()), float(up.max())
    return (up - low) / (high - low) if high > low else np.zeros(shape, dtype=np.float32)

"""The one preprocessing function shared by training and inference.

Both the trainer and the app call :func:`preprocess_image`, so an image can never be prepared one
way for training and another way for scoring. Input is a greyscale image as floats in [0, 1] with
bone bright (what :mod:`triage_app.dicom_decode` and the MURA PNG loader produce); output is the
normalised 3-channel tensor DenseNet expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
DEFAULT_IMAGE_SIZE = 224


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and std applied after scaling to [0, 1]; stored in every checkpoint."""

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def as_dict(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Normalization:
        mean, std = data["mean"], data["std"]
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"normalization needs 3 means and 3 positive stds, got {data!r}")
        return cls(tuple(float(m) for m in mean), tuple(float(s) for s in std))  # type: ignore[arg-type]


IMAGENET = Normalization()


def preprocess_image(
    image: np.ndarray | torch.Tensor,
    image_size: int = DEFAULT_IMAGE_SIZE,
    normalization: Normalization = IMAGENET,
) -> torch.Tensor:
    """Turn a 2-D image in [0, 1] (bone bright) into a normalised ``3 x S x S`` float tensor.

    The image is scaled to ``image_size`` squared without keeping the aspect ratio, as in the MURA
    paper; the class activation map is later scaled back the same way, so it stays aligned with the
    original image. Anti-aliasing avoids moire on the large (2-4k pixel) radiographs.
    """
    tensor = torch.as_tensor(np.asarray(image, dtype=np.float32)) if isinstance(image, np.ndarray) else image
    if tensor.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale image, got shape {tuple(tensor.shape)}")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32, got {image_size}")
    tensor = tensor.to(torch.float32).clamp(0.0, 1.0)[None, None]
    if tensor.shape[-2:] != (image_size, image_size):
        tensor = F.interpolate(
            tensor, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True
        )
    tensor = tensor[0].expand(3, -1, -1)
    mean = torch.tensor(normalization.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(normalization.std, dtype=torch.float32).view(3, 1, 1)
    return ((tensor - mean) / std).contiguous()

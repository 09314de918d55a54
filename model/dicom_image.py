"""One decode path from a DICOM dataset to greyscale float images in [0, 1] with bone bright.

Used by the app (ingest validation, scoring, viewer) and the trainer (site DICOM datasets), so the
model sees the same pixels in both. The order matters and follows PS3.3 C.11: modality LUT
(rescale) -> VOI LUT or window (or a robust range when the file has none) -> MONOCHROME1 inversion.
Inverting earlier would flip the window and give the wrong polarity.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.uid import JPEGExtended12Bit

#: Percentiles used when a file carries no window: robust to a few hot pixels and collimator edges.
ROBUST_PERCENTILES = (0.5, 99.5)


class DecodeError(ValueError):
    """Pixel data that cannot be turned into an image; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def check_image_geometry(ds: Dataset) -> None:
    """Reject what is not a 2-D image (or a stack of 2-D frames) before any decoding work."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DecodeError("no_pixel_data", "the file has no pixel data (not an image)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows < 16 or cols < 16:
        raise DecodeError("not_2d", f"not a 2-D image: {rows} x {cols} pixels")
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if samples not in (1, 3):
        raise DecodeError("not_2d", f"unsupported samples per pixel: {samples}")


def decode_frames(ds: Dataset) -> list[np.ndarray]:
    """Return every frame as a float32 ``rows x cols`` array in [0, 1], bone bright."""
    check_image_geometry(ds)
    try:
        pixels = ds.pixel_array
    except (NotImplementedError, RuntimeError, ValueError, OSError, EOFError, AttributeError, KeyError,
            IndexError) as exc:
        raise DecodeError("undecodable", _decode_failure(ds, exc)) from exc
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frames = pixels if frame_count(ds) > 1 else pixels[None]
    expected_ndim = 4 if samples == 3 else 3
    if frames.ndim != expected_ndim:
        raise DecodeError("not_2d", f"unexpected pixel array shape {pixels.shape}")
    if ds.get("PhotometricInterpretation") == "PALETTE COLOR":
        frames = np.stack([apply_color_lut(frame, ds) for frame in frames])
        samples = 3
    return [_to_display(ds, frame, samples) for frame in frames]


def _decode_failure(ds: Dataset, exc: Exception) -> str:
    syntax = ds.file_meta.TransferSyntaxUID if "TransferSyntaxUID" in ds.file_meta else None
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if syntax == JPEGExtended12Bit and int(ds.get("BitsStored", 8) or 8) > 8:
        return (f"12-bit JPEG Extended needs the GPL-licensed libjpeg plugin "
                f"(pip install 'mura-triage[gpl-codecs]'): {message}")
    name = syntax.name if syntax is not None else "unknown transfer syntax"
    return f"pixel data ({name}) cannot be decoded: {message}"


def _to_display(ds: Dataset, frame: np.ndarray, samples: int) -> np.ndarray:
    if samples == 3:
        # pydicom already converted YBR to RGB; luminance keeps the radiograph's contrast.
        grey = frame[..., 0] * 0.299 + frame[..., 1] * 0.587 + frame[..., 2] * 0.114
        top = float(2 ** int(ds.get("BitsStored", 8)) - 1) if ds.get(
            "PhotometricInterpretation") != "PALETTE COLOR" else float(frame.max() or 1)
        return np.clip(grey.astype(np.float32) / top, 0.0, 1.0)
    values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
    if "VOILUTSequence" in ds:
        image = _apply_voi_lut_sequence(ds, values)
    elif ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        image = _apply_window(ds, values)
    else:
        image = _robust_range(values)
    if ds.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        image = 1.0 - image
    return np.ascontiguousarray(image, dtype=np.float32)


def _first(value: object) -> float:
    if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, str)):
        value = next(iter(value))  # type: ignore[arg-type]
    return float(value)  # type: ignore[arg-type]


def _apply_window(ds: Dataset, values: np.ndarray) -> np.ndarray:
    """Linear / linear-exact / sigmoid window of PS3.3 C.11.2.1.2, output scaled to [0, 1]."""
    center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if width <= 0 or (function == "LINEAR" and width < 1):
        return _robust_range(values)  # a nonsensical window: do not show a black or white image
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / width + 0.5, 0.0, 1.0)
    if width == 1:
        return (values > center - 0.5).astype(np.float64)
    return np.clip((values - (center - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0)


def _apply_voi_lut_sequence(ds: Dataset, values: np.ndarray) -> np.ndarray:
    item = ds.VOILUTSequence[0]
    descriptor = item.LUTDescriptor
    out = apply_voi_lut(values.astype(np.int64) if np.allclose(values, np.round(values)) else values, ds,
                        prefer_lut=True)
    bits = int(descriptor[2]) if len(descriptor) > 2 else 16
    top = float(2**bits - 1) if bits > 0 else float(np.max(out) or 1.0)
    return np.clip(np.asarray(out, dtype=np.float64) / top, 0.0, 1.0)


def _robust_range(values: np.ndarray) -> np.ndarray:
    low, high = np.percentile(values, ROBUST_PERCENTILES)
    if high <= low:
        high = low + 1.0
    return np.clip((values - low) / (high - low), 0.0, 1.0)

"""Pick the compute device and precision: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "mps")


def select_device(requested: str = "auto") -> torch.device:
    """Return the device to run on; ``auto`` prefers CUDA, then MPS, then CPU.

    Asking explicitly for an accelerator that is not there is an error rather than a silent fallback,
    so a site that configured ``cuda`` notices a broken driver.
    """
    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise ValueError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but CUDA is not available (driver missing?)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device 'mps' requested but Apple MPS is not available")
    return device


def select_precision(requested: str, device: torch.device) -> str:
    """``auto`` means bf16 on CUDA GPUs that support it, fp16 on MPS, fp32 on CPU."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "mps":
        return "fp16"
    return "fp32"


def autocast_dtype(precision: str) -> torch.dtype | None:
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def describe(device: torch.device) -> str:
    """A short human label, e.g. ``cuda:0`` or ``cpu``."""
    if device.type == "cuda":
        return f"cuda:{device.index or 0}"
    return device.type

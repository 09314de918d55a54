"""The checkpoint format: weights plus the metadata the app needs to use them correctly.

A checkpoint is a plain dictionary of tensors and JSON-like values written with ``torch.save`` and
read with ``torch.load(weights_only=True)``, so opening a file from elsewhere can never execute
code. The metadata travels with the weights so inference reproduces training: image size,
normalisation and threshold are read from the file, not assumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from model.network import ARCHITECTURE, TriageNet, build_network
from model.preprocessing import DEFAULT_IMAGE_SIZE, Normalization
from model.study_types import STUDY_TYPES

FORMAT_NAME = "mura-triage-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable MURA Triage checkpoint; the message says why."""


@dataclass
class CheckpointMetadata:
    architecture: str = ARCHITECTURE
    image_size: int = DEFAULT_IMAGE_SIZE
    normalization: dict[str, list[float]] = field(default_factory=lambda: Normalization().as_dict())
    threshold: float = 0.5
    study_types: list[str] = field(default_factory=lambda: list(STUDY_TYPES))
    name: str = "DenseNet-169"
    #: How the weights came about: init, data source and counts, recipe, epoch, metrics, code version.
    training: dict[str, Any] = field(default_factory=dict)
    #: True for models trained on synthetic phantoms only; the app shows a banner for them.
    demo: bool = False
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def validate(self) -> None:
        if self.architecture != ARCHITECTURE:
            raise CheckpointError(f"unsupported architecture {self.architecture!r} (expected {ARCHITECTURE})")
        if not 32 <= int(self.image_size) <= 2048:
            raise CheckpointError(f"image_size {self.image_size} out of range")
        if not 0.0 < float(self.threshold) < 1.0:
            raise CheckpointError(f"threshold {self.threshold} must lie strictly between 0 and 1")
        try:
            Normalization.from_dict(self.normalization)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"bad normalization: {exc}") from exc


@dataclass
class LoadedCheckpoint:
    network: TriageNet
    metadata: CheckpointMetadata
    #: Short content hash of the weights: identifies which model scored a view.
    version: str
    path: Path
    #: Anything else the file carries (optimizer state for resuming, etc.).
    extra: dict[str, Any]


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        digest.update(key.encode())
        digest.update(state_dict[key].detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:12]


def save_checkpoint(
    path: str | os.PathLike[str],
    network: TriageNet,
    metadata: CheckpointMetadata,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write atomically (temporary file + rename) so a crash never leaves a half-written model."""
    metadata.validate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        # JSON text keeps the metadata to plain types that weights_only loading accepts.
        "metadata": json.dumps(asdict(metadata)),
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
    }
    if extra:
        payload["extra"] = extra
    fd, tmp = tempfile.mkstemp(prefix="ckpt-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_initial_checkpoint(path: str | os.PathLike[str], init: str = "none", seed: int = 0,
                             name: str = "DenseNet-169") -> Path:
    """A checkpoint with initial weights only (random or ImageNet, see :func:`build_network`), not
    trained for abnormality: what ``mura-triage model init`` writes and the self-test scores with."""
    metadata = CheckpointMetadata(name=name, training={"init": init, "seed": seed, "trained": False,
                                                       "note": "initial weights only; not trained for abnormality"})
    return save_checkpoint(path, build_network(init, seed=seed), metadata)


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Load and check a checkpoint; raises :class:`CheckpointError` with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, unsafe globals ...
        raise CheckpointError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a MURA Triage checkpoint (use `mura-triage model init`)")
    if int(payload.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer MURA Triage (format {payload['format_version']})")
    try:
        raw = json.loads(payload["metadata"])
        known = {f for f in CheckpointMetadata.__dataclass_fields__}
        metadata = CheckpointMetadata(**{k: v for k, v in raw.items() if k in known})
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has unreadable metadata: {exc}") from exc
    metadata.validate()
    network = TriageNet()
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no weights")
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} weights do not fit DenseNet-169: {str(exc).splitlines()[0]}") from exc
    network.eval()
    return LoadedCheckpoint(network, metadata, weights_digest(state), path, payload.get("extra", {}))

"""DenseNet-169 with one abnormality logit and its class activation map (CAM).

The CAM comes out of the same forward pass as the logit: torchvision's DenseNet applies a final
ReLU to ``features`` and then global average pooling and the linear classifier. Because pooling and
the linear layer commute, ``logit = mean_{h,w}(M) + b`` with ``M = sum_k w_k f_k`` — so the map we
return is exactly what the score is made of, not a separate approximation.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import densenet169

ARCHITECTURE = "densenet169"
#: torchvision's file name for its ImageNet DenseNet-169 weights (IMAGENET1K_V1).
IMAGENET_WEIGHTS_FILE = "densenet169-b2777c0a.pth"


class NetworkOutput(NamedTuple):
    logits: torch.Tensor  # (B,)
    cams: torch.Tensor  # (B, h, w) in logit units, before the bias


class TriageNet(nn.Module):
    """DenseNet-169 whose classifier is a single logit for p(abnormal)."""

    def __init__(self) -> None:
        super().__init__()
        backbone = densenet169(weights=None)
        self.features = backbone.features
        self.classifier = nn.Linear(backbone.classifier.in_features, 1)

    def forward(self, images: torch.Tensor) -> NetworkOutput:
        feature_maps = F.relu(self.features(images))
        pooled = torch.flatten(F.adaptive_avg_pool2d(feature_maps, 1), 1)
        logits = self.classifier(pooled).squeeze(1)
        weights = self.classifier.weight[0].to(feature_maps.dtype)
        cams = torch.einsum("bkhw,k->bhw", feature_maps, weights)
        return NetworkOutput(logits, cams)


def build_network(init: str = "none", seed: int | None = None) -> TriageNet:
    """Create the network: ``init`` is ``none`` (random), ``imagenet`` (local torchvision cache), a
    path to a torchvision-style DenseNet-169 state dict, or an app checkpoint (every weight, the
    classifier included: a site fine-tunes the model it already runs). Nothing is downloaded."""
    if seed is not None:
        torch.manual_seed(seed)
    net = TriageNet()
    if init == "none":
        return net
    weights_path = find_imagenet_weights() if init == "imagenet" else Path(init)
    if not weights_path.is_file():
        raise FileNotFoundError(f"initial weights file not found: {weights_path}")
    load_backbone_weights(net, weights_path)
    return net


def find_imagenet_weights() -> Path:
    """Locate torchvision's ImageNet weights in the hub cache, or explain which file to provide."""
    hub_dir = Path(torch.hub.get_dir())  # honours $TORCH_HOME, default ~/.cache/torch/hub
    candidate = hub_dir / "checkpoints" / IMAGENET_WEIGHTS_FILE
    if not candidate.is_file():
        raise FileNotFoundError(
            f"ImageNet weights are not in the local torch hub cache; nothing is downloaded. "
            f"Copy {IMAGENET_WEIGHTS_FILE} to {candidate} or pass --init PATH"
        )
    return candidate


def load_backbone_weights(net: TriageNet, path: Path) -> None:
    """Load a torchvision DenseNet-169 state dict (ImageNet classifier dropped) without executing code."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    from model.checkpoint import FORMAT_NAME  # here: model.checkpoint imports this module

    if isinstance(state, dict) and state.get("format") == FORMAT_NAME:
        net.load_state_dict(state["state_dict"])  # an app checkpoint: same network, classifier too
        return
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    # Old torchvision checkpoints name layers "norm.1" where modules say "norm1".
    renamed = {}
    for key, value in state.items():
        for old, new in ((".norm.1", ".norm1"), (".relu.1", ".relu1"), (".conv.1", ".conv1"),
                         (".norm.2", ".norm2"), (".relu.2", ".relu2"), (".conv.2", ".conv2")):
            key = key.replace(old, new)
        renamed[key] = value
    features = {k.removeprefix("features."): v for k, v in renamed.items() if k.startswith("features.")}
    if not features:
        raise ValueError(f"{path} holds no DenseNet 'features.*' weights")
    missing, unexpected = net.features.load_state_dict(features, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match DenseNet-169: {len(missing)} missing, {len(unexpected)} unexpected keys"
        )

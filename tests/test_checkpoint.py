from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from model.checkpoint import CheckpointError, CheckpointMetadata, load_checkpoint, save_checkpoint
from model.network import build_network, find_imagenet_weights


def test_round_trip_keeps_weights_and_metadata(tmp_path: Path) -> None:
    net = build_network("none", seed=3)
    meta = CheckpointMetadata(threshold=0.4, image_size=320, training={"epochs": 2}, demo=True)
    path = save_checkpoint(tmp_path / "m.ckpt", net, meta)
    loaded = load_checkpoint(path)
    assert loaded.metadata.threshold == 0.4 and loaded.metadata.image_size == 320 and loaded.metadata.demo
    assert loaded.metadata.training == {"epochs": 2}
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value)
    assert len(loaded.version) == 12
    assert load_checkpoint(path).version == loaded.version
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_loading_never_executes_code(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.ckpt"
    with path.open("wb") as handle:
        torch.save({"format": "mura-triage-checkpoint", "payload": _Exploit()}, handle)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not (tmp_path / "PWNED").exists()


def test_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.ckpt")
    (tmp_path / "text.ckpt").write_text("hello")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "text.ckpt")
    torch.save({"something": 1}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not a MURA Triage checkpoint"):
        load_checkpoint(tmp_path / "other.ckpt")


def test_imagenet_init_is_offline_and_says_which_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(FileNotFoundError, match=r"densenet169-b2777c0a\.pth"):
        find_imagenet_weights()
    # a torchvision-style state dict in the hub cache is found and loaded (old "norm.1" names too)
    from torchvision.models import densenet169

    state = densenet169(weights=None).state_dict()
    state = {k.replace("norm1", "norm.1"): v for k, v in state.items()}
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / "densenet169-b2777c0a.pth")
    net = build_network("imagenet")
    assert torch.equal(net.features.conv0.weight, state["features.conv0.weight"])


def test_an_app_checkpoint_initialises_every_weight_for_fine_tuning(tmp_path: Path) -> None:
    trained = build_network("none", seed=5)
    path = save_checkpoint(tmp_path / "site.ckpt", trained, CheckpointMetadata())
    fine_tune_start = build_network(str(path), seed=9)  # another seed: weights must come from the file
    for key, value in trained.state_dict().items():
        assert torch.equal(fine_tune_start.state_dict()[key], value), key

"""Training images/s on this machine: fp32 (baseline) beside bf16 and fp16 autocast, same run.

Runs the trainer's own ``train_one_epoch`` (weighted BCE, Adam) on phantom images for a few batches
per precision. ``python benchmarks/training_throughput.py [--image-size 224] [--batches 6] [--json F]``
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from _output import emit  # benchmarks/_output.py, beside this script

from model.datasets import ViewDataset, load_mura, type_weights
from model.devices import describe, select_device
from model.distributed import DistributedContext, GlobalBatchSampler
from model.network import build_network
from model.phantom_datasets import write_mura_dataset
from model.training import train_one_epoch


def measure(records, precision: str, image_size: int, batches: int, device: torch.device) -> float:
    weights = type_weights(records)
    dataset = ViewDataset(records, weights, image_size, augment=True)
    context = DistributedContext()
    sampler = GlobalBatchSampler(len(dataset), 8, context, seed=0)
    # pre-decode so the figure is the network's, not the PNG reader's
    loader = [(torch.stack([dataset[i][0] for i in b]), torch.stack([dataset[i][1] for i in b]),
               torch.stack([dataset[i][2] for i in b]), torch.tensor(b)) for b in list(sampler)[: batches + 1]]
    network = build_network("none", seed=0).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-4)
    train_one_epoch(network, loader[:1], optimizer, device, precision, 0, context, False, lambda: False)  # warm-up
    started = time.perf_counter()
    train_one_epoch(network, loader[1:], optimizer, device, precision, 0, context, False, lambda: False)
    return 8 * batches / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        write_mura_dataset(Path(tmp), 30, seed=1)
        records = load_mura(Path(tmp) / "MURA-v1.1", "train")
        figures = {p: round(measure(records, p, args.image_size, args.batches, device), 2) for p in args.precisions}
    result = {"device": describe(device), "cpu": platform.processor() or platform.machine(),
              "threads": torch.get_num_threads(), "image_size": args.image_size, "batch_size": 8,
              "train_images_per_s": figures, "baseline": "fp32"}
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

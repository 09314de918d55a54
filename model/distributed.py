"""One process or many (torchrun): environment, batches, batch norm and gathering.

``torchrun`` sets RANK / WORLD_SIZE / LOCAL_RANK; :func:`init_distributed` reads them once. The
global minibatch (the paper's 8) is split evenly across ranks, batch-norm statistics are computed
over the global batch, and augmentation is seeded per image, so N processes train the same model as
one process would (up to floating-point summation order).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
from torch import nn


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistributedContext:
    """Join the process group when started by torchrun (NCCL on GPUs, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    return DistributedContext(rank, world_size, local_rank)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class GlobalBatchSampler(torch.utils.data.Sampler[list[int]]):
    """This rank's share of each global minibatch of a seeded permutation.

    An incomplete last global batch is dropped (at most ``global_batch - 1`` images per epoch, a
    different set each epoch), so every rank takes part in every step with the same count.
    """

    def __init__(self, length: int, global_batch: int, context: DistributedContext, seed: int) -> None:
        if global_batch % context.world_size:
            raise ValueError(f"--batch-size {global_batch} must be divisible by the {context.world_size} processes")
        if length < global_batch:
            raise ValueError(f"the training split has {length} images, fewer than one batch of {global_batch}")
        self.length = length
        self.global_batch = global_batch
        self.context = context
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length // self.global_batch

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.length, generator=generator).tolist()
        share = self.global_batch // self.context.world_size
        for start in range(0, len(self) * self.global_batch, self.global_batch):
            batch = order[start : start + self.global_batch]
            yield batch[self.context.rank * share : (self.context.rank + 1) * share]


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics cover the global batch on every backend.

    torch's SyncBatchNorm only runs on GPUs; this one reduces sums with autograd-aware all_reduce,
    so it also works with gloo on CPUs. Outside distributed training it is a plain BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        channels = x.shape[1]
        count = torch.tensor([x.shape[0] * x.shape[2] * x.shape[3]], dtype=x.dtype, device=x.device)
        totals = dist_nn.all_reduce(torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), count]))
        n = totals[2 * channels]
        mean = totals[:channels] / n
        var = (totals[channels : 2 * channels] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
            self.running_var.mul_(1 - momentum).add_(momentum * var.detach() * n / max(float(n) - 1, 1.0))
        shape = (1, channels, 1, 1)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return out * self.weight.view(shape) + self.bias.view(shape)


def convert_batchnorm(module: nn.Module, device_type: str) -> nn.Module:
    """Global-batch statistics: torch's SyncBatchNorm on GPUs, :class:`GlobalBatchNorm2d` elsewhere."""
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d) and not isinstance(child, GlobalBatchNorm2d):
            replacement = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                            child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            setattr(module, name, replacement)
        else:
            convert_batchnorm(child, device_type)
    return module


def gather_objects(obj: object, context: DistributedContext) -> list[object]:
    """Every rank's ``obj``, in rank order (just ``[obj]`` in a single process)."""
    if not context.enabled:
        return [obj]
    gathered: list[object] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def any_rank(flag: bool, context: DistributedContext, device: torch.device) -> bool:
    """True on every rank if it is True on any (e.g. Ctrl-C seen by one process)."""
    if not context.enabled:
        return flag
    tensor = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())

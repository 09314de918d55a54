"""``mura-triage train``: the MURA paper's recipe, on one process or many (torchrun).

Shaped like torchvision's reference script: a flat :func:`get_args_parser`, :func:`load_data`,
:func:`train_one_epoch`, :func:`evaluate` and :func:`main`. Only rank 0 writes files and progress.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from model.checkpoint import CheckpointError, CheckpointMetadata, load_checkpoint, save_checkpoint
from model.datasets import (
    DataError,
    ImageRecord,
    ViewDataset,
    check_split,
    dataset_summary,
    load_splits,
    type_weights,
)
from model.devices import autocast_dtype, describe, select_device
from model.distributed import (
    DistributedContext,
    GlobalBatchSampler,
    any_rank,
    convert_batchnorm,
    gather_objects,
    init_distributed,
    shutdown_distributed,
)
from model.metrics import study_level_report
from model.network import TriageNet, build_network
from model.report import write_report
from model.study_types import STUDY_TYPES

CODE_VERSION = "mura-triage-trainer/1"
#: Options that say where and how to run, not how the model was trained.
NOT_RECIPE = frozenset({"data", "out", "resume", "no_progress", "command", "home", "verbose", "demo", "model_name",
                        "gui_inbox", "gui_checkpoint"})


def get_args_parser(add_help: bool = True, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(description="Train DenseNet-169 with the MURA recipe", add_help=add_help)
    p.add_argument("--data", help="MURA-v1.1 folder, or a site folder of DICOM files with labels.csv")
    p.add_argument("--out", help="output folder (best.ckpt, last.ckpt, metrics.jsonl, report.*)")
    p.add_argument("--resume", help="continue from DIR/last.ckpt (data and recipe come from it)")
    p.add_argument("--init", default="imagenet", help="imagenet | none | FILE (default: imagenet, offline)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.999), metavar=("B1", "B2"))
    p.add_argument("--batch-size", type=int, default=8, help="global minibatch, split across processes")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--rotation", type=float, default=30.0, help="random rotation range in degrees")
    p.add_argument("--no-flip", action="store_true", help="disable random lateral inversion")
    p.add_argument("--lr-factor", type=float, default=0.1, help="ReduceLROnPlateau factor")
    p.add_argument("--lr-patience", type=int, default=0,
                   help="epochs without improvement before the lr drops (0 = after one plateau epoch)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--study-types", nargs="+", choices=STUDY_TYPES, metavar="TYPE",
                   help=f"train on a subset of {', '.join(STUDY_TYPES)}")
    p.add_argument("--val-fraction", type=float, default=0.2, help="site data: share of patients for validation")
    p.add_argument("--skip-missing", action="store_true", help="continue without images listed but missing")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--no-progress", action="store_true")
    return p


@dataclass
class Data:
    train: list[ImageRecord]
    valid: list[ImageRecord]
    kind: str
    weights: dict[str, tuple[float, float]]


def load_data(args: argparse.Namespace) -> Data:
    train, valid, kind = load_splits(Path(args.data), args.val_fraction, args.seed, args.study_types,
                                     args.skip_missing)
    check_split(train, "training")
    check_split(valid, "validation")
    return Data(train, valid, kind, type_weights(train))


def _autocast(device: torch.device, precision: str):  # type: ignore[no-untyped-def]
    dtype = autocast_dtype(precision)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def weighted_bce(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``-w_T1 y log p - w_T0 (1 - y) log(1 - p)`` per image (weights already chosen by label)."""
    return weights * F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="none")


def train_one_epoch(model: torch.nn.Module, loader: torch.utils.data.DataLoader, optimizer: torch.optim.Optimizer,
                    device: torch.device, precision: str, epoch: int, context: DistributedContext,
                    show_progress: bool, stop_requested,  # type: ignore[no-untyped-def]
                    on_batch=None) -> tuple[float, float]:
    """Returns (mean training loss over this rank's images, images per second over all ranks).

    ``on_batch(done, total)`` reports progress to a GUI; the terminal gets a tqdm bar."""
    model.train()
    total, count = 0.0, 0
    started = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1} train", unit="batch", disable=not show_progress, file=sys.stderr)
    for step, (images, labels, weights, _) in enumerate(bar, start=1):
        images, labels, weights = images.to(device), labels.to(device), weights.to(device)
        with _autocast(device, precision):
            logits, _cams = model(images)
        loss = weighted_bce(logits, labels, weights).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(labels)
        count += len(labels)
        rate = count * context.world_size / (time.perf_counter() - started)
        bar.set_postfix(loss=f"{total / count:.4f}", img_s=f"{rate:.1f}")
        if on_batch is not None:
            on_batch(step, len(loader))
        if any_rank(stop_requested(), context, device):
            raise KeyboardInterrupt
    elapsed = time.perf_counter() - started
    return total / max(count, 1), count * context.world_size / elapsed


@dataclass
class Evaluation:
    loss: float
    report: dict
    study_ids: list[str]
    study_types: list[str]
    labels: list[int]
    probabilities: list[float]
    view_probabilities: dict[int, float]


@torch.inference_mode()
def evaluate(model: torch.nn.Module, dataset: ViewDataset, device: torch.device, precision: str,
             context: DistributedContext, batch_size: int, workers: int, threshold: float,
             show_progress: bool = False) -> Evaluation:
    """Score every validation view (split across ranks), gather all ranks' results, and compute the
    weighted loss and study-level metrics on the full set, as one process would."""
    model.eval()
    indices = list(range(context.rank, len(dataset), context.world_size))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=batch_size,
                                         num_workers=workers)
    local: list[tuple[int, float, float]] = []
    for images, labels, weights, index in tqdm(loader, desc="validate", unit="batch", disable=not show_progress,
                                               file=sys.stderr):
        with _autocast(device, precision):
            logits, _ = model(images.to(device))
        losses = weighted_bce(logits.float().cpu(), labels, weights)
        probs = torch.sigmoid(logits.float()).cpu()
        local.extend(zip(index.tolist(), probs.tolist(), losses.tolist(), strict=True))
    results = sorted(item for part in gather_objects(local, context) for item in part)  # type: ignore[union-attr]
    views = {i: p for i, p, _ in results}
    loss = float(np.mean([view_loss for _, _, view_loss in results]))
    by_study: dict[str, list[float]] = defaultdict(list)
    for i, p in views.items():
        by_study[dataset.records[i].study_id].append(p)
    first = {r.study_id: r for r in reversed(dataset.records)}
    study_ids = sorted(by_study)
    study_types = [first[s].study_type for s in study_ids]
    labels = [first[s].label for s in study_ids]
    probabilities = [float(np.mean(by_study[s])) for s in study_ids]
    report = study_level_report(study_types, labels, probabilities, threshold)
    return Evaluation(loss, report, study_ids, study_types, labels, probabilities, views)


def _metadata(args: argparse.Namespace, data: Data, epoch: int, evaluation: Evaluation | None) -> CheckpointMetadata:
    training = {
        "code_version": CODE_VERSION,
        "data": {"kind": data.kind, "path": str(Path(args.data).resolve()),
                 "train": dataset_summary(data.train), "valid": dataset_summary(data.valid)},
        "recipe": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                   if k not in NOT_RECIPE},
        "type_weights": {t: list(w) for t, w in data.weights.items()},
        "epoch": epoch + 1,
        "trained": True,
    }
    if evaluation is not None:
        training["validation"] = {"loss": evaluation.loss, "overall": evaluation.report["overall"]}
    return CheckpointMetadata(
        image_size=args.image_size, threshold=args.threshold, training=training,
        study_types=sorted({r.study_type for r in data.train}),
        name=getattr(args, "model_name", "DenseNet-169"), demo=getattr(args, "demo", False),
    )


def _unwrap(model: torch.nn.Module) -> TriageNet:
    return model.module if isinstance(model, DistributedDataParallel) else model  # type: ignore[return-value]


def _resume_args(args: argparse.Namespace) -> tuple[argparse.Namespace, dict]:
    path = Path(args.resume) / "last.ckpt"
    try:
        loaded = load_checkpoint(path)
    except CheckpointError as exc:
        raise DataError(f"cannot resume: {exc}") from exc
    saved = dict(loaded.extra.get("args", {}))
    if not saved:
        raise DataError(f"{path} holds no training state (is it a best.ckpt?)")
    merged = argparse.Namespace(**{**vars(args), **saved})
    merged.epochs = args.epochs if args.epochs != get_args_parser().get_default("epochs") else saved["epochs"]
    merged.out = args.out or args.resume
    merged.resume = args.resume
    merged.no_progress = args.no_progress
    return merged, {"state": loaded, "extra": loaded.extra}


def main(args: argparse.Namespace, on_progress=None) -> int:  # type: ignore[no-untyped-def]
    """Train; returns 0, or 130 after Ctrl-C (last.ckpt saved).

    ``on_progress(done, total)`` counts training batches over all epochs (for the demo's progress bar)."""
    resume_state = None
    if args.resume:
        args, resume_state = _resume_args(args)
    if not args.data or not args.out:
        raise DataError("--data and --out are required (or --resume DIR)")
    device = select_device(args.device)
    context = init_distributed(device.type)
    if context.enabled and device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
    try:
        return _train(args, device, context, resume_state, on_progress)
    finally:
        shutdown_distributed()


def _train(args: argparse.Namespace, device: torch.device, context: DistributedContext,
           resume_state: dict | None, on_progress=None) -> int:  # type: ignore[no-untyped-def]
    out = Path(args.out)
    show = context.is_main and not args.no_progress
    data = load_data(args)
    torch.manual_seed(args.seed)
    if resume_state is not None:
        network: TriageNet = resume_state["state"].network
    else:
        network = build_network(args.init, seed=args.seed)
    network = network.to(device)
    model: torch.nn.Module = network
    if context.enabled:
        model = DistributedDataParallel(convert_batchnorm(network, device.type),
                                        device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=tuple(args.betas))
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=args.lr_factor,
                                                           patience=args.lr_patience)
    start_epoch, best_loss = 0, math.inf
    if resume_state is not None:
        extra = resume_state["extra"]
        optimizer.load_state_dict(extra["optimizer"])
        scheduler.load_state_dict(extra["scheduler"])
        start_epoch, best_loss = int(extra["epoch"]) + 1, float(extra["best_val_loss"])
    train_set = ViewDataset(data.train, data.weights, args.image_size, augment=True, flip=not args.no_flip,
                            rotation=args.rotation, seed=args.seed)
    valid_set = ViewDataset(data.valid, data.weights, args.image_size)
    sampler = GlobalBatchSampler(len(train_set), args.batch_size, context, args.seed)
    loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    if context.is_main:
        out.mkdir(parents=True, exist_ok=True)
        print(f"training on {describe(device)} x {context.world_size} ({args.precision}); "
              f"{len(data.train)} train / {len(data.valid)} valid images ({data.kind})", file=sys.stderr)
    interrupted = {"flag": False}

    def _on_sigint(_signum: int, _frame: object) -> None:
        interrupted["flag"] = True

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if in_main_thread else None
    completed = start_epoch - 1  # last epoch whose training and validation finished
    best_eval: Evaluation | None = None
    try:
        for epoch in range(start_epoch, args.epochs):
            sampler.set_epoch(epoch)
            train_set.set_epoch(epoch)
            started = time.perf_counter()
            on_batch = None
            if on_progress is not None:
                def on_batch(done: int, total: int, epoch: int = epoch) -> None:
                    on_progress((epoch - start_epoch) * total + done, (args.epochs - start_epoch) * total)
            train_loss, images_per_s = train_one_epoch(model, loader, optimizer, device, args.precision, epoch,
                                                       context, show, lambda: interrupted["flag"], on_batch)
            evaluation = evaluate(model, valid_set, device, args.precision, context, args.batch_size,
                                  args.workers, args.threshold, show)
            scheduler.step(evaluation.loss)
            improved = evaluation.loss < best_loss
            if improved:
                best_loss, best_eval = evaluation.loss, evaluation
            if context.is_main:
                row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": evaluation.loss,
                       "lr": optimizer.param_groups[0]["lr"], "kappa": evaluation.report["overall"]["kappa"],
                       "auroc": evaluation.report["overall"]["auroc"], "train_images_per_s": images_per_s,
                       "seconds": time.perf_counter() - started, "best": improved}
                with (out / "metrics.jsonl").open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                if improved:
                    save_checkpoint(out / "best.ckpt", _unwrap(model), _metadata(args, data, epoch, evaluation))
                    _write_eval(out, evaluation)
                _save_last(out, model, optimizer, scheduler, args, data, epoch, best_loss)
            completed = epoch
            if context.is_main:
                print(f"epoch {epoch + 1}/{args.epochs}: train loss {train_loss:.4f}, val loss {evaluation.loss:.4f}, "
                      f"AUROC {row['auroc'] if row['auroc'] is None else round(row['auroc'], 4)}, "
                      f"{images_per_s:.1f} img/s{' (best)' if improved else ''}", file=sys.stderr)
    except KeyboardInterrupt:
        if context.is_main:
            _save_last(out, model, optimizer, scheduler, args, data, completed, best_loss)
            print(f"interrupted: saved {out / 'last.ckpt'} after epoch {completed + 1}; "
                  f"resume with --resume {out}", file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
    if context.is_main and best_eval is not None:
        write_report(out, best_eval.report, best_eval.labels, best_eval.probabilities, "MURA Triage validation")
    return 0


def _save_last(out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler, args, data: Data,
               epoch: int, best_loss: float) -> None:  # type: ignore[no-untyped-def]
    """``epoch`` is the last completed epoch (-1: none yet)."""
    extra = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "best_val_loss": best_loss,
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
    }
    save_checkpoint(out / "last.ckpt", _unwrap(model), _metadata(args, data, max(epoch, 0), None), extra)


def _write_eval(out: Path, evaluation: Evaluation) -> None:
    (out / "valid_predictions.json").write_text(json.dumps({
        "studies": [{"study": s, "study_type": t, "label": y, "probability": p} for s, t, y, p in
                    zip(evaluation.study_ids, evaluation.study_types, evaluation.labels, evaluation.probabilities,
                        strict=True)],
    }))


@dataclass
class CheckpointEvaluation:
    evaluation: Evaluation
    records: list[ImageRecord]
    network: TriageNet
    image_size: int


def evaluate_checkpoint(data: Path, checkpoint: Path, split: str = "valid", device: str = "auto",
                        batch_size: int = 8, workers: int = 0, val_fraction: float = 0.2, seed: int = 0,
                        study_types: Sequence[str] | None = None, skip_missing: bool = False
                        ) -> CheckpointEvaluation:
    """``mura-triage evaluate``: study-level metrics of a checkpoint on a split (threshold from the file)."""
    loaded = load_checkpoint(checkpoint)
    train, valid, _ = load_splits(data, val_fraction, seed, study_types, skip_missing, need_train=split == "train")
    records = train if split == "train" else valid
    if not records:
        raise DataError(f"the {split} split has no images")
    dev = select_device(device)
    dataset = ViewDataset(records, type_weights(train or records), loaded.metadata.image_size)
    evaluation = evaluate(loaded.network.to(dev), dataset, dev, "fp32", DistributedContext(), batch_size, workers,
                          loaded.metadata.threshold)
    return CheckpointEvaluation(evaluation, records, loaded.network.cpu(), loaded.metadata.image_size)

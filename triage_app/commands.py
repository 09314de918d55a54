"""Implementations of the ``mura-triage`` subcommands (argument parsing lives in :mod:`cli`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from triage_app import NOT_FOR_CLINICAL_USE
from triage_app.config import Home, open_home, resolve_home
from triage_app.logging_setup import setup_logging


def _error(message: str) -> Exception:
    from triage_app.cli import UserError

    return UserError(message)


def _open(args: argparse.Namespace, **overrides: Any) -> Home:
    root = resolve_home(args.home)
    if root.exists() and not root.is_dir():
        raise _error(f"--home {root} is not a folder")
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint:
        path = Path(checkpoint).expanduser().resolve()
        if not path.is_file():
            raise _error(f"checkpoint not found: {path}")
        overrides["checkpoint"] = str(path)
    for name in ("device", "precision", "batch_size"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    home = open_home(root, overrides)
    setup_logging(home.logs_dir, getattr(args, "verbose", False))
    return home


# -- the window -----------------------------------------------------------------------------------
def _require_display() -> None:
    """Qt aborts the process without a display; say so in one line instead."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise _error("no display to open the window on; run `mura-triage watch` (headless) or "
                     "`mura-triage demo --headless`")


def window(args: argparse.Namespace) -> int:
    """``mura-triage [--home DIR] [--inbox DIR] [--checkpoint PATH]``: open the triage window."""
    _require_display()
    overrides: dict[str, Any] = {}
    if args.gui_inbox:
        inbox = Path(args.gui_inbox).expanduser().resolve()
        if not inbox.is_dir():
            raise _error(f"inbox folder does not exist: {inbox}")
        overrides["inbox"] = str(inbox)
    args.checkpoint = args.gui_checkpoint
    home = _open(args, **overrides)
    from triage_app.gui.app import run_window

    return run_window(home)


# -- watch ----------------------------------------------------------------------------------------
def watch(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.inbox:
        inbox = Path(args.inbox).expanduser().resolve()
        if not inbox.is_dir():
            raise _error(f"inbox folder does not exist: {inbox}")
        overrides["inbox"] = str(inbox)
    if args.stable_seconds is not None:
        if args.stable_seconds < 0:
            raise _error("--stable-seconds must be >= 0")
        overrides["stable_seconds"] = args.stable_seconds
    home = _open(args, **overrides)
    from triage_app.pipeline import Pipeline  # imports torch: only once the options are known to be good

    pipeline = Pipeline(home)
    print(f"MURA Triage - {NOT_FOR_CLINICAL_USE}", file=sys.stderr)
    print(f"home {home.root}; watching {home.inbox_dir}", file=sys.stderr)
    if pipeline.inference:
        print(f"model: {pipeline.inference.description} (version {pipeline.checkpoint.version})", file=sys.stderr)
        if pipeline.checkpoint.metadata.demo:
            print("DEMO model - trained on synthetic data only", file=sys.stderr)
    else:
        print(pipeline.no_model_hint, file=sys.stderr)
    started = time.perf_counter()
    try:
        if args.once:
            done = pipeline.run_once(timeout=args.timeout)
            _print_summary(pipeline, time.perf_counter() - started)
            if not done:
                raise _error(f"--once gave up after {args.timeout:g} s with work still pending")
            return 0
        return _watch_forever(pipeline, started)
    finally:
        pipeline.close()


def _watch_forever(pipeline: Any, started: float) -> int:
    stop = threading.Event()

    def _handle(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    pipeline.start()
    try:
        last = ""
        while not stop.wait(5.0):
            line = _status_line(pipeline)
            if line != last:
                print(line, file=sys.stderr)
                last = line
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("stopping ...", file=sys.stderr)
        pipeline.stop()
        _print_summary(pipeline, time.perf_counter() - started)
    return 0


def _status_line(pipeline: Any) -> str:
    counts = pipeline.counts
    line = (f"stored {counts.stored}, duplicates {counts.duplicate}, quarantined {counts.quarantined}; "
            f"{pipeline.studies_receiving()} study(ies) receiving")
    if pipeline.scoring:
        line += (f"; {pipeline.views_pending()} view(s) to score, "
                 f"{pipeline.scoring.recent_views_per_second():.1f} views/s")
    return line


def _print_summary(pipeline: Any, seconds: float) -> None:
    counts = pipeline.counts
    summary = {
        "files_stored": counts.stored,
        "duplicates": counts.duplicate,
        "quarantined": counts.quarantined,
        "ingest_files_per_second": round(counts.files_per_second, 2),
        "seconds": round(seconds, 2),
    }
    if pipeline.scoring:
        stats = pipeline.scoring.stats
        summary.update(views_scored=stats.views_scored, views_failed=stats.views_failed,
                       scoring_views_per_second=round(stats.views_per_second, 2))
    print("summary: " + json.dumps(summary), file=sys.stderr)


# -- worklist -------------------------------------------------------------------------------------
def worklist(args: argparse.Namespace) -> int:
    from triage_app.db import make_engine, make_session_factory
    from triage_app.worklist import study_to_dict, view_counts
    from triage_app.worklist import worklist as query

    home = _open(args)
    engine = make_engine(home.db_path)
    try:
        with make_session_factory(engine)() as session:
            counts = view_counts(session)
            rows = [study_to_dict(s, counts.get(s.id, 0)) for s in query(session, limit=args.limit)]
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"# {NOT_FOR_CLINICAL_USE}")
    if not rows:
        print("(worklist is empty)")
    for rank, row in enumerate(rows, 1):
        flag = ("READ MANUALLY" if row["read_manually"] else
                "unscored" if row["probability"] is None else
                "ABNORMAL" if row["abnormal"] else "normal")
        probability = "   -  " if row["probability"] is None else f"{100 * row['probability']:5.1f}%"
        scope = "" if row["in_training_scope"] else " (outside training scope)"
        print(f"{rank:4d}  {flag:13s} {probability}  {row['study_type']:8s}{scope}  views {row['views']:2d}  "
              f"{row['status']:9s}  acc {row['accession_number'] or '-':12s}  pid {row['patient_id'] or '-'}  "
              f"{row['received_at']}")
    return 0


# -- quarantine -----------------------------------------------------------------------------------
def quarantine(args: argparse.Namespace) -> int:
    from triage_app.db import make_engine, make_session_factory
    from triage_app.quarantine import list_quarantined, quarantined_to_dict

    home = _open(args)
    engine = make_engine(home.db_path)
    try:
        with make_session_factory(engine)() as session:
            rows = [quarantined_to_dict(r, home.quarantine_dir) for r in list_quarantined(session)]
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("(quarantine is empty)")
    for row in rows:
        print(f"{row['quarantined_at']}  {row['reason_code']:13s} {row['original_name']}\n"
              f"    {row['reason']}\n    -> {row['path']}")
    return 0


# -- score ----------------------------------------------------------------------------------------
def _dicom_files(paths: list[str]) -> list[Path]:
    from triage_app.ingest import is_ignored

    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and not is_ignored(p.relative_to(path)))
        elif path.is_file():
            files.append(path)
        else:
            raise _error(f"no such file or folder: {path}")
    return files


def score(args: argparse.Namespace) -> int:
    from model.checkpoint import load_checkpoint
    from model.dicom_image import DecodeError, decode_frames
    from model.inference import InferenceEngine
    from triage_app.dicom_header import RejectedFile, parse_whole, read_header

    files = _dicom_files(args.paths)
    home = _open(args)
    checkpoint_path = home.checkpoint_path()
    if checkpoint_path is None:
        raise _error("no model: pass --checkpoint PATH or set [model] checkpoint in " + str(home.config_path))
    engine = InferenceEngine(load_checkpoint(checkpoint_path), home.settings.device, home.settings.precision,
                             home.settings.batch_size)
    threshold = home.settings.threshold if home.settings.threshold is not None else engine.threshold
    studies: dict[str, dict[str, Any]] = {}
    views: dict[str, list[dict[str, Any]]] = defaultdict(list)
    failures = 0
    for path in files:
        try:
            ds = parse_whole(path.read_bytes())
            header = read_header(ds)
            frames = decode_frames(ds)
        except (RejectedFile, DecodeError, OSError) as exc:
            failures += 1
            print(f"{path}: skipped: {exc}", file=sys.stderr)
            continue
        studies.setdefault(header.study_uid, {"study_type": header.study_type})
        predictions = engine.predict(frames)
        for index, prediction in enumerate(predictions):
            views[header.study_uid].append({
                "sop_instance_uid": header.sop_uid,
                "frame": index,
                "probability": round(prediction.probability, 6),
                "path": str(path),
            })
    for study_uid, info in studies.items():
        probabilities = [v["probability"] for v in views[study_uid]]
        probability = sum(probabilities) / len(probabilities)
        result = {
            "study_uid": study_uid,
            "study_type": info["study_type"],
            "probability": round(probability, 6),
            "abnormal": probability > threshold,
            "views": views[study_uid],
            "model_version": engine.checkpoint.version,
            "note": NOT_FOR_CLINICAL_USE,
        }
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{study_uid}  {info['study_type']:8s}  p(abnormal) {probability:.3f}  "
                  f"{'ABNORMAL' if result['abnormal'] else 'normal'}  ({len(probabilities)} view(s))")
    if not studies:
        raise _error(f"nothing could be scored ({failures} file(s) skipped)")
    return 0


# -- model ----------------------------------------------------------------------------------------
def model_command(args: argparse.Namespace) -> int:
    from model.checkpoint import CheckpointMetadata, load_checkpoint, save_checkpoint
    from model.network import build_network

    if args.model_command == "info":
        loaded = load_checkpoint(args.checkpoint)
        from dataclasses import asdict

        print(json.dumps({"version": loaded.version, **asdict(loaded.metadata)}, indent=2))
        return 0
    if args.model_command != "init":
        raise _error("choose a model action: init or info")
    out = Path(args.out).expanduser()
    try:
        network = build_network(args.init, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        raise _error(str(exc)) from None
    metadata = CheckpointMetadata(
        name=args.name,
        training={"init": args.init, "seed": args.seed, "trained": False,
                  "note": "initial weights only; not trained for abnormality"},
    )
    save_checkpoint(out, network, metadata)
    print(f"wrote {out} ({'untrained' if args.init == 'none' else args.init + ' init'}, seed {args.seed})")
    return 0


# -- phantoms and demo ----------------------------------------------------------------------------
def phantoms(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from model.phantom_datasets import write_dicom_dataset, write_mura_dataset

    out = Path(args.out).expanduser()
    writer = write_dicom_dataset if args.format == "dicom" else write_mura_dataset
    with tqdm(total=args.studies, unit="study", desc="phantoms", file=sys.stderr) as bar:
        try:
            writer(out, args.studies, args.abnormal_fraction, args.seed, progress=bar.update)
        except ValueError as exc:
            raise _error(str(exc)) from None
    print(f"wrote {args.studies} synthetic {args.format.upper()} studies to {out} (SYNTHETIC PHANTOMS)")
    return 0


def demo_home_root(args: argparse.Namespace) -> Path:
    from triage_app.config import default_home

    return resolve_home(args.home) if args.home else default_home() / "demo"


def demo(args: argparse.Namespace) -> int:
    from triage_app import demo as demo_core

    if not args.headless:
        _require_display()
    root = demo_home_root(args)
    home = open_home(root, dict(demo_core.DEMO_SETTINGS))
    setup_logging(home.logs_dir, getattr(args, "verbose", False))
    print(f"DEMO - synthetic data. {NOT_FOR_CLINICAL_USE}\nhome: {home.root}", file=sys.stderr)
    staging = demo_core.stage_demo_studies(home, args.studies, args.seed)
    if not args.headless:
        from triage_app.gui.app import run_demo

        return run_demo(home, staging, demo_core.needs_training(home),
                        lambda progress: demo_core.train_demo_model(home, progress))
    if demo_core.needs_training(home):
        print("training the demo model on synthetic phantoms (first run only, a few minutes) ...", file=sys.stderr)
        demo_core.train_demo_model(home)
    for study in sorted(staging.iterdir()):
        study.rename(home.inbox_dir / study.name)
    home = open_home(root, {**demo_core.DEMO_SETTINGS, "checkpoint": str(demo_core.demo_checkpoint(home))})
    from triage_app.pipeline import Pipeline

    pipeline = Pipeline(home)
    try:
        print(f"model: {pipeline.inference.description} - DEMO model (synthetic data)", file=sys.stderr)
        started = time.perf_counter()
        pipeline.run_once(timeout=1800)
        _print_summary(pipeline, time.perf_counter() - started)
    finally:
        pipeline.close()
    args.json, args.limit = False, None
    return worklist(args)


# -- train, evaluate, export ----------------------------------------------------------------------
def train(args: argparse.Namespace) -> int:
    from model.training import main as train_main

    setup_logging(None, getattr(args, "verbose", False))
    print(f"MURA Triage trainer - {NOT_FOR_CLINICAL_USE}", file=sys.stderr)
    try:
        return train_main(args)
    except (FileNotFoundError, ValueError) as exc:  # --init weights missing, bad batch split ...
        raise _error(str(exc).splitlines()[0]) from None


def evaluate(args: argparse.Namespace) -> int:
    from model.report import write_report
    from model.training import evaluate_checkpoint

    setup_logging(None, getattr(args, "verbose", False))
    checked = evaluate_checkpoint(Path(args.data), Path(args.checkpoint), args.split, args.device, args.batch_size,
                                  args.workers, args.val_fraction, args.seed, skip_missing=args.skip_missing)
    result = checked.evaluation
    output = {"overall": result.report["overall"], "by_study_type": result.report["by_study_type"],
              "threshold": result.report["threshold"], "loss": result.loss, "note": NOT_FOR_CLINICAL_USE}
    if args.findings:
        from model.localization import pointing_game, read_findings

        findings = Path(args.findings)
        if not findings.is_file():
            raise _error(f"findings file not found: {findings}")
        output["localization"] = pointing_game(checked.network, checked.records, read_findings(findings),
                                               findings.parent, checked.image_size)
    if args.out:
        write_report(Path(args.out), result.report, result.labels, result.probabilities,
                     f"MURA Triage evaluation ({args.split})")
    if args.json:
        print(json.dumps(output, indent=2))
        return 0
    from model.report import markdown_table

    print(f"# {NOT_FOR_CLINICAL_USE}\n{markdown_table(result.report)}")
    if "localization" in output:
        game = output["localization"]
        print(f"\nCAM pointing game: {game['hits']}/{game['images']} abnormal images "
              f"({game['pointing_game']}) with {game['tolerance_px_at_224']:g} px tolerance at 224 px")
    return 0


def export_dataset(args: argparse.Namespace) -> int:
    from triage_app.export import export_reads

    home = _open(args)
    count, images = export_reads(home, Path(args.out).expanduser())
    print(f"exported {count} read studies ({images} files) to {args.out} with labels.csv")
    return 0

"""The window and the headless pipeline commands: watch, worklist, quarantine, score, model."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from triage_app import NOT_FOR_CLINICAL_USE
from triage_app.commands.common import (
    inbox_override,
    open_home_for,
    print_summary,
    require_display,
    user_error,
)


# -- the window -----------------------------------------------------------------------------------
def window(args: argparse.Namespace) -> int:
    """``mura-triage [--home DIR] [--inbox DIR] [--checkpoint PATH]``: open the triage window."""
    require_display()
    overrides = inbox_override(args.gui_inbox)
    args.checkpoint = args.gui_checkpoint
    home = open_home_for(args, **overrides)
    from triage_app.gui.app import run_window

    if args.gui_quit_after is not None and args.gui_quit_after <= 0:
        raise user_error("--quit-after must be > 0")
    return run_window(home, quit_after=args.gui_quit_after)


# -- watch ----------------------------------------------------------------------------------------
def watch(args: argparse.Namespace) -> int:
    overrides = inbox_override(args.inbox)
    if args.stable_seconds is not None:
        if args.stable_seconds < 0:
            raise user_error("--stable-seconds must be >= 0")
        overrides["stable_seconds"] = args.stable_seconds
    home = open_home_for(args, **overrides)
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
            print_summary(pipeline, time.perf_counter() - started)
            if not done:
                raise user_error(f"--once gave up after {args.timeout:g} s with work still pending")
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
        print_summary(pipeline, time.perf_counter() - started)
    return 0


def _status_line(pipeline: Any) -> str:
    counts = pipeline.counts
    line = (f"stored {counts.stored}, duplicates {counts.duplicate}, quarantined {counts.quarantined}; "
            f"{pipeline.studies_receiving()} study(ies) receiving")
    if pipeline.scoring:
        line += (f"; {pipeline.views_pending()} view(s) to score, "
                 f"{pipeline.scoring.recent_views_per_second():.1f} views/s")
    return line


# -- worklist -------------------------------------------------------------------------------------
def worklist(args: argparse.Namespace) -> int:
    from triage_app.db import make_engine, make_session_factory
    from triage_app.worklist import study_to_dict, view_counts
    from triage_app.worklist import worklist as query

    home = open_home_for(args)
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

    home = open_home_for(args)
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
            raise user_error(f"no such file or folder: {path}")
    return files


def score(args: argparse.Namespace) -> int:
    from model.checkpoint import load_checkpoint
    from model.dicom_image import DecodeError, decode_frames
    from model.inference import InferenceEngine
    from triage_app.dicom_header import RejectedFile, parse_whole, read_header

    files = _dicom_files(args.paths)
    home = open_home_for(args)
    checkpoint_path = home.checkpoint_path()
    if checkpoint_path is None:
        raise user_error("no model: pass --checkpoint PATH or set [model] checkpoint in " + str(home.config_path))
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
        raise user_error(f"nothing could be scored ({failures} file(s) skipped)")
    return 0


# -- model ----------------------------------------------------------------------------------------
def model_command(args: argparse.Namespace) -> int:
    from model.checkpoint import load_checkpoint, write_initial_checkpoint

    if args.model_command == "info":
        loaded = load_checkpoint(args.checkpoint)
        from dataclasses import asdict

        print(json.dumps({"version": loaded.version, **asdict(loaded.metadata)}, indent=2))
        return 0
    if args.model_command != "init":
        raise user_error("choose a model action: init or info")
    out = Path(args.out).expanduser()
    try:
        write_initial_checkpoint(out, args.init, args.seed, args.name)
    except (FileNotFoundError, ValueError) as exc:
        raise user_error(str(exc)) from None
    print(f"wrote {out} ({'untrained' if args.init == 'none' else args.init + ' init'}, seed {args.seed})")
    return 0



"""``mura-triage demo``: the window (or headless run) on a demo home with synthetic studies."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from triage_app import NOT_FOR_CLINICAL_USE
from triage_app.commands.common import print_summary, require_display
from triage_app.commands.pipeline import worklist
from triage_app.config import open_home, resolve_home
from triage_app.logging_setup import setup_logging


def demo_home_root(args: argparse.Namespace) -> Path:
    from triage_app.config import default_home

    return resolve_home(args.home) if args.home else default_home() / "demo"


def demo(args: argparse.Namespace) -> int:
    from triage_app import demo as demo_core

    if not args.headless:
        require_display()
    root = demo_home_root(args)
    home = open_home(root, dict(demo_core.DEMO_SETTINGS))
    setup_logging(home.logs_dir, getattr(args, "verbose", False))
    print(f"DEMO - synthetic data. {NOT_FOR_CLINICAL_USE}\nhome: {home.root}", file=sys.stderr)
    seed = args.seed if args.seed is not None else int(time.time()) % 1000
    staging = demo_core.stage_demo_studies(home, args.studies, seed)
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
        print_summary(pipeline, time.perf_counter() - started)
    finally:
        pipeline.close()
    args.json, args.limit = False, None
    return worklist(args)



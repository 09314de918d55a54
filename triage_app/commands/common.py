"""Helpers shared by the subcommands: one-line errors, opening the home, summaries."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from triage_app.config import Home, open_home, resolve_home
from triage_app.logging_setup import setup_logging


def user_error(message: str) -> Exception:
    from triage_app.cli import UserError

    return UserError(message)


def open_home_for(args: argparse.Namespace, **overrides: Any) -> Home:
    root = resolve_home(args.home)
    if root.exists() and not root.is_dir():
        raise user_error(f"--home {root} is not a folder")
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint:
        path = Path(checkpoint).expanduser().resolve()
        if not path.is_file():
            raise user_error(f"checkpoint not found: {path}")
        overrides["checkpoint"] = str(path)
    for name in ("device", "precision", "batch_size"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    home = open_home(root, overrides)
    setup_logging(home.logs_dir, getattr(args, "verbose", False))
    return home


def require_display() -> None:
    """Qt aborts the process without a display; say so in one line instead."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise user_error("no display to open the window on; run `mura-triage watch` (headless) or "
                         "`mura-triage demo --headless`")


def print_summary(pipeline: Any, seconds: float) -> None:
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


def inbox_override(raw: str | None) -> dict[str, Any]:
    """``--inbox DIR`` as a settings override; a folder that does not exist is a one-line error."""
    if not raw:
        return {}
    inbox = Path(raw).expanduser().resolve()
    if not inbox.is_dir():
        raise user_error(f"inbox folder does not exist: {inbox}")
    return {"inbox": str(inbox)}

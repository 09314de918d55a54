"""Shared by the benchmark scripts: print the figures as JSON, and write them to a file if asked."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict, json_path: str | None) -> None:
    text = json.dumps(result, indent=2)
    print(text)
    if json_path:
        Path(json_path).write_text(text)

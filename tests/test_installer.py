"""The installer: build the one-folder bundle from a clean venv and check the frozen executables.

Marked ``installer`` (excluded from ``.ci/run``: the venv and the freeze take longer than the CI
budget allows); run before each release with ``pytest -m installer`` and record the result in
docs/installer.md.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.installer
def test_build_script_freezes_the_app_and_the_frozen_checks_pass() -> None:
    completed = subprocess.run(["bash", str(ROOT / "scripts" / "build_installer.sh")], cwd=ROOT,
                               capture_output=True, text=True, timeout=3 * 3600)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    record = json.loads((ROOT / "build" / "installer-result.json").read_text())
    bundle = ROOT / "dist" / "mura-triage"
    assert (bundle / "mura-triage").is_file() and (bundle / "mura-triage-gui").is_file()
    assert record["version"].startswith("mura-triage ")
    steps = record["self_test_steps"]
    assert set(steps) == {"environment", "decoders", "sample study", "window"}
    assert "match their references" in steps["decoders"]
    assert record["bundle_bytes"] > 0 and record["train_one_epoch_seconds"] > 0

"""``mura-triage self-test``: prove an installation works end to end, frozen or not.

Hospital IT runs it after installing (and the installer build runs it on the frozen bundle): each step
exercises a part that freezing is known to break (pydicom's decoder plugins, torch's operators, the
Qt platform plugins, SQLAlchemy's dialect, the bundled resources) on the bundled sample files, in a
temporary data home that is deleted afterwards. Nothing here touches the user's own home.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from pydicom import uid

from triage_app import NOT_FOR_CLINICAL_USE, __version__

SAMPLE_PACKAGE = "triage_app.resources"


class SelfTestFailure(Exception):
    """A step failed; the message says what was expected and what was found."""


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class SelfTestReport:
    version: str
    frozen: bool
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((step.name for step in self.steps if not step.ok), None)

    def as_dict(self) -> dict:
        return {"version": self.version, "frozen": self.frozen, "ok": self.ok, "failed_step": self.failed_step,
                "note": NOT_FOR_CLINICAL_USE, "steps": [asdict(step) for step in self.steps]}


def sample_dir() -> Path:
    """The bundled sample files (a real folder both installed and frozen)."""
    return Path(str(resources.files(SAMPLE_PACKAGE).joinpath("sample")))


# -- the steps ------------------------------------------------------------------------------------------
def check_environment() -> str:
    """torch imports, torchvision's compiled operators load (freezing drops them unless the build adds
    them), and a device is chosen."""
    import torch
    import torchvision

    from model.devices import describe, select_device

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    if torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() != [0]:
        raise SelfTestFailure("torchvision's compiled operators give wrong results")
    device = select_device("auto")
    return (f"torch {torch.__version__}, torchvision {torchvision.__version__} operators loaded, "
            f"device {describe(device)}, Python {sys.version.split()[0]}")


# The plugin each compressed syntax must have: pylibjpeg's come through entry points, which freezing
# drops unless the build collects them; GDCM needs its data files. (pydicom's own RLE decoder and
# GDCM are fallbacks the app also ships.)
REQUIRED_PLUGINS = {
    uid.RLELossless: "pylibjpeg",  # pylibjpeg-rle
    uid.JPEG2000Lossless: "pylibjpeg",  # pylibjpeg-openjpeg
    uid.JPEG2000: "pylibjpeg",
    uid.JPEGLSLossless: "pyjpegls",
    uid.JPEGLSNearLossless: "pyjpegls",
    uid.JPEGLosslessSV1: "gdcm",
    uid.JPEGLossless: "gdcm",
    uid.JPEGBaseline8Bit: "pillow",
}


def check_decoders() -> str:
    """Decode one file per shipped transfer syntax with the app's decoding function and with every
    pydicom plugin available for it, and compare each result with the uncompressed reference."""
    import pydicom
    from pydicom.pixels import get_decoder, pixel_array

    from model.dicom_image import decode_frames

    folder = sample_dir() / "transfer_syntaxes"
    manifest = json.loads((folder / "manifest.json").read_text())
    failures, plugins_used = [], set()
    for entry in manifest:
        try:
            ds = pydicom.dcmread(folder / entry["file"])
            syntax = ds.file_meta.TransferSyntaxUID
            if syntax != entry["transfer_syntax"]:
                raise SelfTestFailure(f"file holds {syntax}, not {entry['transfer_syntax']}")
            reference_ds = pydicom.dcmread(sample_dir() / entry["reference"])
            (image,) = decode_frames(ds)
            (reference,) = decode_frames(reference_ds)
            _compare(image, reference, entry, "app decode")
            if syntax.is_compressed:
                available = get_decoder(syntax).available_plugins
                required = REQUIRED_PLUGINS.get(syntax)
                if required and required not in available:
                    raise SelfTestFailure(f"decoder plugin '{required}' missing (available: {', '.join(available)})")
                # lossless: every plugin returns the reference's stored values; lossy: the plugins
                # agree with each other (an encoder may shift stored values and adjust the window,
                # which the app-level comparison above already covers)
                scale = float(2 ** int(reference_ds.BitsStored) - 1)
                expected = reference_ds.pixel_array if entry["lossless"] else None
                for plugin in available:
                    raw = pixel_array(ds, decoding_plugin=plugin)
                    expected = raw if expected is None else expected
                    _compare(raw / scale, expected / scale, entry, plugin)
                    plugins_used.add(plugin)
        except Exception as exc:
            failures.append(f"{entry['name']}: {type(exc).__name__}: {exc}".splitlines()[0])
    if failures:
        raise SelfTestFailure("; ".join(failures))
    syntaxes = len({entry["transfer_syntax"] for entry in manifest})
    return (f"{len(manifest)} files in {syntaxes} transfer syntaxes decoded and match their references "
            f"(plugins: {', '.join(sorted(plugins_used))})")


def _compare(image, reference, entry: dict, how: str) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    if image.shape != reference.shape:
        raise SelfTestFailure(f"{how}: shape {image.shape}, reference {reference.shape}")
    difference = np.abs(image - reference)
    if entry["lossless"] and difference.max() > 0:
        raise SelfTestFailure(f"{how}: lossless file differs from the reference (max {difference.max():.4f})")
    if difference.mean() > entry["max_mean_error"]:
        raise SelfTestFailure(f"{how}: mean error {difference.mean():.4f} above {entry['max_mean_error']}")


def check_sample_study(root: Path, timeout: float = 300.0) -> str:
    """Ingest the sample study through the hot folder and score it with an untrained checkpoint."""
    from model.checkpoint import write_initial_checkpoint
    from triage_app.config import open_home
    from triage_app.db import ScoringState
    from triage_app.pipeline import Pipeline
    from triage_app.quarantine import list_quarantined
    from triage_app.worklist import view_counts, worklist

    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    checkpoint = write_initial_checkpoint(root / "untrained.ckpt", name="DenseNet-169 (untrained, self-test)")
    home = open_home(root / "home", {"inbox": str(inbox), "checkpoint": str(checkpoint), "stable_seconds": 0.5,
                                     "settle_seconds": 0.2})
    files = sorted((sample_dir() / "study").glob("*.dcm"))
    if not files:
        raise SelfTestFailure(f"no sample study in {sample_dir() / 'study'}: the installation is incomplete")
    for source in files:
        shutil.copyfile(source, inbox / source.name)
    pipeline = Pipeline(home)
    try:
        if pipeline.inference is None:
            raise SelfTestFailure(f"the checkpoint did not load: {pipeline.no_model_hint}")
        device = pipeline.inference.description
        if not pipeline.run_once(timeout=timeout):
            raise SelfTestFailure(f"the sample study was not ingested and scored within {timeout:g} s")
        with pipeline.sessions() as session:
            studies = worklist(session)
            counts = view_counts(session)
            quarantined = list_quarantined(session)
            if quarantined:
                raise SelfTestFailure(f"{len(quarantined)} sample file(s) quarantined: {quarantined[0].reason}")
            if len(studies) != 1:
                raise SelfTestFailure(f"expected 1 study in the worklist, found {len(studies)}")
            study = studies[0]
            views = counts.get(study.id, 0)
            if views != len(files):
                raise SelfTestFailure(f"expected {len(files)} views, found {views}")
            if study.scoring_state != ScoringState.SCORED or study.probability is None:
                raise SelfTestFailure(f"the study was not scored ({study.scoring_state}: {study.score_error})")
            if not 0.0 <= study.probability <= 1.0:
                raise SelfTestFailure(f"probability {study.probability} outside [0, 1]")
            probability = study.probability
    finally:
        pipeline.close()
    return f"{views} views ingested and scored on {device}; study probability {probability:.3f} (untrained model)"


def check_gui(root: Path) -> str:
    """Create the real window offscreen on the sample study's home (the Qt part lives in the GUI package)."""
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from triage_app.config import open_home
    from triage_app.gui.selftest_window import check_window

    rows, width, height, platform = check_window(open_home(root / "home"))
    if rows != 1:
        raise SelfTestFailure(f"the worklist shows {rows} rows, expected 1")
    if width < 100:
        raise SelfTestFailure("the window could not be drawn")
    return f"window created on the '{platform}' platform ({width}x{height}), worklist shows the study"


# -- the runner ---------------------------------------------------------------------------------------------
def run_self_test(include_gui: bool = True, echo: Callable[[str], None] | None = None) -> SelfTestReport:
    report = SelfTestReport(version=__version__, frozen=bool(getattr(sys, "frozen", False)))
    with tempfile.TemporaryDirectory(prefix="mura-triage-selftest-") as tmp:
        root = Path(tmp)
        steps: list[tuple[str, Callable[[], str]]] = [
            ("environment", check_environment),
            ("decoders", check_decoders),
            ("sample study", lambda: check_sample_study(root)),
        ]
        if include_gui:
            steps.append(("window", lambda: check_gui(root)))
        for name, step in steps:
            started = time.perf_counter()
            try:
                result = StepResult(name, True, 0.0, step())
            except Exception as exc:  # every failure is reported against its step, never as a traceback
                result = StepResult(name, False, 0.0, f"{type(exc).__name__}: {exc}".splitlines()[0])
            result.seconds = round(time.perf_counter() - started, 2)
            report.steps.append(result)
            if echo:
                echo(f"{'ok  ' if result.ok else 'FAIL'} {name:13s} {result.seconds:6.1f} s  {result.detail}")
            if not result.ok and name in ("environment", "sample study"):
                break  # later steps depend on these
    return report

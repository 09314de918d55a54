"""Write the sample files the installer's self-test uses (``resources/sample/``); run once, output committed.

- ``study/``: a three-view synthetic wrist study (a plate with screws), 12-bit CR, Explicit VR Little
  Endian: what ``mura-triage self-test`` ingests and scores.
- ``transfer_syntaxes/``: the first view re-encoded in every transfer syntax the app decodes, plus
  ``manifest.json`` (file, transfer syntax UID, name, lossless or the largest allowed error) so the
  self-test can check each decode against the uncompressed reference (lossless: identical; lossy:
  a mean error bound).

Encoders: pydicom (deflate, RLE, JPEG-LS via pyjpegls, JPEG 2000 via pylibjpeg-openjpeg) and dcmtk's
``dcmcjpeg`` for the JPEG process 14 and baseline files (``apt-get install dcmtk``).

``python scripts/make_sample_resources.py [--out resources/sample]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom import uid

from model.phantom_dicom import PhantomStudyInfo, write_view
from model.phantoms import make_phantom

# Fixed UIDs under the pydicom implementation root: the sample is the same file on every build.
STUDY_UID = "1.2.826.0.1.3680043.8.498.1000000000000000000001"
SERIES_UID = "1.2.826.0.1.3680043.8.498.1000000000000000000002"
SOP_ROOT = "1.2.826.0.1.3680043.8.498.10000000000000000000"


def write_study(folder: Path) -> list[Path]:
    rng = np.random.default_rng(20261204)
    info = PhantomStudyInfo(STUDY_UID, "PHANTOM00001", "SAMPLE0001", "WRIST")
    paths = []
    for view in range(3):
        phantom = make_phantom("WRIST", rng, "hardware", rows=320, cols=256)
        paths.append(write_view(folder / f"view{view + 1}.dcm", phantom, info, SERIES_UID, view, rng,
                                photometric="MONOCHROME1" if view == 2 else "MONOCHROME2", bits_stored=12,
                                sop_uid=f"{SOP_ROOT}{view + 1}"))
    return paths


def _dcmtk(tool: str, options: list[str], source: Path, target: Path) -> Path:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: apt-get install dcmtk")
    subprocess.run([tool, *options, str(source), str(target)], check=True)
    return target


def _pydicom(source: Path, target: Path, syntax: str, **kwargs: object) -> Path:
    ds = pydicom.dcmread(source)
    if syntax in (uid.ImplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian):
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(target, implicit_vr=syntax == uid.ImplicitVRLittleEndian, little_endian=True)
    else:
        ds.compress(syntax, **kwargs)
        ds.save_as(target)
    return target


def _eight_bit(source: Path, target: Path) -> Path:
    """JPEG baseline holds 8-bit samples only: the same view rescaled to 8 bits."""
    ds = pydicom.dcmread(source)
    pixels = ds.pixel_array.astype(np.float64) * 255.0 / (2**ds.BitsStored - 1)
    ds.PixelData = np.round(pixels).astype(np.uint8).tobytes()
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.WindowCenter = round(float(ds.WindowCenter) * 255.0 / 4095.0, 2)
    ds.WindowWidth = round(float(ds.WindowWidth) * 255.0 / 4095.0, 2)
    ds.save_as(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="resources/sample")
    out = Path(parser.parse_args(argv).out)
    shutil.rmtree(out, ignore_errors=True)
    first_view, *_ = write_study(out / "study")
    syntaxes = out / "transfer_syntaxes"
    syntaxes.mkdir(parents=True)
    reference = Path(shutil.copy(first_view, syntaxes / "explicit-le.dcm"))  # the folder stands alone
    eight_bit = _eight_bit(reference, syntaxes / "explicit-le-8bit.dcm")
    # (file, encoder, reference, largest mean error allowed on the [0, 1] display scale; 0 = lossless)
    entries = [
        ("explicit-le.dcm", lambda t: t, reference, 0.0),
        ("implicit-le.dcm", lambda t: _pydicom(reference, t, uid.ImplicitVRLittleEndian), reference, 0.0),
        ("deflated-le.dcm", lambda t: _pydicom(reference, t, uid.DeflatedExplicitVRLittleEndian), reference, 0.0),
        ("rle.dcm", lambda t: _pydicom(reference, t, uid.RLELossless), reference, 0.0),
        ("jpeg-ls-lossless.dcm", lambda t: _pydicom(reference, t, uid.JPEGLSLossless), reference, 0.0),
        ("jpeg-ls-near-lossless.dcm",
         lambda t: _pydicom(reference, t, uid.JPEGLSNearLossless, jls_error=2), reference, 0.005),
        ("jpeg2000-lossless.dcm", lambda t: _pydicom(reference, t, uid.JPEG2000Lossless), reference, 0.0),
        ("jpeg2000.dcm", lambda t: _pydicom(reference, t, uid.JPEG2000, j2k_cr=[20]), reference, 0.02),
        ("jpeg-lossless-sv1.dcm", lambda t: _dcmtk("dcmcjpeg", [], reference, t), reference, 0.0),
        ("jpeg-lossless-p14.dcm", lambda t: _dcmtk("dcmcjpeg", ["+el", "+un"], reference, t), reference, 0.0),
        ("jpeg-baseline-8bit.dcm", lambda t: _dcmtk("dcmcjpeg", ["+eb", "+q", "90"], eight_bit, t), eight_bit, 0.02),
    ]
    manifest = []
    for name, encode, source, tolerance in entries:
        target = encode(syntaxes / name)
        syntax = pydicom.dcmread(target, stop_before_pixels=True).file_meta.TransferSyntaxUID
        manifest.append({"file": name, "transfer_syntax": str(syntax), "name": syntax.name,
                         "reference": source.relative_to(out).as_posix(), "lossless": tolerance == 0,
                         "max_mean_error": tolerance})
        print(f"{name:28s} {syntax.name}")
    eight_entry = {"file": eight_bit.name, "transfer_syntax": uid.ExplicitVRLittleEndian,
                   "name": "Explicit VR Little Endian (8-bit)", "reference": eight_bit.relative_to(out).as_posix(),
                   "lossless": True, "max_mean_error": 0.0}
    manifest.insert(1, eight_entry)
    (syntaxes / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

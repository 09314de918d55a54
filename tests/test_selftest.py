"""``mura-triage self-test`` (not frozen): every step passes on a healthy install, and a broken part
fails the run with the step named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom import uid

from triage_app import selftest
from triage_app.cli import main


def test_sample_resources_cover_the_decoders_freezing_breaks() -> None:
    manifest = json.loads((selftest.sample_dir() / "transfer_syntaxes" / "manifest.json").read_text())
    shipped = {entry["transfer_syntax"] for entry in manifest}
    # pylibjpeg's plugins (JPEG 2000, RLE) come through entry points; JPEG Lossless through GDCM.
    assert {uid.JPEG2000Lossless, uid.JPEG2000, uid.JPEGLosslessSV1, uid.JPEGLossless, uid.RLELossless,
            uid.JPEGLSLossless, uid.JPEGBaseline8Bit, uid.ExplicitVRLittleEndian} <= shipped
    for entry in manifest:
        ds = pydicom.dcmread(selftest.sample_dir() / "transfer_syntaxes" / entry["file"], stop_before_pixels=True)
        assert ds.file_meta.TransferSyntaxUID == entry["transfer_syntax"]
        assert str(ds.PatientName).startswith("PHANTOM^")
    study = sorted((selftest.sample_dir() / "study").glob("*.dcm"))
    assert len(study) == 3
    assert len({pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID for p in study}) == 1


def test_self_test_passes_and_reports_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["self-test", "--json", "--no-gui"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["failed_step"] is None
    assert [step["name"] for step in report["steps"]] == ["environment", "decoders", "sample study"]
    assert "3 views ingested and scored" in report["steps"][2]["detail"]
    assert "not for clinical use" in report["note"]


def test_a_broken_decoder_file_fails_the_decoders_step_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "sample"
    shutil.copytree(selftest.sample_dir(), broken)
    target = broken / "transfer_syntaxes" / "jpeg2000-lossless.dcm"
    data = bytearray(target.read_bytes())
    data[-4000:] = b"\0" * 4000  # damage the JPEG 2000 code stream
    target.write_bytes(bytes(data))
    monkeypatch.setattr(selftest, "sample_dir", lambda: broken)
    assert main(["self-test", "--no-gui"]) == 1
    out = capsys.readouterr().out
    assert "FAIL decoders" in out and "JPEG 2000 Image Compression (Lossless Only)" in out
    assert "self-test FAILED at step 'decoders'" in out
    assert "ok   sample study" in out  # later independent steps still run


def test_a_missing_sample_study_fails_that_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "sample"
    shutil.copytree(selftest.sample_dir() / "transfer_syntaxes", empty / "transfer_syntaxes")
    (empty / "study").mkdir()
    monkeypatch.setattr(selftest, "sample_dir", lambda: empty)
    assert main(["self-test", "--no-gui"]) == 1
    assert "self-test FAILED at step 'sample study'" in capsys.readouterr().out


def test_a_missing_decoder_plugin_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(selftest.REQUIRED_PLUGINS, uid.RLELossless, "frozen-away-plugin")
    assert main(["self-test", "--no-gui"]) == 1
    out = capsys.readouterr().out
    assert "RLE Lossless: SelfTestFailure: decoder plugin 'frozen-away-plugin' missing" in out

"""Decoding real radiographs (pydicom-data) and edge cases of the pixel pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEGLosslessSV1, JPEGLSLossless, RLELossless

from model.dicom_image import DecodeError, decode_frames
from tests.helpers import dcmtk, edit, sample_file, write_study


def decode(path: Path) -> np.ndarray:
    frames = decode_frames(pydicom.dcmread(path))
    assert len(frames) == 1
    return frames[0]


@pytest.fixture(scope="module")
def rg3() -> np.ndarray:
    return decode(sample_file("RG3_UNCR.dcm"))


def test_rg3_monochrome1_comes_out_bone_bright(rg3: np.ndarray) -> None:
    assert rg3.dtype == np.float32 and rg3.shape == (1760, 1760)
    assert rg3.min() >= 0.0 and rg3.max() <= 1.0
    # RG3 is a lower-leg CR: air between the leg and the collimator edge (left of the leg) must be
    # dark, the tibial shaft bright. Inverting too early or not at all flips this.
    air = rg3[600:1000, 480:560].mean()
    tibia = rg3[600:1000, 820:900].mean()
    assert air < 0.15, air
    assert tibia > 0.6, tibia
    assert tibia - air > 0.5


def test_rg1_chest_monochrome1_lungs_darker_than_spine() -> None:
    image = decode(sample_file("RG1_UNCR.dcm"))
    lung = image[700:1000, 350:550].mean()
    spine = image[700:1000, 880:960].mean()
    assert spine > lung + 0.15


@pytest.mark.parametrize("name", ["RG3_J2KR.dcm", "RG1_J2KR.dcm"])
def test_jpeg2000_lossless_is_pixel_identical(name: str) -> None:
    reference = pydicom.dcmread(sample_file(name.replace("J2KR", "UNCR"))).pixel_array
    compressed = pydicom.dcmread(sample_file(name))
    assert compressed.file_meta.TransferSyntaxUID.is_compressed
    assert np.array_equal(compressed.pixel_array, reference)
    assert np.array_equal(decode_frames(compressed)[0], decode(sample_file(name.replace("J2KR", "UNCR"))))


def test_jpeg2000_lossy_stays_close(rg3: np.ndarray) -> None:
    lossy = decode(sample_file("RG3_J2KI.dcm"))
    assert np.abs(lossy - rg3).mean() < 0.02


@pytest.mark.parametrize(
    ("tool", "syntax"), [("dcmcjpeg", JPEGLosslessSV1), ("dcmcjpls", JPEGLSLossless), ("dcmcrle", RLELossless)]
)
def test_dcmtk_lossless_reencodings_are_pixel_identical(tmp_path: Path, rg3: np.ndarray, tool: str,
                                                         syntax: str) -> None:
    encoded = dcmtk(tool, sample_file("RG3_UNCR.dcm"), tmp_path / f"{tool}.dcm")
    ds = pydicom.dcmread(encoded)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert np.array_equal(ds.pixel_array, pydicom.dcmread(sample_file("RG3_UNCR.dcm")).pixel_array)
    assert np.array_equal(decode_frames(ds)[0], rg3)


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_monochrome1_and_2_phantoms_decode_alike(tmp_path: Path, bits: int) -> None:
    (m2,) = write_study(tmp_path / "m2", views=1, seed=3, photometric="MONOCHROME2", bits_stored=bits)
    (m1,) = write_study(tmp_path / "m1", views=1, seed=3, photometric="MONOCHROME1", bits_stored=bits)
    a, b = decode(m2), decode(m1)
    assert np.abs(a - b).max() < 2.0 / (2**bits - 1) * 1.25 + 1e-6
    assert a[:, :8].mean() < a.mean()  # the border is air: dark


def test_signed_pixels_with_rescale_and_no_window_use_a_robust_range(tmp_path: Path) -> None:
    (path,) = write_study(tmp_path, views=1, seed=4)
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array.astype(np.int32) - 2048
    ds.PixelRepresentation = 1
    ds.PixelData = raw.astype(np.int16).tobytes()
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    del ds.WindowCenter, ds.WindowWidth
    ds.save_as(tmp_path / "signed.dcm")
    image = decode(tmp_path / "signed.dcm")
    reference = decode(path)
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert np.corrcoef(image.ravel(), reference.ravel())[0, 1] > 0.99


def test_window_is_applied_before_monochrome1_inversion(tmp_path: Path) -> None:
    (path,) = write_study(tmp_path, views=1, seed=5, photometric="MONOCHROME1", bits_stored=12)
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array.astype(np.float64)
    centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
    expected = 1.0 - np.clip((raw - (centre - 0.5)) / (width - 1) + 0.5, 0, 1)
    assert np.allclose(decode(path), expected, atol=1e-6)


def test_sigmoid_voi_function(tmp_path: Path) -> None:
    (path,) = write_study(tmp_path, views=1, seed=6)
    edited = edit(path, tmp_path / "sigmoid.dcm", VOILUTFunction="SIGMOID")
    image = decode(edited)
    assert image.min() > 0.0 and image.max() < 1.0


@pytest.mark.parametrize("name", ["SC_rgb.dcm", "SC_rgb_jpeg.dcm", "US1_J2KR.dcm", "OBXXXX1A_rle.dcm"])
def test_colour_images_become_grey(name: str) -> None:
    image = decode(sample_file(name))
    assert image.ndim == 2 and 0.0 <= image.min() <= image.max() <= 1.0


@pytest.mark.parametrize("name", ["JPEG-LL.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm",
                                  "MR2_J2KR.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"])
def test_transfer_syntaxes_decode(name: str) -> None:
    assert decode(sample_file(name)).ndim == 2


def test_multiframe_gives_one_image_per_frame() -> None:
    frames = decode_frames(pydicom.dcmread(sample_file("emri_small_jpeg_ls_lossless.dcm")))
    assert len(frames) == 10 and frames[0].shape == (64, 64)


def test_12bit_jpeg_extended_without_gpl_plugin_names_the_fix() -> None:
    pytest.importorskip("pydicom")
    try:
        import libjpeg  # noqa: F401
        pytest.skip("pylibjpeg-libjpeg installed: 12-bit JPEG Extended decodes")
    except ImportError:
        pass
    with pytest.raises(DecodeError) as info:
        decode_frames(pydicom.dcmread(sample_file("JPEG-lossy.dcm")))
    assert info.value.code == "undecodable"
    assert "gpl-codecs" in str(info.value)


def test_no_pixel_data_and_tiny_images_are_rejected(tmp_path: Path) -> None:
    (path,) = write_study(tmp_path, views=1)
    with pytest.raises(DecodeError) as info:
        decode_frames(pydicom.dcmread(edit(path, tmp_path / "nopix.dcm", PixelData=None)))
    assert info.value.code == "no_pixel_data"
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.PixelData = 1, 64, b"\0" * 128
    ds.save_as(tmp_path / "line.dcm")
    with pytest.raises(DecodeError) as info:
        decode_frames(pydicom.dcmread(tmp_path / "line.dcm"))
    assert info.value.code == "not_2d"

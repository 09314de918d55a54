"""Synthetic phantoms: valid images with findings where their boxes say."""

from __future__ import annotations

import numpy as np
import pytest

from model.phantoms import make_phantom
from model.study_types import STUDY_TYPES


@pytest.mark.parametrize("study_type", STUDY_TYPES)
@pytest.mark.parametrize("finding", [None, "hardware", "fracture"])
def test_phantoms_are_valid_images_with_a_box_for_each_finding(study_type: str, finding: str | None) -> None:
    phantom = make_phantom(study_type, np.random.default_rng(11), finding, rows=300, cols=240)
    assert phantom.image.shape == (300, 240) and phantom.image.dtype == np.float32
    assert phantom.image.min() >= 0.0 and phantom.image.max() <= 1.0
    if finding is None:
        assert phantom.bbox is None
        return
    x0, y0, x1, y1 = phantom.bbox
    assert 0 <= x0 < x1 < 240 and 0 <= y0 < y1 < 300
    inside = phantom.image[y0:y1 + 1, x0:x1 + 1]
    metal = phantom.image >= 0.97
    if finding == "hardware":
        assert (inside >= 0.97).sum() > 20  # plate and screws are the brightest thing on the film
    else:
        assert not metal.any()
        assert (inside > 0.65).any() and (inside < 0.4).any()  # cortex interrupted by a dark line


def test_normal_phantoms_have_no_metal() -> None:
    rng = np.random.default_rng(5)
    for study_type in STUDY_TYPES:
        assert make_phantom(study_type, rng).image.max() < 0.97


def test_phantoms_are_reproducible_from_the_seed() -> None:
    a = make_phantom("WRIST", np.random.default_rng(3), "fracture")
    b = make_phantom("WRIST", np.random.default_rng(3), "fracture")
    assert np.array_equal(a.image, b.image) and a.bbox == b.bbox

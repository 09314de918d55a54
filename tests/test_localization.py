from __future__ import annotations

import numpy as np

from model.localization import FindingBox, pointing_hit


def test_pointing_game_hit_and_miss_on_a_non_square_image() -> None:
    cam = np.zeros((7, 7), dtype=np.float32)
    cam[1, 5] = 5.0  # top right of the network's grid
    # image 400 rows x 200 cols; box at the top right in image pixels
    assert pointing_hit(cam, FindingBox(x0=140, y0=40, x1=190, y1=90, rows=400, cols=200))
    assert not pointing_hit(cam, FindingBox(x0=10, y0=300, x1=60, y1=380, rows=400, cols=200))


def test_tolerance_is_in_224_pixel_units() -> None:
    cam = np.zeros((7, 7), dtype=np.float32)
    cam[3, 3] = 1.0  # maximum at the centre: (112, 112) on the 224 grid
    near = FindingBox(x0=130, y0=100, x1=150, y1=120, rows=224, cols=224)  # 18 px to the right
    assert pointing_hit(cam, near, tolerance=20.0)
    assert not pointing_hit(cam, near, tolerance=10.0)

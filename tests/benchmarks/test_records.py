"""munet.benchmarks.records: the provenance Markdown and the overlay grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks import records


def test_overlay_grid_shape_and_colours(tmp_path: Path) -> None:
    import cv2

    img = np.full((60, 80, 3), 128, np.uint8)
    truth = np.zeros((60, 80), np.uint8)
    truth[10:30, 10:30] = 1
    b = np.roll(truth, 5, axis=1)
    path = records.overlay_grid(
        [{"image": img, "truth": truth, "a": truth, "b": b}] * 2, tmp_path / "g.png", tile_height=60
    )
    grid = cv2.imread(str(path))[:, :, ::-1]
    assert grid.shape == (2 * 62, 5 * 80, 3)
    diff = grid[:60, 4 * 80 :]
    assert (diff == (255, 0, 255)).all(axis=-1).any()  # only in a
    assert (diff == (0, 255, 255)).all(axis=-1).any()  # only in b
    with pytest.raises(ValueError):
        records.overlay_grid([], tmp_path / "x.png")

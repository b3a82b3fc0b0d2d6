"""munet.benchmarks.records: the provenance Markdown and the overlay grid (drawn with munet-run's overlay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks import records


def test_overlay_grid_shape_and_colours(tmp_path: Path) -> None:
    import cv2

    from munet.edge.outputs import overlay

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
    # the truth column is munet-run's overlay (BGR), below the label strip (rows 0-16)
    assert np.array_equal(grid[17:60, 80:160], overlay(img, truth)[17:, :, ::-1])
    with pytest.raises(ValueError):
        records.overlay_grid([], tmp_path / "x.png")


def test_provenance_markdown_names_the_int8_instructions_where_the_record_has_them() -> None:
    from munet.device import describe_cpu

    machine = {"cpu": "Some CPU", "cores": 4, "usable_cores": 2, "os": "Linux", "python": "3.11", "versions": {}}
    prov = {"command": "munet-bench x", "date": "2026-01-01", "machine": machine}
    text = records.provenance_markdown(prov)
    assert "- Command: `munet-bench x`\n" in text and "- Machine: Some CPU, 4 cores (2 usable), Linux" in text
    newer = records.provenance_markdown({**prov, "machine": {**machine, "int8": ["avx512_vnni"]}})
    assert f"- Machine: {describe_cpu('Some CPU', ['avx512_vnni'])}, 4 cores" in newer

"""munet.benchmarks.records: provenance, atomic writers, tables and the overlay grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks import records


def test_provenance_names_command_machine_and_date() -> None:
    prov = records.provenance()
    assert prov["command"]
    assert prov["date"].endswith("+00:00")
    m = prov["machine"]
    assert m["cores"] >= 1 and m["usable_cores"] >= 1 and m["cpu"]
    assert m["versions"]["numpy"] == np.__version__
    assert records.command_line(["/x/y/munet-bench", "latency", "--tflite", "a b.tflite"]) == (
        "munet-bench latency --tflite 'a b.tflite'"
    )


def test_write_json_converts_numpy_and_paths(tmp_path: Path) -> None:
    path = records.write_json(
        tmp_path / "sub" / "r.json", {"a": np.float32(0.5), "p": Path("x/y"), "n": float("nan"), "arr": np.arange(3)}
    )
    data = json.loads(path.read_text())
    assert data == {"a": 0.5, "p": "x/y", "n": None, "arr": [0, 1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left behind


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

"""munet-convert --calibrate-postproc: min_area calibrated on training image/mask pairs, stored in the metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from munet.convert.cli import main
from munet.edge.metadata import read_model_info
from munet.edge.postproc import MIN_AREA_CANDIDATES, calibrate_min_area
from munet.edge.runtime import Segmenter
from munet.imageio import load_image, load_mask

pytest.importorskip("ai_edge_litert")


def _training_folder(blob_data: Path, root: Path, n_lesion: int = 12, n_speck: int = 8) -> Path:
    """Blob pairs plus lesion-free images with a small dark speck (labelled background): false-positive bait."""
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
        for src in sorted((blob_data / sub).glob("*.png"))[:n_lesion]:
            shutil.copy(src, root / sub / src.name)
    rng = np.random.default_rng(1)
    for i in range(n_speck):
        img = np.clip(np.array([200, 150, 130]) + rng.normal(0, 10, (80, 96, 3)), 0, 255).astype(np.uint8)
        y, x = int(rng.integers(15, 60)), int(rng.integers(15, 75))
        img[y : y + 7, x : x + 7] = (90, 55, 45)
        cv2.imwrite(str(root / "images" / f"speck_{i}.png"), img[:, :, ::-1])
        cv2.imwrite(str(root / "masks" / f"speck_{i}.png"), np.zeros((80, 96), np.uint8))
    return root


def test_calibrate_postproc_stores_the_value_the_training_masks_favour(trained_run, blob_data, tmp_path):
    data = _training_folder(blob_data, tmp_path / "train")
    out = tmp_path / "m.tflite"
    args = [str(trained_run), "--float32", "--no-gate", "--calib-data", str(data), "--out", str(out), "--quiet"]
    res = CliRunner().invoke(main, [*args, "--calibrate-postproc"])
    assert res.exit_code == 0, res.output
    assert "post-processing min_area on 20 training images (8 lesion-free)" in res.output
    info = read_model_info(out)
    assert json.loads(out.with_suffix(".json").read_text())["min_area"] == info.min_area  # sidecar agrees
    assert info.min_area in MIN_AREA_CANDIDATES
    chosen = [line for line in res.output.splitlines() if "<- chosen" in line]
    assert len(chosen) == 1 and float(chosen[0].split()[0]) == info.min_area
    # the same calibration, recomputed from the written model through the edge runtime (post-processing off)
    images = sorted((data / "images").glob("*.png"))
    seg = Segmenter(out, threads=1, min_area=0)
    masks = [seg.segment(load_image(p)).mask for p in images]
    cal = calibrate_min_area(masks, [load_mask(data / "masks" / p.name) for p in images])
    assert cal.min_area == info.min_area
    assert cal.fp_share[0] > 0, "the specks should fool the tiny model (else this test checks nothing)"
    assert info.min_area > 0 and cal.fp_share[cal.candidates.index(info.min_area)] < cal.fp_share[0]
    assert Segmenter(out, threads=1).min_area == info.min_area  # the edge applies it by default


def test_calibrate_postproc_without_masks_is_one_line(trained_run, blob_data, tmp_path):
    images_only = tmp_path / "imgs"
    shutil.copytree(blob_data / "images", images_only)
    res = CliRunner().invoke(
        main, [str(trained_run), "--float32", "--calibrate-postproc", "--calib-data", str(images_only), "-q"]
    )
    assert res.exit_code == 2 and "needs ground-truth masks" in res.output
    assert len(res.output.strip().splitlines()) == 1

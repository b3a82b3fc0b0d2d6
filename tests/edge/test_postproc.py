"""Mask post-processing: small-component removal as a fraction of the image area, its calibration on training
masks, and the Segmenter / munet-run applying the value stored in the model's metadata (or --min-area)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from munet.edge.cli import main
from munet.edge.metadata import read_model_info
from munet.edge.metrics import dice
from munet.edge.postproc import calibrate_min_area, clean_mask, remove_small_components
from munet.edge.runtime import Segmenter
from munet.errors import ModelError
from munet.imageio import list_images, load_image


def _scene(scale: int) -> np.ndarray:
    """100x100 (x scale) mask: a 3x3 speck (0.09 % of the image) and a 20x20 lesion (4 %)."""
    m = np.zeros((100, 100), np.uint8)
    m[5:8, 5:8] = 1
    m[40:60, 40:60] = 1
    return cv2.resize(m, (100 * scale, 100 * scale), interpolation=cv2.INTER_NEAREST)


@pytest.mark.parametrize("scale", [1, 3])
def test_min_area_is_a_fraction_of_the_image_at_any_size(scale):
    mask = _scene(scale)
    out = remove_small_components(mask, 0.001)  # 10 px at 100x100, 90 px at 300x300: the speck goes
    lesion = mask.copy()
    lesion[: 10 * scale, : 10 * scale] = 0
    np.testing.assert_array_equal(out, lesion)
    np.testing.assert_array_equal(remove_small_components(mask, 0.0009), mask)  # the speck is exactly 0.09 %: kept
    assert not remove_small_components(mask, 0.05).any()  # largest (4 %) under min_area: no lesion at all


def test_min_area_zero_keeps_everything_and_components_are_8_connected():
    mask = np.zeros((10, 10), np.uint8)
    mask[2, 2] = mask[3, 3] = 1  # diagonal neighbours: one component of 2 px (2 % of the image)
    np.testing.assert_array_equal(remove_small_components(mask, 0.0), mask)
    np.testing.assert_array_equal(remove_small_components(mask, 0.02), mask)
    assert not remove_small_components(mask, 0.021).any()
    assert remove_small_components(np.zeros((4, 4), np.uint8), 0.1).sum() == 0


def test_clean_mask_drops_small_components_before_filling_holes():
    ring = np.zeros((20, 20), np.uint8)
    ring[5:10, 5:10] = 1
    ring[6:9, 6:9] = 0  # a 16 px ring around a 9 px hole: 25 px once filled
    assert not clean_mask(ring, holes=True, min_area=20 / 400).any()  # the ring's own area counts
    assert clean_mask(ring, holes=True).sum() == 25
    two = _scene(1)
    np.testing.assert_array_equal(clean_mask(two, keep_largest=True), clean_mask(two, keep_largest=True, min_area=0.01))


def _calibration_case(n_empty: int = 10, n_lesion: int = 5) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Lesion-free images with a 4 px false blob (0.04 %), and lesion images predicted exactly (4 %)."""
    preds, truths = [], []
    for i in range(n_empty):
        p = np.zeros((100, 100), np.uint8)
        p[10 + i : 12 + i, 50:52] = 1
        preds.append(p)
        truths.append(np.zeros((100, 100), np.uint8))
    for _ in range(n_lesion):
        t = np.zeros((100, 100), np.uint8)
        t[30:50, 30:50] = 1
        preds.append(t.copy())
        truths.append(t * 255)  # {0, 255} truths binarise like the metrics do
    return preds, truths


def test_calibration_picks_the_smallest_size_that_removes_the_false_blobs():
    preds, truths = _calibration_case()
    cal = calibrate_min_area(preds, truths, [5e-2, 0.0, 1e-4, 5e-4, 1e-3])
    assert cal.candidates == [0.0, 1e-4, 5e-4, 1e-3, 5e-2]
    np.testing.assert_allclose(cal.dice, [5 / 15, 5 / 15, 1.0, 1.0, 10 / 15])
    assert cal.min_area == 5e-4  # 1e-3 ties: the smaller wins
    assert cal.fp_share == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert cal.lesion_dice == [1.0, 1.0, 1.0, 1.0, 0.0]  # 5 % removes the real lesions too
    assert (cal.images, cal.empty_images, cal.typical_shape) == (15, 10, (100, 100))
    table = cal.table()
    assert "15 training images (10 lesion-free)" in table
    chosen = [line for line in table.splitlines() if "chosen" in line]
    assert len(chosen) == 1 and chosen[0].split()[0] == "0.0005" and chosen[0].split()[1] == "5"
    assert json.loads(json.dumps(cal.to_dict()))["min_area"] == 5e-4


def test_calibration_prefers_the_smallest_candidate_within_the_tolerance():
    preds, truths = _calibration_case(n_empty=1, n_lesion=14)  # removing the blob gains 1/15 = 0.067 Dice
    assert calibrate_min_area(preds, truths, [0.0, 5e-4], tolerance=0.1).min_area == 0.0
    assert calibrate_min_area(preds, truths, [0.0, 5e-4], tolerance=0.05).min_area == 5e-4
    assert calibrate_min_area(preds, truths, [0.0, 5e-4]).min_area == 5e-4  # default tolerance 0.001


def test_calibration_dice_equals_scoring_the_cleaned_masks():
    rng = np.random.default_rng(0)
    preds, truths = [], []
    for i in range(12):
        h, w = (60, 80) if i % 2 else (90, 70)
        p = (cv2.GaussianBlur(rng.random((h, w)), (0, 0), 2) > 0.55).astype(np.uint8)
        t = (cv2.GaussianBlur(rng.random((h, w)), (0, 0), 3) > 0.52).astype(np.uint8) if i % 3 else 0 * p
        preds.append(p)
        truths.append(t)
    cands = [0.0, 1e-3, 5e-3, 2e-2]
    cal = calibrate_min_area(preds, truths, cands)
    for c, d in zip(cands, cal.dice, strict=True):
        expected = np.mean([dice(remove_small_components(p, c), t) for p, t in zip(preds, truths, strict=True)])
        assert d == pytest.approx(expected, abs=1e-12)


def test_calibration_accepts_probability_maps_at_the_model_size():
    preds, truths = _calibration_case()
    probs = [cv2.resize(p.astype(np.float32) * 0.9, (50, 50), interpolation=cv2.INTER_LINEAR) for p in preds]
    cal = calibrate_min_area(probs, truths, [0.0, 1e-3])
    assert cal.dice[0] < 1.0 and cal.dice[1] == pytest.approx(1.0, abs=0.02)


def test_calibration_refuses_bad_candidates_and_mismatched_lists():
    preds, truths = _calibration_case()
    with pytest.raises(ValueError, match="fractions"):
        calibrate_min_area(preds, truths, [0.0, 1.0])
    with pytest.raises(ValueError, match="ground-truth"):
        calibrate_min_area(preds[:-1], truths)
    with pytest.raises(ValueError, match="no images"):
        calibrate_min_area([], [])


def with_min_area(model: Path, value: str, out: Path) -> Path:
    """A copy of ``model`` whose embedded metadata says ``min_area: value`` (same length as ``0.0``), no TensorFlow.

    The JSON sits in a flatbuffer buffer, so an equal-length edit keeps the file valid; the content digest is stamped
    again (as munet-convert would), else the edited file is refused as changed since conversion.
    """
    from munet.edge.integrity import stamp_digest

    data = model.read_bytes()
    key = b'"min_area": 0.0'
    assert data.count(key) == 1 and len(value) == 3, "the model must carry min_area 0.0 in its embedded metadata"
    out.write_bytes(stamp_digest(data.replace(key, b'"min_area": ' + value.encode())))
    return out


def test_segmenter_applies_the_metadata_min_area_and_the_override(tiny_int8, edge_images, tmp_path):
    rgbs = [load_image(p) for p in list_images(edge_images)]
    plain = Segmenter(tiny_int8, threads=1)
    assert plain.min_area == 0.0  # the shared model was converted without --calibrate-postproc
    masks = [plain.segment(rgb).mask for rgb in rgbs]
    assert any(m.any() for m in masks), "the tiny model should find lesions on the edge test images"
    big = with_min_area(tiny_int8, "0.9", tmp_path / "big.tflite")
    assert read_model_info(big).min_area == 0.9
    calibrated = Segmenter(big, threads=1)
    assert calibrated.min_area == 0.9
    assert all(not calibrated.segment(rgb).mask.any() for rgb in rgbs)  # no lesion covers 90 % of a frame
    off = Segmenter(big, threads=1, min_area=0)
    for rgb, mask in zip(rgbs, masks, strict=True):
        np.testing.assert_array_equal(off.segment(rgb).mask, mask)
    some = Segmenter(tiny_int8, threads=1, min_area=0.02)
    for rgb, mask in zip(rgbs, masks, strict=True):
        np.testing.assert_array_equal(some.segment(rgb).mask, remove_small_components(mask, 0.02))
    with pytest.raises(ModelError, match="min_area"):
        Segmenter(tiny_int8, threads=1, min_area=1.5)


def test_munet_run_uses_the_metadata_min_area_unless_overridden(tiny_int8, edge_images, tmp_path):
    model = with_min_area(tiny_int8, "0.9", tmp_path / "m.tflite")
    shutil.copy(tiny_int8.with_suffix(".json"), tmp_path / "m.json")  # a stale sidecar: the embedded data wins
    runs = {}
    for name, extra in {"default": [], "off": ["--min-area", "0"]}.items():
        out = tmp_path / name
        res = CliRunner().invoke(main, [str(model), str(edge_images), "--out", str(out), "--threads", "1", *extra])
        assert res.exit_code == 0, res.output
        runs[name] = (json.loads((out / "summary.json").read_text()), res.output)
    default, off = runs["default"][0], runs["off"][0]
    assert default["min_area"] == 0.9 and off["min_area"] == 0.0
    assert "components under 0.9 of the image area dropped" in runs["default"][1]
    assert all(float(r["area_pct"]) == 0 for r in default["rows"])
    assert any(float(r["area_pct"]) > 0 for r in off["rows"])
    res = CliRunner().invoke(main, [str(model), str(edge_images), "--min-area", "1"])
    assert res.exit_code == 2 and "--min-area" in res.output

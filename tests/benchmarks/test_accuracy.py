"""munet.benchmarks.accuracy on a tiny model: structure, float agreement, original-size masks, report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.accuracy import FLOAT_NAME, agreement, evaluate_accuracy, load_samples, pick_pair
from munet.edge.metrics import METRIC_NAMES, compute_metrics


@pytest.fixture(scope="module")
def result(trained_keras: Path, tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("acc")
    res = evaluate_accuracy(
        trained_keras,
        [tiny_tflites["float32"], tiny_tflites["int8"]],
        tiny_pairs,
        out=out,
        worst=2,
        threads=1,
        command="munet-bench accuracy (test)",
    )
    res["_out"] = out
    return res


def test_every_model_has_all_metrics_in_both_reductions(result: dict) -> None:
    assert list(result["models"]) == [FLOAT_NAME, "tiny_float32", "tiny_int8"]
    assert result["images"] == 4
    for entry in result["models"].values():
        for red in ("per-image", "pixel"):
            assert set(entry[red]) == set(METRIC_NAMES)
            assert all(0.0 <= v <= 1.0 for v in entry[red].values())
        assert len(entry["worst"]) == 2
        assert entry["worst"][0]["dice"] <= entry["worst"][1]["dice"]


def test_float32_tflite_agrees_with_keras_float(result: dict) -> None:
    agree = result["models"]["tiny_float32"]["agreement_with_float"]
    assert agree["dice"] > 0.99
    assert agree["mean_abs_prob_diff"] < 1e-3
    # the float32 file is the same network: its metrics match Keras' almost exactly
    keras_dice = result["models"][FLOAT_NAME]["pixel"]["dice"]
    assert result["models"]["tiny_float32"]["pixel"]["dice"] == pytest.approx(keras_dice, abs=0.01)


def test_int8_agreement_is_reported_and_no_better_than_float32(result: dict) -> None:
    int8 = result["models"]["tiny_int8"]["agreement_with_float"]
    f32 = result["models"]["tiny_float32"]["agreement_with_float"]
    assert 0.0 <= int8["dice"] <= 1.0
    assert int8["mean_abs_prob_diff"] >= f32["mean_abs_prob_diff"]
    assert result["models"]["tiny_int8"]["quantization"] == "int8"
    assert result["models"]["tiny_int8"]["size_bytes"] < result["models"]["tiny_float32"]["size_bytes"]


def test_report_files_and_grid(result: dict) -> None:
    import cv2

    out: Path = result["_out"]
    data = json.loads((out / "accuracy.json").read_text())
    assert data["command"] == "munet-bench accuracy (test)"
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    assert "numpy" in data["machine"]["versions"]
    md = (out / "accuracy.md").read_text()
    assert "tiny_int8" in md and "Agreement" in md
    grid = cv2.imread(str(out / "accuracy_grid.png"))
    assert grid is not None and grid.shape[0] >= 2 * 160  # two worst images, one row each
    assert grid.shape[1] > 4 * 160  # five columns


def test_masks_are_compared_at_the_original_size(tiny_tflites: dict[str, Path], tiny_pairs: Path) -> None:
    """Scoring the int8 model's own masks against the truth equals the report's per-image metrics."""
    from munet.edge.runtime import Segmenter

    samples = load_samples(tiny_pairs)
    seg = Segmenter(tiny_tflites["int8"], threads=1)
    masks = [seg.segment(s.image).mask for s in samples]
    assert masks[0].shape == samples[0].truth.shape == (96, 128)
    res = evaluate_accuracy(None, [tiny_tflites["int8"]], samples, worst=1)
    expected = compute_metrics(masks, [s.truth for s in samples], reduction="per-image")
    assert res["models"]["tiny_int8"]["per-image"] == pytest.approx(expected)
    assert "agreement_with_float" not in res["models"]["tiny_int8"]


def test_agreement_of_identical_and_disjoint_masks() -> None:
    a = np.zeros((8, 8), np.uint8)
    a[:4] = 1
    p = np.full((4, 4), 0.7, np.float32)
    same = agreement([a], [a], [p], [p])
    assert same["dice"] == 1.0 and same["mean_abs_prob_diff"] == 0.0
    other = agreement([1 - a], [a], [p * 0], [p])
    assert other["dice"] == 0.0 and other["mean_abs_prob_diff"] == pytest.approx(0.7)


def test_pooled_agreement_is_not_sunk_by_a_tiny_blob_on_an_empty_slice() -> None:
    """Tumour-free slices: a 1-pixel blob where the reference is empty is Dice 0 per image, not pooled."""
    big = np.zeros((16, 16), np.uint8)
    big[:8] = 1  # 128 lesion pixels, identical in both
    empty, blob = np.zeros_like(big), np.zeros_like(big)
    blob[15, 15] = 1
    p = np.zeros((4, 4), np.float32)
    res = agreement([big, blob, empty], [big, empty, empty], [p] * 3, [p] * 3)
    assert res["dice"] == pytest.approx((1 + 0 + 1) / 3)  # empty-vs-empty counts as agreement
    assert res["pooled_dice"] == pytest.approx(2 * 128 / (2 * 128 + 1))
    assert res["empty_mismatches"] == 1


def test_pick_pair_prefers_keras_float_and_int8() -> None:
    names = [FLOAT_NAME, "m_float32", "m_int8", "m_fp16"]
    quant = {"m_float32": "float32", "m_int8": "int8", "m_fp16": "float16"}
    assert pick_pair(names, quant) == (FLOAT_NAME, "m_int8")
    assert pick_pair(["a"], {}) is None

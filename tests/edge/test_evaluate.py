"""munet.edge.evaluate: the one evaluator (hand-checked tiny cases) and its TFLite adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.edge.evaluate import (
    Prediction,
    Predictor,
    SegmenterPredictor,
    agreement,
    evaluate,
    finish_mask,
    lesion_split,
    patient_dice,
    predict_pairs,
    run_predictor,
)


def _mask(rows: slice, cols: slice, shape: tuple[int, int] = (4, 4)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    m[rows, cols] = 1
    return m


def test_evaluate_hand_checked_rows_summaries_and_worst() -> None:
    """Two 4x4 images: a perfect one and one with tp 2, fp 2, fn 2 (Dice 0.5, IoU 1/3)."""
    truth_a, truth_b = _mask(slice(0, 2), slice(0, 2)), _mask(slice(0, 1), slice(0, 4))
    pred_b = _mask(slice(0, 2), slice(0, 2))  # overlaps truth_b in 2 px, 2 px extra, misses 2
    ev = evaluate([truth_a.copy(), pred_b], [truth_a, truth_b], names=["a", "b"])
    assert [c["name"] for c in ev.cases] == ["a", "b"]
    assert ev.cases[1]["dice"] == pytest.approx(0.5) and ev.cases[1]["iou"] == pytest.approx(1 / 3)
    assert ev.per_image["dice"] == pytest.approx(0.75)
    assert ev.pixel["dice"] == pytest.approx(2 * 6 / (2 * 6 + 2 + 2))  # pooled: tp 6, fp 2, fn 2
    assert ev.worst(1) == [{"image": "b", "dice": pytest.approx(0.5)}]
    assert ev.agreement is None and not ev.grouped
    assert ev.lesion["patient_dice"] is None and ev.lesion["lesion_images"] == 2


def test_evaluate_groups_give_patient_volume_dice_and_lesion_split() -> None:
    """Patient A: two slices, one perfect, one lesion-free with a false 2 px blob; patient B: one missed lesion."""
    lesion = _mask(slice(0, 2), slice(0, 2))
    empty = np.zeros((4, 4), np.uint8)
    blob = _mask(slice(3, 4), slice(2, 4))
    ev = evaluate([lesion, blob, empty], [lesion, empty, lesion], groups=["A", "A", "B"])
    assert ev.grouped and ev.lesion["patients"] == 2
    assert ev.lesion["patient_dice"] == pytest.approx((2 * 4 / (2 * 4 + 2) + 0.0) / 2)  # A: tp 4, fp 2; B: 0
    assert ev.lesion["dice_lesion_images"] == pytest.approx((1.0 + 0.0) / 2)
    assert ev.lesion["false_positive_share"] == 1.0 and ev.lesion["false_positive_px_median"] == 2.0
    assert ev.lesion == lesion_split(ev.masks, [lesion, empty, lesion]) | patient_dice(
        ev.masks, [lesion, empty, lesion], ["A", "A", "B"]
    )


def test_evaluate_agreement_with_a_reference_uses_masks_and_model_size_probs() -> None:
    a, b = _mask(slice(0, 2), slice(0, 4)), _mask(slice(0, 1), slice(0, 4))
    p, q = np.full((2, 2), 0.9, np.float32), np.full((2, 2), 0.6, np.float32)
    mine = [Prediction(a, p), Prediction(a, p)]
    ref = [Prediction(a, q), Prediction(b, q)]
    ev = evaluate(mine, [a, a], reference=ref)
    assert ev.agreement["dice"] == pytest.approx((1.0 + 2 * 4 / (2 * 4 + 4)) / 2)
    assert ev.agreement["mean_abs_prob_diff"] == pytest.approx(0.3)
    assert ev.agreement["min_dice"] == pytest.approx(2 / 3) and ev.agreement["empty_mismatches"] == 0
    assert ev.agreement == agreement([a, a], [a, b], [p, p], [q, q])
    masks_only = evaluate([a, a], [a, a], reference=[a, b]).agreement  # no probabilities: no mean |Δprob|
    assert "mean_abs_prob_diff" not in masks_only and masks_only["dice"] == ev.agreement["dice"]


def test_finish_mask_resizes_then_thresholds_then_cleans() -> None:
    prob = np.zeros((4, 4), np.float32)
    prob[:2, :2] = 0.9
    mask = finish_mask(prob, (8, 8, 3), 0.5)
    assert mask.shape == (8, 8) and mask.dtype == np.uint8 and 9 <= mask.sum() <= 25
    assert not finish_mask(prob, (8, 8), 0.5, min_area=0.5).any()  # the only component is < half the image
    assert Prediction(mask, prob).prob_at().shape == (8, 8)


class _Constant:
    """A stand-in predictor: probability 0.8 in the image's top half, at a 4x4 'model size'."""

    name, threshold, batch_size = "constant", 0.5, 3

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, images):
        self.calls.append(len(images))
        prob = np.zeros((4, 4), np.float32)
        prob[:2] = 0.8
        return [Prediction(finish_mask(prob, im.shape, self.threshold), prob) for im in images]


def test_run_predictor_batches_lazily_and_keeps_order() -> None:
    fake = _Constant()
    assert isinstance(fake, Predictor)
    images = (np.zeros((h, 6, 3), np.uint8) for h in (4, 6, 8, 10))  # a generator
    preds = run_predictor(fake, images)
    assert fake.calls == [3, 1] and [p.mask.shape for p in preds] == [(4, 6), (6, 6), (8, 6), (10, 6)]
    assert run_predictor(fake, [], batch_size=2) == []


def test_predict_pairs_reads_each_pair_once(tmp_path: Path) -> None:
    from munet.data import find_pairs
    from tests.conftest import write_blob_dataset  # not munet.train: the edge suite also runs without it (aarch64)

    pairs = find_pairs(write_blob_dataset(tmp_path, n=4, size=(40, 48), seed=1), "folder")
    preds, truths = predict_pairs(_Constant(), pairs)
    assert len(preds) == len(truths) == 4
    assert all(p.mask.shape == t.shape == (40, 48) for p, t in zip(preds, truths, strict=True))


def test_segmenter_predictor_is_the_edge_segmenter(tiny_int8: Path, edge_images: Path) -> None:
    """Masks and probabilities are the Segmenter's own; a given threshold re-thresholds its probabilities."""
    from munet.edge.runtime import Segmenter
    from munet.imageio import load_image

    images = [load_image(p) for p in sorted(edge_images.glob("*.png"))]
    seg = Segmenter(tiny_int8, threads=1)
    predictor = SegmenterPredictor(tiny_int8, threads=1)
    assert isinstance(predictor, Predictor) and predictor.name == "tiny_int8" and predictor.threshold == 0.5
    preds = run_predictor(predictor, images)
    for im, p in zip(images, preds, strict=True):
        r = seg.segment(im)
        assert np.array_equal(p.mask, r.mask) and np.array_equal(p.prob, r.prob) and p.mask.shape == im.shape[:2]
    strict = run_predictor(SegmenterPredictor(seg, threshold=0.99), images)
    for im, p in zip(images, strict, strict=True):
        assert np.array_equal(p.mask, finish_mask(p.prob, im.shape, 0.99))

"""NumPy metrics against values worked out by hand (TF-free)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from munet.edge.metrics import (
    METRIC_NAMES,
    Stats,
    auroc,
    binarize,
    compute_metrics,
    confusion,
    dice,
    isic_thresholded_jaccard,
    score,
    top_share,
)

# Image A: pred [[1,1,0],[0,1,0]] vs truth [[1,0,0],[1,1,0]]
#   TP = (0,0),(1,1) = 2 ; FP = (0,1) = 1 ; FN = (1,0) = 1 ; TN = (0,2),(1,2) = 2
PRED_A = np.array([[1, 1, 0], [0, 1, 0]], np.uint8)
TRUE_A = np.array([[1, 0, 0], [1, 1, 0]], np.uint8)
# Image B: empty prediction on an empty truth -> TN = 6 and every score is 1.
PRED_B = np.zeros((2, 3), np.uint8)
TRUE_B = np.zeros((2, 3), np.uint8)


def test_confusion_counts() -> None:
    assert confusion(PRED_A, TRUE_A) == Stats(tp=2, fp=1, fn=1, tn=2)
    assert confusion(PRED_B, TRUE_B) == Stats(0, 0, 0, 6)
    with pytest.raises(ValueError, match="shape"):
        confusion(PRED_A, np.zeros((3, 3)))


def test_single_image_by_hand() -> None:
    m = compute_metrics([PRED_A], [TRUE_A])
    assert set(m) == set(METRIC_NAMES)
    assert m["accuracy"] == pytest.approx(4 / 6)  # (TP+TN)/6
    assert m["precision"] == pytest.approx(2 / 3)  # 2/(2+1)
    assert m["recall"] == pytest.approx(2 / 3)  # 2/(2+1)
    assert m["iou"] == pytest.approx(0.5)  # 2/(2+1+1)
    assert m["dice"] == pytest.approx(2 / 3)  # 4/(4+1+1)
    assert m["tversky"] == pytest.approx(2 / (2 + 0.7 * 1 + 0.3 * 1))
    # background IoU = TN/(TN+FP+FN) = 2/4; mean IoU = (0.5 + 0.5)/2
    assert m["miou"] == pytest.approx(0.5)
    assert m["isic_jaccard"] == 0.0  # 0.5 < 0.65 -> 0


def test_reductions_differ_as_computed_by_hand() -> None:
    per_image = compute_metrics([PRED_A, PRED_B], [TRUE_A, TRUE_B], reduction="per-image")
    pixel = compute_metrics(np.stack([PRED_A, PRED_B]), np.stack([TRUE_A, TRUE_B]), reduction="pixel")
    # per image: mean of image A's value and 1.0 for the empty image B
    assert per_image["accuracy"] == pytest.approx((4 / 6 + 1) / 2)
    assert per_image["iou"] == pytest.approx((0.5 + 1) / 2)
    assert per_image["dice"] == pytest.approx((2 / 3 + 1) / 2)
    assert per_image["miou"] == pytest.approx((0.5 + 1) / 2)
    # pooled counts: TP 2, FP 1, FN 1, TN 8
    assert pixel["accuracy"] == pytest.approx(10 / 12)
    assert pixel["iou"] == pytest.approx(0.5)
    assert pixel["dice"] == pytest.approx(2 / 3)
    assert pixel["miou"] == pytest.approx((0.5 + 8 / 10) / 2)
    # ISIC score is per image in both: (0 + 1) / 2
    assert per_image["isic_jaccard"] == pixel["isic_jaccard"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="reduction"):
        compute_metrics([PRED_A], [TRUE_A], reduction="macro")


def test_score_gives_cases_and_both_reductions_like_compute_metrics() -> None:
    lone = np.zeros((2, 3), np.uint8)
    lone[0, 0] = 1  # a one-pixel blob on a tumour-free image: Dice 0 for that image
    res = score([PRED_A, PRED_B, lone], [TRUE_A, TRUE_B, TRUE_B], names=["a", "b", "c"])
    preds, truths = [PRED_A, PRED_B, lone], [TRUE_A, TRUE_B, TRUE_B]
    assert res["images"] == 3 and res["empty_mismatches"] == 1
    assert res["per-image"] == compute_metrics(preds, truths, "per-image")
    assert res["pixel"] == compute_metrics(preds, truths, "pixel")
    assert [c["name"] for c in res["cases"]] == ["a", "b", "c"]
    assert [c["dice"] for c in res["cases"]] == pytest.approx([2 / 3, 1.0, 0.0])
    assert res["per-image"]["dice"] == pytest.approx((2 / 3 + 1) / 3)
    assert res["cases"][1]["isic_jaccard"] == 1.0 and res["cases"][0]["isic_jaccard"] == 0.0
    assert score([PRED_A], [TRUE_A])["cases"][0]["name"] == "0"
    with pytest.raises(ValueError, match="names"):
        score([PRED_A], [TRUE_A], names=["a", "b"])


def test_empty_prediction_on_lesion_scores_zero_precision() -> None:
    m = compute_metrics([np.zeros((2, 3))], [TRUE_A])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["dice"] == 0.0
    # false alarm on an empty truth: recall 0 (something was predicted where nothing is)
    m = compute_metrics([PRED_A], [TRUE_B])
    assert m["recall"] == 0.0 and m["iou"] == 0.0


def test_isic_thresholded_jaccard_binarises_at_128() -> None:
    truth = np.zeros((4, 5), np.uint8)
    truth[:2, :] = 255  # 10 lesion pixels
    pred = np.zeros((4, 5), np.uint8)
    pred[0, :] = 255
    pred[1, :2] = 200  # 7 pixels > 128
    pred[1, 2:] = 128  # = 128 is background in ISIC scoring
    # Jaccard 7/10 = 0.7 >= 0.65 kept; second image 0.5 -> 0; third empty-vs-empty -> 1
    score = isic_thresholded_jaccard([pred, PRED_A * 255, PRED_B], [truth, TRUE_A * 255, TRUE_B])
    assert score == pytest.approx((0.7 + 0 + 1) / 3)


def test_binarize_and_dice() -> None:
    assert binarize(np.array([0, 128, 129, 255])).tolist() == [False, False, True, True]
    assert binarize(np.array([0.2, 0.5, 0.51])).tolist() == [False, False, True]
    assert binarize(np.array([0, 1], np.uint8)).tolist() == [False, True]
    assert dice(PRED_A, TRUE_A) == pytest.approx(2 / 3)
    assert dice(PRED_B, TRUE_B) == 1.0
    assert not math.isnan(dice(np.zeros((0,)), np.zeros((0,))))


def test_edge_metrics_do_not_import_tensorflow() -> None:
    import subprocess
    import sys

    code = "import sys, munet.edge.metrics; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_auroc_hand_computed_cases() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of the 4 pairs ordered right
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    # a positive tied with a negative counts one half: (0.5 + 1 + 1 + 1) / 4
    assert auroc([0.5, 0.5, 0.2, 0.9], [True, False, False, True]) == pytest.approx(0.875)
    assert auroc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0 and auroc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert auroc([0.3, 0.3, 0.3], [1, 0, 1]) == pytest.approx(0.5)
    assert auroc([0.1, 0.2], [True, True]) is None and auroc([0.1, 0.2], [0, 0]) is None


def test_auroc_equals_the_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 60).astype(float)  # many ties
    labels = rng.random(60) < 0.3
    pos, neg = scores[labels], scores[~labels]
    pairwise = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (
        pos.size * neg.size
    )
    assert auroc(scores, labels) == pytest.approx(pairwise)


def test_top_share_counts_bad_images_among_the_most_uncertain() -> None:
    scores = [0.9, 0.1, 0.8, 0.2, 0.3, 0.05, 0.15, 0.25, 0.35, 0.45, 0.5, 0.6]  # 12 images -> top 2 (ceil 1.2)
    bad = [True, False, False, False, False, False, False, False, False, False, False, True]
    assert top_share(scores, bad, 0.1) == (0.5, 2)
    assert top_share(scores, bad, share=0.25) == (pytest.approx(2 / 3), 3)  # 0.9 and 0.6 bad, 0.8 not
    assert top_share([], [], 0.1) == (None, 0)

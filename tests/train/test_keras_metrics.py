"""Keras training metrics agree with the NumPy evaluation metrics (both reductions)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from munet.edge.metrics import compute_metrics  # noqa: E402
from munet.train.keras_metrics import KINDS, SegmentationMetric, training_metrics  # noqa: E402


def _batches() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = np.zeros((6, 8, 8, 1), np.float32)
    y[0, 2:6, 2:6] = 1
    y[1, :4] = 1
    y[3, 1:3, 1:7] = 1
    y[4] = 1  # all lesion
    # image 2 and 5: empty truth
    p = np.clip(y * 0.7 + rng.uniform(0, 0.45, y.shape), 0, 1).astype(np.float32)
    p[5] = 0.1  # empty prediction on an empty truth -> every score 1
    p[3] = 0.2  # empty prediction on a lesion -> precision 0
    return y, p


@pytest.mark.parametrize("reduction", ["pixel", "per-image"])
def test_keras_metrics_match_numpy(reduction: str) -> None:
    y, p = _batches()
    expected = compute_metrics(p > 0.5, y, reduction=reduction)
    for kind in KINDS:
        metric = SegmentationMetric(kind, reduction)
        metric.update_state(y[:4], p[:4])  # two batches, accumulated like an epoch
        metric.update_state(y[4:], p[4:])
        assert float(metric.result()) == pytest.approx(expected[kind], abs=1e-6), kind
        metric.reset_state()
        assert float(metric.result()) in (0.0, 1.0)


def test_hand_computed_dice_and_serialisation() -> None:
    # truth [1,1,0,0], prediction [0.9, 0.4, 0.6, 0.1] thresholded -> [1,0,1,0]: TP 1, FP 1, FN 1
    y = np.array([1, 1, 0, 0], np.float32).reshape(1, 2, 2, 1)
    p = np.array([0.9, 0.4, 0.6, 0.1], np.float32).reshape(1, 2, 2, 1)
    metric = SegmentationMetric("dice")
    metric.update_state(y, p)
    assert float(metric.result()) == pytest.approx(2 / 4)  # 2TP / (2TP + FP + FN)
    again = keras.metrics.deserialize(keras.metrics.serialize(SegmentationMetric("tversky", "per-image")))
    assert (again.kind, again.reduction, again.name) == ("tversky", "per-image", "tversky_per_image")
    names = [m.name for m in training_metrics()]
    assert names[:7] == list(KINDS) and "dice_per_image" in names
    with pytest.raises(ValueError, match="unknown metric"):
        SegmentationMetric("f1")

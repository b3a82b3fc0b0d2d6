"""Keras metrics for training logs, the same definitions as :mod:`munet.edge.metrics` (NumPy).

Each metric thresholds the sigmoid output at 0.5, counts TP/FP/FN/TN and reduces either
``"pixel"`` (counts pooled over the epoch, the default for logs) or ``"per-image"`` (mean of
per-image values), with the same empty-mask conventions as the NumPy version; a test checks that
both agree. ``iou`` is the lesion Jaccard and ``miou`` the two-class mean IoU: the paper's "IoU"
(Table 1, larger than its Dice) can only be the latter, see :mod:`munet.edge.metrics`.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from munet.edge.metrics import TVERSKY_FN_WEIGHT, TVERSKY_FP_WEIGHT

KINDS = ("accuracy", "precision", "recall", "iou", "dice", "tversky", "miou")


def _ratio(num: Any, den: Any, empty: Any) -> Any:
    return ops.where(den > 0, num / ops.maximum(den, 1e-12), empty)


def score_from_counts(kind: str, tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """Metric ``kind`` from (possibly batched) float confusion counts, NumPy conventions included."""
    one, zero = ops.ones_like(tp), ops.zeros_like(tp)
    if kind == "accuracy":
        return _ratio(tp + tn, tp + fp + fn + tn, one)
    if kind == "precision":
        return _ratio(tp, tp + fp, ops.where(fn == 0, one, zero))
    if kind == "recall":
        return _ratio(tp, tp + fn, ops.where(fp == 0, one, zero))
    if kind == "iou":
        return _ratio(tp, tp + fp + fn, one)
    if kind == "dice":
        return _ratio(2 * tp, 2 * tp + fp + fn, one)
    if kind == "tversky":
        return _ratio(tp, tp + TVERSKY_FN_WEIGHT * fn + TVERSKY_FP_WEIGHT * fp, one)
    if kind == "miou":
        return (_ratio(tp, tp + fp + fn, one) + _ratio(tn, tn + fp + fn, one)) / 2.0
    raise ValueError(f"unknown metric kind {kind!r}; choose one of {', '.join(KINDS)}")


@keras.saving.register_keras_serializable(package="munet")
class SegmentationMetric(keras.metrics.Metric):
    """A thresholded binary-segmentation metric (see module docstring).

    Args:
        kind: one of :data:`KINDS`.
        reduction: ``"pixel"`` or ``"per-image"``.
        threshold: probabilities above it are lesion.
    """

    def __init__(
        self,
        kind: str = "dice",
        reduction: str = "pixel",
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown metric kind {kind!r}; choose one of {', '.join(KINDS)}")
        if reduction not in ("pixel", "per-image"):
            raise ValueError(f"reduction {reduction!r}: choose pixel or per-image")
        default = kind if reduction == "pixel" else f"{kind}_per_image"
        super().__init__(name=name or default, dtype=dtype)
        self.kind, self.reduction, self.threshold = kind, reduction, float(threshold)
        # pixel: tp, fp, fn, tn ; per-image: sum of scores, number of images
        self.counts = self.add_variable(shape=(4,), initializer="zeros", name="counts", aggregation="sum")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        p = ops.cast(ops.cast(y_pred, "float32") > self.threshold, "float32")
        t = ops.cast(ops.cast(y_true, "float32") > 0.5, "float32")
        n = ops.shape(p)[0]
        p = ops.reshape(p, (n, -1))
        t = ops.reshape(t, (n, -1))
        tp = ops.sum(p * t, axis=1)
        fp = ops.sum(p * (1 - t), axis=1)
        fn = ops.sum((1 - p) * t, axis=1)
        tn = ops.sum((1 - p) * (1 - t), axis=1)
        if self.reduction == "pixel":
            update = ops.stack([ops.sum(tp), ops.sum(fp), ops.sum(fn), ops.sum(tn)])
        else:
            scores = score_from_counts(self.kind, tp, fp, fn, tn)
            count = ops.cast(ops.shape(scores)[0], "float32")
            update = ops.stack([ops.sum(scores), count, ops.zeros(()), ops.zeros(())])
        self.counts.assign_add(ops.cast(update, self.counts.dtype))

    def result(self) -> Any:
        c = self.counts
        if self.reduction == "pixel":
            return score_from_counts(self.kind, c[0], c[1], c[2], c[3])
        return _ratio(c[0], c[1], ops.zeros_like(c[0]))

    def reset_state(self) -> None:
        self.counts.assign(ops.zeros_like(self.counts))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kind": self.kind, "reduction": self.reduction, "threshold": self.threshold}


def training_metrics(threshold: float = 0.5) -> list[SegmentationMetric]:
    """The metrics logged while training (pixel-pooled over each epoch): the paper's six + ``miou``,
    plus the per-image Dice (``dice_per_image``), the number usually reported for ISIC."""
    out = [SegmentationMetric(kind, "pixel", threshold) for kind in KINDS]
    out.append(SegmentationMetric("dice", "per-image", threshold))
    return out

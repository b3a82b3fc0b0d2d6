"""Segmentation metrics in NumPy (TF-free): confusion counts, then an explicit reduction.

The paper (Nampalle et al., Sec. 5.2) reports six metrics: accuracy, precision, recall, IoU, Dice
and the Tversky index. Its Table 1 lists an "IoU" *larger* than its Dice, which is impossible for
the Jaccard index of the lesion (IoU = Dice / (2 - Dice) <= Dice). Only a mean IoU over both
classes (lesion and background) can exceed the lesion Dice, so we report both: ``iou`` is the
lesion Jaccard, ``miou`` the two-class mean IoU. ``isic_jaccard`` is the ISIC 2018 thresholded
Jaccard of the official isic-challenge-scoring package.

Reductions (as in segmentation_models.pytorch's ``get_stats`` + reduction):

- ``"per-image"`` (macro): the metric of every image, then the mean over images;
- ``"pixel"`` (global, micro): confusion counts summed over all images, then the metric once.

Empty denominators follow "nothing to get wrong scores 1": an empty prediction on an empty truth
has IoU = Dice = precision = recall = 1; an empty prediction on a non-empty truth has precision 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Tversky weights of the paper's loss (FN-heavy, Abraham & Khan 2019).
TVERSKY_FN_WEIGHT = 0.7
TVERSKY_FP_WEIGHT = 0.3
#: The ISIC 2018 challenge sets per-image Jaccard values below this to 0.
ISIC_JACCARD_THRESHOLD = 0.65

METRIC_NAMES = ("accuracy", "precision", "recall", "iou", "dice", "tversky", "miou", "isic_jaccard")
REDUCTIONS = ("per-image", "pixel")


@dataclass(frozen=True)
class Stats:
    """Binary confusion counts of one image (or of several, summed)."""

    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def binarize(mask: np.ndarray) -> np.ndarray:
    """Boolean mask: bools as they are; 0..255 masks (max > 1) at ``> 128`` (ISIC scoring); else ``> 0.5``.

    So {0, 1} masks, {0, 255} masks and probability maps in [0, 1] all binarise as expected.
    """
    a = np.asarray(mask)
    if a.dtype == bool:
        return a
    if a.size and float(a.max()) > 1.0:
        return a > 128
    return a > 0.5


def confusion(pred: np.ndarray, truth: np.ndarray) -> Stats:
    """Confusion counts of a predicted mask against a ground-truth mask of the same shape."""
    p = binarize(pred).squeeze()
    t = binarize(truth).squeeze()
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from ground-truth shape {t.shape}")
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return Stats(tp, fp, fn, int(p.size) - tp - fp - fn)


def _ratio(num: float, den: float, empty: float) -> float:
    return float(num) / float(den) if den > 0 else float(empty)


def accuracy(s: Stats) -> float:
    """(TP + TN) / all pixels (the paper's Eq. 15)."""
    return _ratio(s.tp + s.tn, s.total, 1.0)


def precision(s: Stats) -> float:
    """TP / (TP + FP) (Eq. 20); nothing predicted scores 1 only if the truth is empty too."""
    return _ratio(s.tp, s.tp + s.fp, 1.0 if s.fn == 0 else 0.0)


def recall(s: Stats) -> float:
    """TP / (TP + FN) (Eq. 21); an empty truth scores 1 only if nothing was predicted."""
    return _ratio(s.tp, s.tp + s.fn, 1.0 if s.fp == 0 else 0.0)


def iou(s: Stats) -> float:
    """Jaccard index of the lesion, TP / (TP + FP + FN) (Eq. 18)."""
    return _ratio(s.tp, s.tp + s.fp + s.fn, 1.0)


def dice_score(s: Stats) -> float:
    """Dice coefficient 2TP / (2TP + FP + FN) (Eq. 19)."""
    return _ratio(2 * s.tp, 2 * s.tp + s.fp + s.fn, 1.0)


def tversky(s: Stats, fn_weight: float = TVERSKY_FN_WEIGHT, fp_weight: float = TVERSKY_FP_WEIGHT) -> float:
    """Tversky index TP / (TP + w_fn FN + w_fp FP) without smoothing (Eq. 16 with delta = 0)."""
    return _ratio(s.tp, s.tp + fn_weight * s.fn + fp_weight * s.fp, 1.0)


def miou(s: Stats) -> float:
    """Mean IoU over the two classes: (IoU(lesion) + IoU(background)) / 2."""
    background = _ratio(s.tn, s.tn + s.fp + s.fn, 1.0)
    return (iou(s) + background) / 2.0


#: Metric name -> function of confusion counts (``isic_jaccard`` is per image by definition: see below).
METRICS: dict[str, Callable[[Stats], float]] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "iou": iou,
    "dice": dice_score,
    "tversky": tversky,
    "miou": miou,
}


def _as_list(masks: np.ndarray | Sequence[np.ndarray] | Iterable[np.ndarray]) -> list[np.ndarray]:
    if isinstance(masks, np.ndarray):
        if masks.ndim == 2:
            return [masks]
        return list(masks)  # (N, H, W) or (N, H, W, 1)
    return [np.asarray(m) for m in masks]


def _pairs(preds: object, truths: object) -> list[Stats]:
    p_list, t_list = _as_list(preds), _as_list(truths)  # type: ignore[arg-type]
    if len(p_list) != len(t_list):
        raise ValueError(f"{len(p_list)} predictions but {len(t_list)} ground-truth masks")
    if not p_list:
        raise ValueError("no masks to score")
    return [confusion(p, t) for p, t in zip(p_list, t_list, strict=True)]


def isic_thresholded_jaccard(
    preds: np.ndarray | Sequence[np.ndarray], truths: np.ndarray | Sequence[np.ndarray]
) -> float:
    """ISIC 2018 Task 1 score: per-image Jaccard, set to 0 below 0.65, averaged over images.

    Masks are binarised at ``> 128`` for 0..255 inputs (see :func:`binarize`); an empty
    prediction on an empty truth scores 1, as in isic-challenge-scoring.
    """
    return _isic_from_stats(_pairs(preds, truths))


def _isic_from_stats(stats: list[Stats]) -> float:
    scores = [iou(s) for s in stats]
    return float(np.mean([j if j >= ISIC_JACCARD_THRESHOLD else 0.0 for j in scores]))


def compute_metrics(
    preds: np.ndarray | Sequence[np.ndarray],
    truths: np.ndarray | Sequence[np.ndarray],
    reduction: str = "per-image",
) -> dict[str, float]:
    """All of :data:`METRIC_NAMES` for a set of predicted and true masks.

    Args:
        preds, truths: masks as ``(N, H, W[, 1])`` arrays or sequences of ``(H, W)`` arrays
            (bool, {0, 1}, {0, 255} or probabilities, see :func:`binarize`).
        reduction: ``"per-image"`` (mean of per-image values) or ``"pixel"`` (counts pooled
            over all images). ``isic_jaccard`` is always per image (its definition).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction {reduction!r}: choose one of {', '.join(REDUCTIONS)}")
    stats = _pairs(preds, truths)
    if reduction == "pixel":
        pooled = stats[0]
        for s in stats[1:]:
            pooled = pooled + s
        out = {name: fn(pooled) for name, fn in METRICS.items()}
    else:
        out = {name: float(np.mean([fn(s) for s in stats])) for name, fn in METRICS.items()}
    out["isic_jaccard"] = _isic_from_stats(stats)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two binary masks (1.0 when both are empty)."""
    return dice_score(confusion(a, b))


def score(
    predictions: np.ndarray | Sequence[np.ndarray],
    truths: np.ndarray | Sequence[np.ndarray],
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score a set of predicted masks against their truths, like nnU-Net's evaluator (JSON-ready).

    Returns ``{"images": N, "per-image": means, "pixel": pooled, "empty_mismatches": n, "cases": [...]}``:
    ``per-image`` and ``pixel`` are :func:`compute_metrics`' two reductions, ``cases`` one entry per image
    (``name`` + every metric of :data:`METRIC_NAMES` except the set-level ``isic_jaccard``, plus its ISIC
    thresholded Jaccard), and ``empty_mismatches`` counts images where exactly one of the two masks is empty
    (each scores Dice 0 per image however small the blob: the tumour-free slices of brain MRI).
    """
    stats = _pairs(predictions, truths)
    if names is not None and len(names) != len(stats):
        raise ValueError(f"{len(names)} names for {len(stats)} masks")
    pooled = stats[0]
    for s in stats[1:]:
        pooled = pooled + s
    cases = []
    for i, s in enumerate(stats):
        case: dict[str, Any] = {"name": names[i] if names is not None else str(i)}
        case.update({k: fn(s) for k, fn in METRICS.items()})
        case["isic_jaccard"] = _isic_from_stats([s])
        cases.append(case)
    isic = _isic_from_stats(stats)
    per_image = {k: float(np.mean([c[k] for c in cases])) for k in METRICS}
    return {
        "images": len(stats),
        "per-image": {**per_image, "isic_jaccard": isic},
        "pixel": {**{k: fn(pooled) for k, fn in METRICS.items()}, "isic_jaccard": isic},
        "empty_mismatches": sum(1 for s in stats if (s.tp + s.fp == 0) != (s.tp + s.fn == 0)),
        "cases": cases,
    }


# ------------------------------------------------- how well a per-image score (e.g. TTA uncertainty) finds bad images
def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve of ``scores`` for the positive ``labels``, rank-based (Mann-Whitney U).

    Tied scores share their average rank (a tie between a positive and a negative counts one half);
    ``None`` when all labels are equal (no curve).
    """
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels, bool)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    _, first, counts = np.unique(s[order], return_index=True, return_counts=True)
    ranks = np.empty(y.size, np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # 1-based average rank of each tie group
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def top_share(scores: Sequence[float], labels: Sequence[bool], share: float) -> tuple[float | None, int]:
    """The fraction of positive ``labels`` among the ``ceil(share * n)`` highest ``scores`` (earlier first on ties),
    and that count."""
    n = len(scores)
    if n == 0:
        return None, 0
    k = max(1, math.ceil(share * n))
    top = np.argsort(-np.asarray(scores, np.float64), kind="stable")[:k]
    return float(np.mean(np.asarray(labels, bool)[top])), k

"""Mask clean-up after the paper's 0.5 threshold, at the original image size.

Steps, in this fixed order (:func:`clean_mask`): drop components smaller than ``min_area`` (a fraction of the
image area, so one value fits any output size; an image whose largest component is that small becomes empty: the
image-level "no lesion" decision), keep the largest component, fill holes. ``min_area`` comes from the model's
metadata, calibrated on training images by :func:`calibrate_min_area` (``munet-convert --calibrate-postproc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from munet.edge.preprocess import postprocess

#: Candidate ``min_area`` fractions tried by ``munet-convert --calibrate-postproc`` (0 = off).
MIN_AREA_CANDIDATES = (0.0, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3)
#: Calibration keeps the smallest candidate whose mean Dice is within this of the best.
MIN_AREA_TOLERANCE = 0.001


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected foreground component of a ``{0, 1}`` uint8 mask."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:  # background only, or a single component
        return mask.astype(np.uint8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions of a ``{0, 1}`` mask that do not touch the image border."""
    mask = mask.astype(np.uint8)
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = padded.copy()
    ff_mask = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(flood, ff_mask, (0, 0), 1)  # every background pixel reachable from the border becomes 1
    holes = flood[1:-1, 1:-1] == 0
    out = mask.copy()
    out[holes] = 1
    return out


def min_area_pixels(min_area: float, shape: tuple[int, ...]) -> float:
    """``min_area`` (a fraction of the image area) in pixels of an image of ``shape`` (H, W, ...)."""
    return float(min_area) * int(shape[0]) * int(shape[1])


def remove_small_components(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Drop the 8-connected components of a ``{0, 1}`` mask with fewer pixels than ``min_area`` x H x W.

    ``min_area`` is a fraction of the image area (0 keeps everything). When even the largest component is
    smaller, the mask comes back empty: the image-level "no lesion" decision.
    """
    mask = mask.astype(np.uint8)
    if min_area <= 0 or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area_pixels(min_area, mask.shape)
    return keep[labels].astype(np.uint8)


def clean_mask(mask: np.ndarray, keep_largest: bool = False, holes: bool = False, min_area: float = 0.0) -> np.ndarray:
    """Apply the clean-up steps in a fixed order: small components (``min_area``), largest component, holes."""
    if min_area > 0:
        mask = remove_small_components(mask, min_area)
    if keep_largest:
        mask = keep_largest_component(mask)
    if holes:
        mask = fill_holes(mask)
    return mask


def finish_mask(
    prob: np.ndarray,
    shape: tuple[int, ...],
    threshold: float = 0.5,
    min_area: float = 0.0,
    keep_largest: bool = False,
    holes: bool = False,
) -> np.ndarray:
    """A model-size probability map -> the mask at the original ``shape`` (H, W, ...): the shared
    :func:`~munet.edge.preprocess.postprocess` (resize, threshold), then :func:`clean_mask`. What the edge
    ``Segmenter`` does after inference, and what every evaluated model does (:mod:`munet.edge.evaluate`)."""
    mask = postprocess(prob, (int(shape[0]), int(shape[1])), threshold)
    if min_area > 0 or keep_largest or holes:
        mask = clean_mask(mask, keep_largest, holes, min_area)
    return mask


@dataclass
class MinAreaCalibration:
    """What :func:`calibrate_min_area` measured: per candidate, the mean per-image Dice, the Dice over the images
    with a lesion, and the share of lesion-free images left with a false positive."""

    min_area: float
    candidates: list[float]
    dice: list[float]
    lesion_dice: list[float | None]
    fp_share: list[float | None]
    images: int
    empty_images: int
    tolerance: float = MIN_AREA_TOLERANCE
    typical_shape: tuple[int, int] = (0, 0)  # median (H, W) of the images, for the table's pixel column

    def to_dict(self) -> dict[str, object]:
        rows = [
            {"min_area": c, "dice": d, "lesion_dice": ld, "fp_share": fp}
            for c, d, ld, fp in zip(self.candidates, self.dice, self.lesion_dice, self.fp_share, strict=True)
        ]
        return {
            "min_area": self.min_area,
            "images": self.images,
            "empty_images": self.empty_images,
            "tolerance": self.tolerance,
            "candidates": rows,
        }

    def table(self) -> str:
        """A short text block: one line per candidate, the chosen one marked."""
        h, w = self.typical_shape
        head = (
            f"post-processing min_area on {self.images} training images ({self.empty_images} lesion-free); "
            f"smallest within {self.tolerance:g} Dice of the best:"
        )
        lines = [head, f"  {'min_area':>9} {f'px@{h}x{w}':>10} {'Dice':>7} {'lesion Dice':>11} {'FP on empty':>11}"]
        for c, d, ld, fp in zip(self.candidates, self.dice, self.lesion_dice, self.fp_share, strict=True):
            lesion = f"{ld:.4f}" if ld is not None else "-"
            share = f"{fp:.1%}" if fp is not None else "-"
            mark = "  <- chosen" if c == self.min_area else ""
            lines.append(f"  {c:>9g} {min_area_pixels(c, (h, w)):>10.0f} {d:>7.4f} {lesion:>11} {share:>11}{mark}")
        return "\n".join(lines)


def _component_overlaps(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per predicted component: its area and its overlap with ``truth``; and the truth's pixel count."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pred.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.int64)
    overlap = np.bincount(labels[truth], minlength=n)[1:].astype(np.int64)
    return areas, overlap, int(np.count_nonzero(truth))


def calibrate_min_area(
    probs_or_masks: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    candidates: Sequence[float] = MIN_AREA_CANDIDATES,
    tolerance: float = MIN_AREA_TOLERANCE,
    threshold: float = 0.5,
) -> MinAreaCalibration:
    """Pick the ``min_area`` fraction that maximises the mean per-image Dice on TRAINING images.

    Args:
        probs_or_masks: per image, the predicted mask at the truth's size (``{0, 1}``, ``{0, 255}`` or bool) or a
            float probability map at any size (resized to the truth's size, then thresholded at ``threshold``,
            as :func:`munet.edge.preprocess.postprocess` does).
        truths: the ground-truth masks (binarised like :func:`munet.edge.metrics.binarize`).
        candidates: fractions of the image area to try (each in [0, 1)).
        tolerance: the smallest candidate whose mean Dice is within this of the best one wins (prefer less
            post-processing when the gain is noise).

    Dice follows :mod:`munet.edge.metrics` (an empty prediction on an empty truth scores 1). Never calibrate on
    the validation set you report.
    """
    from munet.edge.metrics import binarize

    cands = sorted({float(c) for c in candidates})
    if not cands or any(not 0.0 <= c < 1.0 for c in cands):
        raise ValueError(f"min_area candidates {list(candidates)} must be fractions of the image area in [0, 1)")
    if len(probs_or_masks) != len(truths):
        raise ValueError(f"{len(probs_or_masks)} predictions but {len(truths)} ground-truth masks")
    if not truths:
        raise ValueError("no images to calibrate min_area on")
    per_image = []  # (component areas, their overlaps with the truth, truth pixels, image shape)
    for pred, truth in zip(probs_or_masks, truths, strict=True):
        t = binarize(np.asarray(truth)).squeeze()
        p = np.asarray(pred).squeeze()
        if p.dtype.kind == "f" and (p.shape != t.shape or _soft(p)):
            p = postprocess(p, t.shape, threshold)
        p = binarize(p)
        if p.shape != t.shape:
            raise ValueError(f"prediction shape {p.shape} differs from ground-truth shape {t.shape}")
        per_image.append((*_component_overlaps(p, t), t.shape))
    dice, lesion_dice, fp_share = [], [], []
    empty = [n_true == 0 for _, _, n_true, _ in per_image]
    for c in cands:
        scores = []
        for areas, overlap, n_true, shape in per_image:
            kept = areas >= min_area_pixels(c, shape)  # exactly remove_small_components' rule
            tp = int(overlap[kept].sum())
            fp = int(areas[kept].sum()) - tp
            den = 2 * tp + fp + (n_true - tp)
            scores.append(2 * tp / den if den else 1.0)
        s = np.asarray(scores)
        e = np.asarray(empty)
        dice.append(float(s.mean()))
        lesion_dice.append(float(s[~e].mean()) if (~e).any() else None)
        fp_share.append(float((s[e] < 1.0).mean()) if e.any() else None)
    best = max(dice)
    chosen = next(c for c, d in zip(cands, dice, strict=True) if d >= best - tolerance)
    shapes = np.array([shape[:2] for *_, shape in per_image])
    typical = (int(np.median(shapes[:, 0])), int(np.median(shapes[:, 1])))
    return MinAreaCalibration(
        chosen, cands, dice, lesion_dice, fp_share, len(per_image), sum(empty), tolerance, typical_shape=typical
    )


def _soft(p: np.ndarray) -> bool:
    """True for a probability map (values strictly between 0 and 1), False for a {0, 1} float mask."""
    return bool(np.any((p > 0.0) & (p < 1.0)))

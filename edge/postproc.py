"""Optional mask clean-up after the paper's 0.5 threshold: keep the largest component, fill holes."""

from __future__ import annotations

import cv2
import numpy as np


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


def clean_mask(mask: np.ndarray, keep_largest: bool = False, holes: bool = False) -> np.ndarray:
    """Apply the optional clean-up steps in a fixed order (largest component, then hole filling)."""
    if keep_largest:
        mask = keep_largest_component(mask)
    if holes:
        mask = fill_holes(mask)
    return mask

"""``munet-convert --calibrate-postproc``: calibrate the edge's ``min_area`` on TRAINING images.

The converted model runs through the edge :class:`~munet.edge.runtime.Segmenter` (post-processing off, no TTA) on
up to ``count`` image/mask pairs of the calibration folder, at their original size; then
:func:`munet.edge.postproc.calibrate_min_area` picks the fraction of the image area under which components are
dropped, and the converter stores it in the model's metadata (``ModelInfo.min_area``). Never point it at the
validation set you report: the value would be tuned on it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from munet.edge.postproc import MIN_AREA_CANDIDATES, MIN_AREA_TOLERANCE, MinAreaCalibration, calibrate_min_area
from munet.errors import InputError, MunetError

log = logging.getLogger(__name__)

#: Default number of training image/mask pairs ``--calibrate-postproc`` runs the model on.
POSTPROC_COUNT = 400


class PostprocData:
    """Training image/mask pairs at their original size, loaded once and reused for every converted mode."""

    def __init__(self, data: str | Path, count: int = POSTPROC_COUNT) -> None:
        from munet.convert.representative import find_samples, pick_evenly
        from munet.data import load_pair

        fix = "pass --calib-data DIR with images/ + masks/ of the TRAINING set"
        paired = [s for s in find_samples(data) if s.mask is not None]
        if not paired:
            raise InputError(f"{data}: --calibrate-postproc needs ground-truth masks and this folder has none; {fix}")
        self.images: list[np.ndarray] = []
        self.truths: list[np.ndarray] = []
        bad = []
        for s in pick_evenly(paired, count):
            try:
                image, truth = load_pair(s)  # refuses a mask whose size differs from its image's
            except MunetError as exc:
                bad.append(str(exc))
                continue
            self.images.append(image)
            self.truths.append(truth)
        if bad:
            log.warning("--calibrate-postproc: skipped %d unreadable pair(s), first: %s", len(bad), bad[0])
        if not self.images:
            raise InputError(f"{data}: none of the image/mask pairs could be read for --calibrate-postproc; {fix}")
        self.source = str(data)


def calibrate_tflite(
    tflite: bytes,
    data: PostprocData,
    threshold: float = 0.5,
    candidates: tuple[float, ...] = MIN_AREA_CANDIDATES,
    tolerance: float = MIN_AREA_TOLERANCE,
) -> MinAreaCalibration:
    """Run the TFLite model (bytes) on ``data`` as the edge does (the evaluator's
    :class:`~munet.edge.evaluate.SegmenterPredictor`, masks at the original size, post-processing off), then
    calibrate ``min_area`` on its masks."""
    from munet.edge.evaluate import SegmenterPredictor, run_predictor

    predictor = SegmenterPredictor(tflite, min_area=0.0, threshold=threshold)
    masks = [p.mask for p in run_predictor(predictor, data.images)]
    return calibrate_min_area(masks, data.truths, candidates, tolerance)

"""Accuracy gate: does the TFLite model still segment like the float Keras model?

Runs both on the validation inputs (preprocessed once with the shared function) and compares
masks thresholded at 0.5 (the paper's post-processing, Sec. 3.3.2) with the one evaluator
(:mod:`munet.edge.evaluate`): Dice/IoU of TFLite vs float and the mean absolute probability difference
(its :func:`~munet.edge.evaluate.agreement`), Dice vs the ground truth when masks exist. The gate
fails when the TFLite Dice vs ground truth drops more than ``max_dice_drop`` points below the
float Dice (without masks: when TFLite-vs-float Dice < 1 - max_dice_drop / 100).

Masks are scored at the ORIGINAL image size like every other score: the float masks come from
:func:`munet.convert.api.validation_set` (:class:`munet.train.predictor.KerasPredictor`), the TFLite masks from the
edge :class:`~munet.edge.runtime.Segmenter` (:class:`~munet.edge.evaluate.SegmenterPredictor`), both without
``min_area``: the gate judges quantization, not post-processing. The mean |Δprob| stays at the model size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from munet.convert.representative import InputStats, input_stats
from munet.edge.evaluate import agreement
from munet.edge.evaluate import evaluate as score_predictions


def mean_dice(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """Per-image Dice of binary masks, averaged (empty vs empty = 1): the evaluator's ``per-image`` Dice."""
    return score_predictions(list(preds), list(truths)).per_image["dice"]


def tflite_predictions(model: str | Path | bytes, images: Iterable[np.ndarray], threshold: float = 0.5) -> list[Any]:
    """A ``.tflite`` model's :class:`~munet.edge.evaluate.Prediction` s of RGB uint8 images, masks at their original
    size, through the edge runtime itself (the model's own input quantization and output dequantization), so the
    gate measures what ``munet-run`` will do; no ``min_area``."""
    from munet.convert.quiet import captured_output
    from munet.edge.evaluate import SegmenterPredictor, run_predictor

    with captured_output():
        predictor = SegmenterPredictor(model, threshold=threshold, min_area=0.0)
    return run_predictor(predictor, images)


@dataclass
class GateResult:
    """Outcome of the gate for one TFLite file."""

    mode: str
    n_images: int
    dice_vs_float: float
    iou_vs_float: float
    mean_abs_prob_diff: float
    dice_float_vs_truth: float | None = None
    dice_tflite_vs_truth: float | None = None
    max_dice_drop: float = 1.0
    min_agreement: float | None = None
    passed: bool = True
    reasons: list[str] = field(default_factory=list)

    @property
    def drop_points(self) -> float | None:
        if self.dice_float_vs_truth is None or self.dice_tflite_vs_truth is None:
            return None
        return 100.0 * (self.dice_float_vs_truth - self.dice_tflite_vs_truth)

    def table(self) -> str:
        """A small text table for the console and the report."""
        rows = [
            ("images", f"{self.n_images}"),
            ("Dice TFLite vs float", f"{self.dice_vs_float:.4f}"),
            ("IoU TFLite vs float", f"{self.iou_vs_float:.4f}"),
            ("mean |p_tflite - p_float|", f"{self.mean_abs_prob_diff:.4f}"),
        ]
        if self.dice_float_vs_truth is not None:
            rows += [
                ("Dice float vs truth", f"{self.dice_float_vs_truth:.4f}"),
                ("Dice TFLite vs truth", f"{self.dice_tflite_vs_truth:.4f}"),
                ("drop (points)", f"{self.drop_points:+.2f} (max {self.max_dice_drop:g})"),
            ]
        else:
            rows.append(("min Dice vs float", f"{1 - self.max_dice_drop / 100:.4f} (no masks)"))
        if self.min_agreement is not None:
            rows.append(("min Dice vs float", f"{self.min_agreement:.4f} (--min-agreement)"))
        rows.append(("gate", "PASS" if self.passed else "FAIL"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def diagnose_calibration(
    calib: InputStats | None, val: InputStats, tflite_probs: np.ndarray, float_probs: np.ndarray
) -> list[str]:
    """Reasons that point at the calibration data (empty when nothing looks wrong)."""
    reasons = []
    if calib is not None:
        calib_span, val_span = calib.max - calib.min, val.max - val.min
        if calib.std < 0.25 * val.std or calib_span < 0.5 * val_span:
            reasons.append(
                f"calibration inputs span [{calib.min:.3f}, {calib.max:.3f}] (std {calib.std:.3f}) but validation "
                f"inputs span [{val.min:.3f}, {val.max:.3f}] (std {val.std:.3f}): the calibration images were "
                "preprocessed differently (normalised twice?); calibrate with munet.edge.preprocess.preprocess"
            )
    t_masks, f_masks = tflite_probs > 0.5, float_probs > 0.5
    if np.ptp(tflite_probs) < 1e-3 or (
        len({m.any() for m in t_masks}) == 1 and t_masks.all() != f_masks.all() and (t_masks.all() or not t_masks.any())
    ):
        reasons.append("the TFLite output collapsed to a constant mask: check the calibration data (--calib-data)")
    return reasons


def evaluate(
    mode: str,
    tflite: str | Path | bytes,
    val: Any,
    max_dice_drop: float = 1.0,
    threshold: float = 0.5,
    calib_stats: InputStats | None = None,
    min_agreement: float | None = None,
) -> GateResult:
    """Gate one TFLite model against the float predictions of ``val`` (:class:`munet.convert.api.ValidationSet`).

    Fails when the Dice vs truth drops more than ``max_dice_drop`` points below float (without truth: when the
    per-image Dice vs the float masks is below ``1 - max_dice_drop / 100``) and, with ``min_agreement``, when the
    per-image Dice vs the float masks is below it (a model can keep its Dice vs truth while its masks move).
    """
    preds = tflite_predictions(tflite, val.images(), threshold)
    t_masks, f_masks = [p.mask for p in preds], [p.mask for p in val.float_preds]
    t_probs, f_probs = [p.prob for p in preds], [p.prob for p in val.float_preds]
    vs_float = agreement(t_masks, f_masks, t_probs, f_probs)
    res = GateResult(
        mode=mode,
        n_images=len(preds),
        dice_vs_float=vs_float["dice"],
        iou_vs_float=vs_float["iou"],
        mean_abs_prob_diff=vs_float["mean_abs_prob_diff"],
        max_dice_drop=max_dice_drop,
        min_agreement=min_agreement,
    )
    if val.truths is not None:
        res.dice_float_vs_truth = mean_dice(f_masks, val.truths)
        res.dice_tflite_vs_truth = mean_dice(t_masks, val.truths)
        res.passed = res.drop_points <= max_dice_drop
    else:
        res.passed = res.dice_vs_float >= 1 - max_dice_drop / 100
    agrees = min_agreement is None or res.dice_vs_float >= min_agreement
    if not res.passed:
        calib = calib_stats if mode == "int8" else None
        res.reasons = diagnose_calibration(calib, input_stats(val.x), np.stack(t_probs), np.stack(f_probs))
    if not agrees:
        res.passed = False
        res.reasons.append(f"masks agree with float at Dice {res.dice_vs_float:.4f} < min agreement {min_agreement:g}")
    return res

"""``munet-convert --calibrate-threshold``: the mask threshold chosen on TRAINING images, folded into the model.

The focal Tversky loss weighs a missed lesion pixel 0.7 and a false one 0.3 (paper Sec. 5.2), so its models lean
towards larger masks, and the paper's fixed threshold 0.5 (Sec. 3.3.2) is not where their per-image Dice peaks:
on all five ISIC folds of the shipped recipe the held-out Dice rises with the threshold up to about 0.7
(``benchmarks/results/cv-isic``). :func:`calibrate_threshold` picks the threshold that maximises the mean
per-image Dice of the float model on training image/mask pairs at their original size, and
:func:`fold_threshold` moves it into the model: the logit bias of the mask head drops by ``logit(t)``, so
``sigmoid(z - logit(t)) > 0.5`` exactly where ``sigmoid(z) > t``. Every runtime's 0.5 is then the calibrated
threshold: ``munet-run``, MediaPipe's category mask and the browser page agree without reading any metadata.
The metadata records it (``ModelInfo.folded_threshold``). Never calibrate on the images you report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from munet.errors import InputError

#: Thresholds tried (the paper's 0.5 among them).
THRESHOLD_CANDIDATES = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
#: A candidate must beat the one nearer 0.5 by more than this mean per-image Dice to be chosen (noise guard).
THRESHOLD_TOLERANCE = 0.0005
#: Layers between the logits and the sigmoid that commute with adding a constant (resizes average or copy).
_PASS_THROUGH = ("Resizing", "UpSampling2D")


@dataclass
class ThresholdCalibration:
    """Per candidate threshold, the mean per-image Dice on the training pairs; the chosen one."""

    threshold: float
    candidates: list[float]
    dice: list[float]
    images: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "images": self.images,
            "candidates": [{"threshold": t, "dice": d} for t, d in zip(self.candidates, self.dice, strict=True)],
        }

    def table(self) -> str:
        lines = [f"mask threshold on {self.images} training images (float model), folded into the head's bias:"]
        for t, d in zip(self.candidates, self.dice, strict=True):
            lines.append(f"  {t:>5.2f} {d:.4f}{'  <- chosen' if t == self.threshold else ''}")
        return "\n".join(lines)


def calibrate_threshold(
    probs: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    candidates: Sequence[float] = THRESHOLD_CANDIDATES,
    tolerance: float = THRESHOLD_TOLERANCE,
) -> ThresholdCalibration:
    """The threshold of ``candidates`` with the best mean per-image Dice of ``probs`` (model-size probability
    maps, resized to each truth's size as the edge does) against ``truths``; among candidates within ``tolerance``
    of the best, the one nearest 0.5."""
    from munet.edge.metrics import binarize, dice
    from munet.edge.preprocess import resize_prob

    cands = sorted({float(c) for c in candidates})
    if not cands or any(not 0.0 < c < 1.0 for c in cands):
        raise ValueError(f"threshold candidates {list(candidates)} must lie in (0, 1)")
    if len(probs) != len(truths) or not truths:
        raise ValueError(f"{len(probs)} probability maps for {len(truths)} ground-truth masks")
    scores = np.zeros(len(cands))
    for prob, truth in zip(probs, truths, strict=True):
        t = binarize(np.asarray(truth)).squeeze()
        full = resize_prob(prob, t.shape)  # once per image; each candidate only thresholds it (as postprocess)
        scores += [dice((full > c).astype(np.uint8), t) for c in cands]
    scores /= len(truths)
    best = float(scores.max())
    near = [c for c, s in zip(cands, scores, strict=True) if s >= best - tolerance]
    chosen = min(near, key=lambda c: (abs(c - 0.5), c))
    return ThresholdCalibration(chosen, cands, [round(float(s), 6) for s in scores], len(truths))


def _head(model: Any) -> Any:
    """The layer whose bias sets the mask logits: the producer of the sigmoid ``mask`` layer's input, stepping
    back over resizes."""
    try:
        layer = model.get_layer("mask")
    except ValueError:
        raise InputError(f"{model.name}: no sigmoid layer called 'mask' to fold a threshold into") from None
    for _ in range(4):
        layer = layer.input._keras_history.operation
        if type(layer).__name__ not in _PASS_THROUGH:
            return layer
    return layer


def fold_threshold(model: Any, threshold: float) -> str:
    """Shift ``model``'s mask logits by ``-logit(threshold)`` in place (its head's bias), so that 0.5 on the
    result is ``threshold`` on the original; returns the changed layer's name."""
    if not 0.0 < threshold < 1.0:
        raise InputError(f"threshold {threshold}: must lie in (0, 1)")
    head = _head(model)
    bias = getattr(head, "bias", None)
    if bias is None or int(np.prod(bias.shape)) != 1:
        raise InputError(
            f"{model.name}: the mask head {head.name!r} ({type(head).__name__}) has no one-channel bias to fold "
            "a threshold into; convert without --calibrate-threshold"
        )
    shift = math.log(threshold / (1.0 - threshold))
    bias.assign(np.asarray(bias.numpy() - shift, dtype=bias.numpy().dtype))
    return str(head.name)


def calibrate_keras(
    model: Any, images: Sequence[np.ndarray], truths: Sequence[np.ndarray], candidates: Sequence[float] | None = None
) -> ThresholdCalibration:
    """:func:`calibrate_threshold` of a loaded Keras model's float probabilities on training pairs (``candidates``:
    default :data:`THRESHOLD_CANDIDATES`)."""
    from munet.edge.evaluate import run_predictor
    from munet.train.predictor import KerasPredictor

    preds = run_predictor(KerasPredictor(model, min_area=0.0, name="float"), images)
    return calibrate_threshold([p.prob for p in preds], truths, candidates or THRESHOLD_CANDIDATES)

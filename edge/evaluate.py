"""THE evaluator: run a model over image/mask pairs and score it, the same way for every caller (TF-free).

Every place that scores a model (the trainer's final metrics, ``munet-bench accuracy``, the experiment runner under
``compare``/``pareto``/``flow``, cross-validation, the noise benchmark, post-processing calibration) does it in
two steps:

1. a :class:`Predictor` turns each RGB uint8 image ``(H, W, 3)`` into a :class:`Prediction`: the mask at the
   ORIGINAL size ``(H, W)`` after its threshold and post-processing, and the probability map at the model size.
   :class:`SegmenterPredictor` wraps the edge :class:`~munet.edge.runtime.Segmenter` (a ``.tflite`` model with its
   metadata's threshold and ``min_area``); ``munet.train.predictor.KerasPredictor`` a Keras model. Both make
   inputs with the ONE shared :func:`munet.edge.preprocess.preprocess` and masks with
   :func:`munet.edge.preprocess.postprocess` (probabilities resized to the image, then thresholded), so a float
   model, its TFLite files and the calibration see the same pixels. :func:`run_predictor` runs one over images
   (in the predictor's batches), :func:`predict_pairs` over ``munet.data`` pairs, read one at a time.
2. :func:`evaluate` scores predictions against the truths: per-image rows and the per-image/pixel summaries of
   :func:`munet.edge.metrics.score`, the lesion / lesion-free split (:func:`lesion_split`), the per-patient volume
   Dice on grouped data (:func:`patient_dice`) and, given a reference model's predictions, the agreement with it
   (:func:`agreement`).

It lives in ``munet.edge`` (not the core) because it is built on the edge's metrics, preprocessing, post-processing
and Segmenter, and the core imports nothing above it; it imports no TensorFlow (the Keras adapter is in
``munet.train``). Probabilities stay at the model size in a :class:`Prediction` (:meth:`Prediction.prob_at` resizes
them): thousands of original-size float maps would not fit in memory, and the agreement's mean |Δprob| is defined at
the model size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from munet.edge.metrics import confusion, dice_score, score
from munet.edge.postproc import finish_mask  # noqa: F401  (the adapters' post-processing, importable from here)


@dataclass
class Prediction:
    """One image's prediction: ``mask`` uint8 {0, 1} at the original ``(H, W)`` (threshold and post-processing
    applied), ``prob`` float32 ``(h, w)`` foreground probability at the model size."""

    mask: np.ndarray
    prob: np.ndarray | None = None

    def prob_at(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The probability map resized (linear, as :func:`~munet.edge.preprocess.postprocess` does) to ``shape``
        (default: the mask's, i.e. the original image size)."""
        if self.prob is None:
            raise ValueError("this prediction carries no probability map")
        h, w = (shape or self.mask.shape)[:2]
        prob = np.asarray(self.prob, np.float32)
        return prob if prob.shape == (h, w) else cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


@runtime_checkable
class Predictor(Protocol):
    """Anything that turns RGB uint8 images ``(H, W, 3)`` into :class:`Prediction` s (masks at ``(H, W)``).

    ``batch_size`` is how many images :func:`run_predictor` hands to one :meth:`predict` call; ``threshold`` the
    probability above which a pixel is foreground.
    """

    name: str
    threshold: float
    batch_size: int

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]: ...


class SegmenterPredictor:
    """A ``.tflite`` model through the edge :class:`~munet.edge.runtime.Segmenter`: what ``munet-run`` does.

    Args:
        model: a ``.tflite`` path, its bytes, a bundled model's name, or an open ``Segmenter``.
        threads: interpreter threads (when ``model`` is not a Segmenter).
        threshold: ``None`` keeps the model's metadata threshold (the Segmenter's own masks); a value re-thresholds
            the Segmenter's probabilities (e.g. calibration of a model before its metadata is written).
        min_area: ``None`` keeps the metadata's ``min_area``; 0 turns the small-component removal off.
        **kwargs: further :class:`~munet.edge.runtime.Segmenter` arguments (``backend``, ``tta`` ...).
    """

    batch_size = 1

    def __init__(
        self,
        model: Any,
        threads: int | None = None,
        threshold: float | None = None,
        min_area: float | None = None,
        **kwargs: Any,
    ) -> None:
        from munet.edge.runtime import Segmenter

        if isinstance(model, Segmenter):
            self.seg = model
        else:
            self.seg = Segmenter(model, threads=threads, min_area=min_area, **kwargs)
        self._rethreshold = threshold is not None and float(threshold) != float(self.seg.info.threshold)
        self.threshold = float(self.seg.info.threshold if threshold is None else threshold)
        self.name = self.seg.model_path.stem

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        out = []
        for image in images:
            r = self.seg.segment(image)
            mask = r.mask
            if self._rethreshold:
                s = self.seg
                mask = finish_mask(r.prob, image.shape, self.threshold, s.min_area, s.keep_largest, s.fill_holes)
            out.append(Prediction(mask=mask, prob=r.prob))
        return out


def run_predictor(
    predictor: Predictor, images: Iterable[np.ndarray], batch_size: int | None = None
) -> list[Prediction]:
    """``predictor``'s predictions of ``images`` (any iterable: a generator reads them lazily), in order, handed
    over ``batch_size`` (default: the predictor's own) at a time."""
    size = max(1, int(batch_size or getattr(predictor, "batch_size", 1) or 1))
    out: list[Prediction] = []
    chunk: list[np.ndarray] = []
    for image in images:
        chunk.append(image)
        if len(chunk) == size:
            out.extend(predictor.predict(chunk))
            chunk = []
    if chunk:
        out.extend(predictor.predict(chunk))
    return out


def predict_pairs(
    predictor: Predictor, pairs: Iterable[Any], batch_size: int | None = None
) -> tuple[list[Prediction], list[np.ndarray]]:
    """Predictions and truths of ``munet.data`` pairs, each read once (:func:`munet.data.load_pair`) and its image
    dropped after its batch: the whole set never sits in memory at the original size."""
    from munet.data import load_pair

    truths: list[np.ndarray] = []

    def images() -> Iterable[np.ndarray]:
        for pair in pairs:
            image, truth = load_pair(pair)
            truths.append(truth)
            yield image

    return run_predictor(predictor, images(), batch_size), truths


# ------------------------------------------------------------------------------------------------------ scoring
def _masks(items: Sequence[Any]) -> list[np.ndarray]:
    return [p.mask if isinstance(p, Prediction) else np.asarray(p) for p in items]


def _probs(items: Sequence[Any]) -> list[np.ndarray] | None:
    probs = [p.prob if isinstance(p, Prediction) else None for p in items]
    return None if any(p is None for p in probs) else probs  # type: ignore[return-value]


def lesion_split(masks: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> dict[str, Any]:
    """Dice on the images that have a lesion, and how often an image without one gets a false lesion.

    On a set with many lesion-free images (brain MRI: 73 % of the slices) the per-image Dice mixes two questions
    (empty vs empty scores 1): this splits them. ``false_positive_share``: lesion-free images with any predicted
    pixel; ``false_positive_px_median``: the median size of those false masks in pixels.
    """
    lesion = [(m, t) for m, t in zip(masks, truths, strict=True) if t.any()]
    empty = [m for m, t in zip(masks, truths, strict=True) if not t.any()]
    dice = [dice_score(confusion(m, t)) for m, t in lesion]
    fp_px = [int(np.count_nonzero(m)) for m in empty if m.any()]
    return {
        "lesion_images": len(lesion),
        "lesion_free_images": len(empty),
        "dice_lesion_images": float(np.mean(dice)) if dice else None,
        "false_positive_share": len(fp_px) / len(empty) if empty else None,
        "false_positive_px_median": float(np.median(fp_px)) if fp_px else None,
    }


def patient_dice(masks: Sequence[np.ndarray], truths: Sequence[np.ndarray], groups: Sequence[str]) -> dict[str, Any]:
    """Mean per-patient volume Dice: each patient's (group's) slices pooled into one volume, then averaged over
    patients (Buda et al. 2019 report it for LGG). ``None`` when every image is its own group."""
    if len(set(groups)) == len(groups):
        return {"patients": len(groups), "patient_dice": None}
    volumes: dict[str, Any] = {}
    for m, t, g in zip(masks, truths, groups, strict=True):
        c = confusion(m, t)
        volumes[g] = volumes[g] + c if g in volumes else c
    per = [dice_score(c) for c in volumes.values()]
    return {"patients": len(volumes), "patient_dice": float(np.mean(per)), "patient_dice_median": float(np.median(per))}


def agreement(
    masks: Sequence[np.ndarray],
    ref_masks: Sequence[np.ndarray],
    probs: Sequence[np.ndarray] | None = None,
    ref_probs: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Agreement of a model's masks with a reference model's (the float model): mean per-image mask Dice and IoU,
    the worst image's Dice, pixel agreement, and, given both probability maps (same sizes: the model size), the
    mean |probability difference| (mean over images of the per-image mean).

    On sets with many empty masks (tumour-free MRI slices) a few-pixel blob in one mask and none in the other
    scores a per-image Dice of 0, so the pixel-pooled Dice and the number of such empty-vs-non-empty images are
    reported too.
    """
    s = score(masks, ref_masks)
    out: dict[str, Any] = {"dice": s["per-image"]["dice"], "iou": s["per-image"]["iou"]}
    if probs is not None and ref_probs is not None:
        diffs = [
            float(np.mean(np.abs(np.asarray(p, np.float32) - np.asarray(q, np.float32))))
            for p, q in zip(probs, ref_probs, strict=True)
        ]
        out["mean_abs_prob_diff"] = float(np.mean(diffs))
    return out | {
        "min_dice": float(min(c["dice"] for c in s["cases"])),
        "pixel_agreement": s["per-image"]["accuracy"],
        "pooled_dice": s["pixel"]["dice"],
        "empty_mismatches": s["empty_mismatches"],
    }


@dataclass
class Evaluation:
    """What :func:`evaluate` measured (JSON-ready pieces).

    ``scores``: :func:`munet.edge.metrics.score`'s dict (``images``, ``per-image``, ``pixel``, ``empty_mismatches``,
    ``cases``: one row per image); ``split``: :func:`lesion_split`; ``patients``: :func:`patient_dice`
    (``patient_dice`` ``None`` when every image is its own group); ``agreement``: :func:`agreement` with the
    reference (``None`` without one); ``masks``: the scored masks.
    """

    scores: dict[str, Any]
    split: dict[str, Any]
    patients: dict[str, Any]
    agreement: dict[str, Any] | None = None
    masks: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def lesion(self) -> dict[str, Any]:
        """The lesion split and the per-patient Dice in one dict (``munet-bench accuracy``'s ``lesion_split``)."""
        return self.split | self.patients

    @property
    def per_image(self) -> dict[str, float]:
        return self.scores["per-image"]

    @property
    def pixel(self) -> dict[str, float]:
        return self.scores["pixel"]

    @property
    def cases(self) -> list[dict[str, Any]]:
        return self.scores["cases"]

    @property
    def grouped(self) -> bool:
        """Several images per group (brain MRI slices of one patient)."""
        return self.patients["patient_dice"] is not None

    def worst(self, n: int, metric: str = "dice") -> list[dict[str, Any]]:
        """The ``n`` images with the lowest ``metric`` (earlier first on ties): ``[{"image": name, metric: v}]``."""
        values = [c[metric] for c in self.cases]
        order = np.argsort(values, kind="stable")[: max(0, n)]
        return [{"image": self.cases[i]["name"], metric: values[i]} for i in order]


def evaluate(
    predictions: Sequence[Prediction] | Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    names: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    reference: Sequence[Prediction] | Sequence[np.ndarray] | None = None,
) -> Evaluation:
    """Score predictions (:class:`Prediction` s or masks) against their ground-truth masks (same sizes).

    ``names`` name the per-image rows (default ``"0"``, ``"1"`` ...); ``groups`` the patient of each image (default:
    each image its own group, no per-patient Dice); ``reference``: another model's predictions of the same images
    (the float model), for :func:`agreement` (its mean |Δprob| only when both sides carry probabilities).
    """
    masks = _masks(predictions)
    truths = [np.asarray(t) for t in truths]
    s = score(masks, truths, names)
    keys = list(groups) if groups is not None else [c["name"] for c in s["cases"]]
    agree = None
    if reference is not None:
        agree = agreement(masks, _masks(reference), _probs(predictions), _probs(reference))
    split, patients = lesion_split(masks, truths), patient_dice(masks, truths, keys)
    return Evaluation(scores=s, split=split, patients=patients, agreement=agree, masks=masks)

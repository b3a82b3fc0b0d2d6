"""Segmentation losses (Keras 3): focal Tversky (the paper's), Dice, BCE, BCE + Dice, focal Tversky + BCE, Lovász.

All losses take ``y_true`` in {0, 1} and ``y_pred`` = sigmoid probabilities, both ``(N, H, W, 1)``,
and return one value per image ``(N,)``; Keras then averages over the (global) batch, which keeps
``tf.distribute`` scaling correct. Each loss exists as a function and as a serialisable
``keras.losses.Loss`` class (so ``.keras`` checkpoints reload with their loss), and
:func:`get_loss` maps the CLI names ``focal-tversky | dice | bce | bce-dice | focal-tversky+bce | lovasz |
bce-lovasz`` to them.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import keras
from keras import ops

from munet.errors import MunetError

_AXES = (1, 2, 3)
_EPS = 1e-7


def _prepare(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, "float32")
    if len(y_pred.shape) == 3:  # (N, H, W) -> (N, H, W, 1)
        y_pred = ops.expand_dims(y_pred, -1)
    if len(y_true.shape) == 3:
        y_true = ops.expand_dims(y_true, -1)
    return y_true, y_pred


def tversky_index(y_true: Any, y_pred: Any, fn_weight: float = 0.7, fp_weight: float = 0.3, smooth: float = 1.0) -> Any:
    """Smoothed soft Tversky index per image: (TP + d) / (TP + w_fn FN + w_fp FP + d)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    tp = ops.sum(y_true * y_pred, axis=_AXES)
    fn = ops.sum(y_true * (1.0 - y_pred), axis=_AXES)
    fp = ops.sum((1.0 - y_true) * y_pred, axis=_AXES)
    return (tp + smooth) / (tp + fn_weight * fn + fp_weight * fp + smooth)


def focal_tversky_loss(
    y_true: Any,
    y_pred: Any,
    fn_weight: float = 0.7,
    fp_weight: float = 0.3,
    gamma: float = 0.75,
    smooth: float = 1.0,
    label_smoothing: float = 1e-5,
) -> Any:
    """Focal Tversky loss per image, ``(1 - TI) ** gamma`` (Abraham & Khan, ISBI 2019; paper Sec. 5.2).

    ``TI = (TP + smooth) / (TP + fn_weight * FN + fp_weight * FP + smooth)`` on soft counts, with the
    target label-smoothed first as ``A (1 - eps) + eps`` (the paper's Eq. 17, ``eps = label_smoothing``).

    Weight naming: the paper's Eq. 16 prints ``alpha * FP + beta * FN`` with alpha = 0.7, beta = 0.3,
    i.e. the 0.7 weight on the false positives; but its text says the larger weight "improvises the
    network to reduce the FN", and its source (Abraham & Khan 2019, where alpha = 0.7 multiplies FN)
    weights false negatives more to raise recall. We implement that FN-heavy default and name the
    weights ``fn_weight`` / ``fp_weight`` so they cannot be swapped by accident.
    ``gamma = 0.75`` is the focal exponent of Abraham & Khan (their 1/gamma with gamma = 4/3).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing
    ti = tversky_index(y_true, y_pred, fn_weight=fn_weight, fp_weight=fp_weight, smooth=smooth)
    return ops.power(ops.maximum(1.0 - ti, 0.0), gamma)


def dice_loss(y_true: Any, y_pred: Any, smooth: float = 1.0) -> Any:
    """Soft Dice loss per image: ``1 - (2 TP + smooth) / (sum(y) + sum(p) + smooth)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    inter = ops.sum(y_true * y_pred, axis=_AXES)
    total = ops.sum(y_true, axis=_AXES) + ops.sum(y_pred, axis=_AXES)
    return 1.0 - (2.0 * inter + smooth) / (total + smooth)


def bce_loss(y_true: Any, y_pred: Any) -> Any:
    """Binary cross-entropy per image: the mean over pixels of ``-(y log p + (1-y) log(1-p))``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    p = ops.clip(y_pred, _EPS, 1.0 - _EPS)
    bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(bce, axis=_AXES)


def bce_dice_loss(y_true: Any, y_pred: Any, smooth: float = 1.0) -> Any:
    """BCE + soft Dice per image (equal weights)."""
    return bce_loss(y_true, y_pred) + dice_loss(y_true, y_pred, smooth=smooth)


def focal_tversky_bce_loss(y_true: Any, y_pred: Any) -> Any:
    """Focal Tversky (:func:`focal_tversky_loss`, its defaults) + binary cross-entropy (:func:`bce_loss`) per image,
    equal weights: the region loss drives overlap, the pixel loss keeps a gradient where the sigmoid saturates."""
    return focal_tversky_loss(y_true, y_pred) + bce_loss(y_true, y_pred)


def lovasz_loss(y_true: Any, y_pred: Any) -> Any:
    """Lovász loss per image: the convex surrogate of ``1 - IoU`` (Berman et al., CVPR 2018, binary Lovász-softmax).

    Pixel errors ``|y - p|`` sorted in decreasing order are weighted by the steps of the Jaccard loss along that
    order, so on a binary ``p`` it equals ``1 - |y AND p| / |y OR p|`` exactly: it optimizes the per-image
    Jaccard the benchmarks score, where Dice and BCE only approximate it. An empty ``y`` costs the largest
    false-positive probability.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    n = ops.shape(y_pred)[0]
    truth = ops.reshape(y_true, (n, -1))
    errors = ops.abs(truth - ops.reshape(y_pred, (n, -1)))
    order = ops.flip(ops.argsort(errors, axis=1), axis=1)  # decreasing error
    errors = ops.take_along_axis(errors, order, axis=1)
    truth = ops.take_along_axis(truth, order, axis=1)
    positives = ops.sum(truth, axis=1, keepdims=True)
    jaccard = 1.0 - (positives - ops.cumsum(truth, axis=1)) / (positives + ops.cumsum(1.0 - truth, axis=1))
    steps = ops.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=1)
    return ops.sum(errors * ops.stop_gradient(steps), axis=1)


def bce_lovasz_loss(y_true: Any, y_pred: Any) -> Any:
    """BCE + Lovász per image (equal weights): BCE gives every pixel a gradient early on, Lovász the IoU."""
    return bce_loss(y_true, y_pred) + lovasz_loss(y_true, y_pred)


class _ConfiguredLoss(keras.losses.Loss):
    """A ``keras.losses.Loss`` that calls ``self.fn(y_true, y_pred, **self.kwargs)``."""

    fn: Any = None

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size", **kwargs: Any) -> None:
        super().__init__(name=name or self.default_name, reduction=reduction)
        self.kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return type(self).fn(y_true, y_pred, **self.kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, **self.kwargs}


def _keras_loss(class_name: str, default_name: str, fn: Any) -> type[_ConfiguredLoss]:
    """``fn`` as a registered, serialisable ``_ConfiguredLoss`` subclass named ``class_name`` (``munet>class_name``)."""
    namespace = {
        "__doc__": f":func:`{fn.__name__}` as a Keras loss (keyword arguments as the function's).",
        "__module__": __name__,
        "__qualname__": class_name,
        "default_name": default_name,
        "fn": staticmethod(fn),
    }
    return keras.saving.register_keras_serializable(package="munet")(type(class_name, (_ConfiguredLoss,), namespace))


FocalTverskyLoss = _keras_loss("FocalTverskyLoss", "focal_tversky", focal_tversky_loss)
DiceLoss = _keras_loss("DiceLoss", "dice_loss", dice_loss)
BCELoss = _keras_loss("BCELoss", "bce", bce_loss)
BCEDiceLoss = _keras_loss("BCEDiceLoss", "bce_dice", bce_dice_loss)
FocalTverskyBCELoss = _keras_loss("FocalTverskyBCELoss", "focal_tversky_bce", focal_tversky_bce_loss)
LovaszLoss = _keras_loss("LovaszLoss", "lovasz", lovasz_loss)
BCELovaszLoss = _keras_loss("BCELovaszLoss", "bce_lovasz", bce_lovasz_loss)

LOSSES: dict[str, type[_ConfiguredLoss]] = {
    "focal-tversky": FocalTverskyLoss,
    "dice": DiceLoss,
    "bce": BCELoss,
    "bce-dice": BCEDiceLoss,
    "focal-tversky+bce": FocalTverskyBCELoss,
    "lovasz": LovaszLoss,
    "bce-lovasz": BCELovaszLoss,
}


def available_losses() -> list[str]:
    """Names accepted by :func:`get_loss` and ``munet-train --loss``."""
    return list(LOSSES)


def get_loss(name: str, **kwargs: Any) -> keras.losses.Loss:
    """The loss registered as ``name`` (``focal-tversky|dice|bce|bce-dice|focal-tversky+bce|...``) with keyword args."""
    key = name.strip().lower().replace("_", "-")
    if key not in LOSSES:
        close = difflib.get_close_matches(key, LOSSES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MunetError(f"unknown loss {name!r}{hint}; choose one of: {', '.join(LOSSES)}")
    cls = LOSSES[key]
    allowed = [p for p in inspect.signature(cls.fn).parameters if p not in ("y_true", "y_pred")]
    unknown = sorted(set(kwargs) - set(allowed) - {"name", "reduction"})
    if unknown:
        raise MunetError(f"loss {name!r}: unknown option(s) {', '.join(unknown)}; it accepts: {', '.join(allowed)}")
    return cls(**kwargs)

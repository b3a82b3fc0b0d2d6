"""Losses against values worked out by hand on a 2x2 image."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from munet.errors import MunetError  # noqa: E402
from munet.train.losses import (  # noqa: E402
    BCELovaszLoss,
    FocalTverskyBCELoss,
    FocalTverskyLoss,
    bce_dice_loss,
    bce_loss,
    dice_loss,
    focal_tversky_loss,
    get_loss,
    lovasz_loss,
)

# One 2x2 image: truth [1, 1, 0, 0], prediction [0.9, 0.4, 0.2, 0.0]
Y = np.array([1, 1, 0, 0], np.float32).reshape(1, 2, 2, 1)
P = np.array([0.9, 0.4, 0.2, 0.0], np.float32).reshape(1, 2, 2, 1)
# soft counts: TP = 0.9 + 0.4 = 1.3 ; FN = 0.1 + 0.6 = 0.7 ; FP = 0.2 + 0.0 = 0.2


def _np(x: object) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def test_focal_tversky_by_hand_without_label_smoothing() -> None:
    got = _np(focal_tversky_loss(Y, P, label_smoothing=0.0))
    # TI = (1.3 + 1) / (1.3 + 0.7*0.7 + 0.3*0.2 + 1) = 2.3 / 2.85 ; loss = (1 - TI) ** 0.75
    assert got.shape == (1,)
    assert got[0] == pytest.approx((1 - 2.3 / 2.85) ** 0.75, rel=1e-5)


def test_focal_tversky_weights_false_negatives_more() -> None:
    fn_heavy = _np(focal_tversky_loss(Y, P, label_smoothing=0.0))[0]
    # swapped weights: TI = 2.3 / (1.3 + 0.3*0.7 + 0.7*0.2 + 1) = 2.3 / 2.65
    swapped = _np(focal_tversky_loss(Y, P, fn_weight=0.3, fp_weight=0.7, label_smoothing=0.0))[0]
    assert swapped == pytest.approx((1 - 2.3 / 2.65) ** 0.75, rel=1e-5)
    assert fn_heavy > swapped  # this prediction's error is mostly FN, which the default punishes


def test_focal_tversky_label_smoothing_eq17() -> None:
    # eps = 0.1: y' = y (1 - eps) + eps = [1, 1, 0.1, 0.1]
    # TP = 0.9 + 0.4 + 0.1*0.2 + 0.1*0 = 1.32 ; FN = 0.1 + 0.6 + 0.1*0.8 + 0.1*1 = 0.88
    # FP = 0 + 0 + 0.9*0.2 + 0.9*0 = 0.18 ; TI = 2.32 / (1.32 + 0.7*0.88 + 0.3*0.18 + 1) = 2.32 / 2.99
    got = _np(focal_tversky_loss(Y, P, label_smoothing=0.1))[0]
    assert got == pytest.approx((1 - 2.32 / 2.99) ** 0.75, rel=1e-5)
    # the default eps = 1e-5 moves the value only slightly
    default = _np(focal_tversky_loss(Y, P))[0]
    assert default == pytest.approx((1 - 2.3 / 2.85) ** 0.75, rel=1e-3)
    assert default != pytest.approx((1 - 2.3 / 2.85) ** 0.75, rel=1e-9)


def test_dice_bce_by_hand() -> None:
    # Dice: 1 - (2*1.3 + 1) / (sum y 2 + sum p 1.5 + 1) = 1 - 3.6 / 4.5 = 0.2
    assert _np(dice_loss(Y, P))[0] == pytest.approx(0.2, rel=1e-5)
    # BCE: mean(-ln 0.9, -ln 0.4, -ln 0.8, -ln 1) over 4 pixels
    bce = (-math.log(0.9) - math.log(0.4) - math.log(0.8) - 0.0) / 4
    assert _np(bce_loss(Y, P))[0] == pytest.approx(bce, rel=1e-4)
    assert _np(bce_dice_loss(Y, P))[0] == pytest.approx(bce + 0.2, rel=1e-4)


def test_losses_are_per_image_and_keras_averages_the_batch() -> None:
    y2 = np.concatenate([Y, np.zeros_like(Y)])
    p2 = np.concatenate([P, np.zeros_like(P)])
    per_image = _np(focal_tversky_loss(y2, p2, label_smoothing=0.0))
    # second image: empty truth, empty prediction -> TI = (0 + 1) / (0 + 1) = 1 -> loss 0
    assert per_image.shape == (2,) and per_image[1] == pytest.approx(0.0, abs=1e-7)
    loss = FocalTverskyLoss(label_smoothing=0.0)
    assert float(loss(y2, p2)) == pytest.approx(per_image.mean(), rel=1e-5)


def test_registry_and_serialisation() -> None:
    assert isinstance(get_loss("focal_tversky"), FocalTverskyLoss)
    assert {"focal-tversky", "dice", "bce", "bce-dice"} <= set(get_loss.__globals__["LOSSES"])
    with pytest.raises(MunetError, match="did you mean 'dice'"):
        get_loss("dise")
    with pytest.raises(MunetError, match="unknown option"):
        get_loss("dice", gamma=2.0)
    loss = get_loss("focal-tversky", gamma=1.0, label_smoothing=0.0)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, FocalTverskyLoss)
    # gamma = 1 -> loss = 1 - TI
    assert float(again(Y, P)) == pytest.approx(1 - 2.3 / 2.85, rel=1e-5)


def test_focal_tversky_bce_by_hand() -> None:
    # equal weights: (1 - 2.3 / 2.85) ** 0.75 (label smoothing 1e-5 moves it by ~1e-5) + the BCE above
    bce = (-math.log(0.9) - math.log(0.4) - math.log(0.8) - 0.0) / 4
    expected = (1 - 2.3 / 2.85) ** 0.75 + bce
    assert expected == pytest.approx(0.60236, abs=1e-5)
    loss = get_loss("focal-tversky+bce")
    assert isinstance(loss, FocalTverskyBCELoss)
    assert float(loss(Y, P)) == pytest.approx(expected, rel=1e-4)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, FocalTverskyBCELoss) and float(again(Y, P)) == pytest.approx(expected, rel=1e-4)


def test_every_config_loss_name_is_registered() -> None:
    from munet.train.config import LOSS_NAMES

    assert set(LOSS_NAMES) == set(get_loss.__globals__["LOSSES"])


def test_lovasz_by_hand() -> None:
    # errors |y - p| = [0.1, 0.6, 0.2, 0.0]; in decreasing order 0.6 (y=1), 0.2 (y=0), 0.1 (y=1), 0.0 (y=0).
    # Jaccard loss after each: 1 - (2 - TPs) / (2 + FPs) = 1/2, 2/3, 1, 1 -> steps 1/2, 1/6, 1/3, 0
    got = _np(lovasz_loss(Y, P))
    assert got.shape == (1,)
    assert got[0] == pytest.approx(0.6 / 2 + 0.2 / 6 + 0.1 / 3, rel=1e-5)


def test_lovasz_is_one_minus_iou_on_binary_predictions_and_per_image() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((3, 8, 8, 1)) < 0.4).astype(np.float32)
    p = (rng.random((3, 8, 8, 1)) < 0.5).astype(np.float32)
    iou = (y * p).sum(axis=(1, 2, 3)) / np.maximum(y, p).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(_np(lovasz_loss(y, p)), 1.0 - iou, rtol=1e-5)
    # an empty truth costs the largest false-positive probability
    empty = _np(lovasz_loss(np.zeros_like(Y), P))
    assert empty[0] == pytest.approx(0.9, rel=1e-6)


def test_lovasz_gradient_raises_the_overlap() -> None:
    import tensorflow as tf

    p = tf.Variable(P)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(lovasz_loss(Y, p))
    grad = tape.gradient(loss, p).numpy().ravel()
    # pulls both lesion pixels up and the false-positive pixel down (the last pixel, error 0, has weight 0)
    assert grad[0] < 0 and grad[1] < 0 and grad[2] > 0 and grad[3] == 0


def test_bce_lovasz_by_hand_and_serialised() -> None:
    bce = (-math.log(0.9) - math.log(0.4) - math.log(0.8) - 0.0) / 4
    loss = get_loss("bce-lovasz")
    assert isinstance(loss, BCELovaszLoss)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert float(again(Y, P)) == pytest.approx(bce + 0.6 / 2 + 0.2 / 6 + 0.1 / 3, rel=1e-4)

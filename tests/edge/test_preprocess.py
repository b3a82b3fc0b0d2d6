"""The one shared preprocessing function and its mask/post-processing siblings."""

from __future__ import annotations

import numpy as np
import pytest

from munet.edge.preprocess import (
    NORM_OFFSET,
    NORM_SCALE,
    parse_size,
    postprocess,
    preprocess,
    preprocess_mask,
)


def test_preprocess_maps_uint8_to_minus_one_one_and_resizes():
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :10] = 255
    out = preprocess(img, (8, 16))
    assert out.dtype == np.float32 and out.shape == (8, 16, 3)
    assert out.min() == pytest.approx(-1.0) and out.max() == pytest.approx(1.0)
    # same arithmetic as keras.applications.mobilenet_v2.preprocess_input (x / 127.5 - 1)
    assert pytest.approx(128 / 127.5 - 1) == 128 * NORM_SCALE + NORM_OFFSET


def test_preprocess_keeps_channel_order():
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = 255  # red in RGB
    out = preprocess(img, (32, 32))
    assert np.all(out[..., 0] == 1.0) and np.all(out[..., 1:] == -1.0)


@pytest.mark.parametrize(
    "bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32)]
)
def test_preprocess_rejects_non_rgb_uint8(bad):
    with pytest.raises(ValueError, match="RGB uint8"):
        preprocess(bad, (8, 8))


def test_parse_size():
    assert parse_size(256) == (256, 256)
    assert parse_size("192x256") == (192, 256)
    assert parse_size("128") == (128, 128)
    assert parse_size([64, 96]) == (64, 96)
    with pytest.raises(ValueError):
        parse_size("1x2x3")


def test_preprocess_mask_nearest_stays_binary():
    mask = np.zeros((10, 10), np.uint8)
    mask[2:7, 3:9] = 1
    out = preprocess_mask(mask, (23, 17))
    assert out.shape == (23, 17, 1) and set(np.unique(out)) <= {0.0, 1.0}


def test_postprocess_thresholds_at_half_and_restores_size():
    prob = np.array([[0.2, 0.5], [0.51, 0.9]], np.float32)
    assert postprocess(prob, (2, 2)).tolist() == [[0, 0], [1, 1]]  # paper Sec. 3.3.2: > 0.5 -> 1
    big = postprocess(prob, (40, 60))
    assert big.shape == (40, 60) and big.dtype == np.uint8
    assert big[-1, -1] == 1 and big[0, 0] == 0

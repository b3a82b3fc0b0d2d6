"""FCN-8s (Long et al., 2015) on VGG16 features: the paper's "FCNet" baseline.

``keras.applications.VGG16`` encoder; its fully connected layers become convolutions (``fc6``:
7x7, ``fc7``: 1x1, 4096 filters each, ReLU + dropout 0.5) on pool5 (1/32); 1x1 score layers on
fc7, ``block4_pool`` (1/16) and ``block3_pool`` (1/8); the coarse score is upsampled by 2x
transposed convolutions and fused (added) with the pool4 and then the pool3 scores, and the sum
is upsampled 8x by a transposed convolution to the input size, then a sigmoid. One score channel
(binary mask). No cropping: "same" padding keeps every stage aligned. With the default 4096-wide
head it has about 134 M parameters, like the original; ``fc_filters`` shrinks it.

Input: the shared [-1, 1] RGB preprocessing; with pretrained VGG16 weights (``"imagenet"`` or a
local ``VGG16(include_top=False)`` ``.h5``) a frozen 1x1 convolution converts it to VGG's "caffe"
inputs; from scratch the encoder sees [-1, 1] directly. The fc6/fc7 layers start random.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.errors import ModelError
from munet.train.models import register_model
from munet.train.models.blocks import caffe_input_adapter, check_input_shape, nested_encoder
from munet.train.models.encoder_weights import build_keras_encoder, resolve_weights

FCN_POOLS = ("block3_pool", "block4_pool", "block5_pool")


@register_model("fcn")
def build_fcn(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    encoder_weights: str | Path | None = "imagenet",
    fc_filters: int = 4096,
    fc_kernel: int = 7,
    dropout: float = 0.5,
    batch_size: int | None = None,
    name: str = "fcn",
) -> Any:
    """Build FCN-8s.

    Args:
        input_shape: (height, width, 3); sides must be multiples of 32.
        encoder_weights: ``"imagenet"``, a local ``VGG16`` notop ``.h5``, or ``None``.
        fc_filters: width of the convolutionised fc6/fc7 layers (4096 in FCN-8s).
        fc_kernel: fc6 kernel size (7 in FCN-8s).
        dropout: dropout after fc6 and fc7 (training only).
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
    """
    import keras

    h, w = check_input_shape(input_shape, "fcn")
    if fc_filters < 1 or fc_kernel < 1 or not 0.0 <= dropout < 1.0:
        raise ModelError(
            f"fcn: need fc_filters >= 1, fc_kernel >= 1 and 0 <= dropout < 1, got {fc_filters}, {fc_kernel}, {dropout}"
        )
    pretrained = resolve_weights(encoder_weights) != (None, None)
    base = build_keras_encoder(
        keras.applications.VGG16, "VGG16", encoder_weights, include_top=False, input_shape=(h, w, 3)
    )
    encoder = nested_encoder(base, list(FCN_POOLS))

    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    pool3, pool4, pool5 = encoder(caffe_input_adapter(inputs) if pretrained else inputs)
    x = keras.layers.Conv2D(fc_filters, fc_kernel, padding="same", activation="relu", name="fc6")(pool5)
    x = keras.layers.Dropout(dropout, name="fc6_dropout")(x)
    x = keras.layers.Conv2D(fc_filters, 1, activation="relu", name="fc7")(x)
    x = keras.layers.Dropout(dropout, name="fc7_dropout")(x)
    score = keras.layers.Conv2D(1, 1, name="score_fr")(x)
    up2 = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False, name="upscore2")(score)
    score = keras.layers.Add(name="fuse_pool4")([up2, keras.layers.Conv2D(1, 1, name="score_pool4")(pool4)])
    up4 = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False, name="upscore_pool4")(score)
    score = keras.layers.Add(name="fuse_pool3")([up4, keras.layers.Conv2D(1, 1, name="score_pool3")(pool3)])
    x = keras.layers.Conv2DTranspose(1, 16, strides=8, padding="same", name="upscore8")(score)
    mask = keras.layers.Activation("sigmoid", dtype="float32", name="mask")(x)
    return keras.Model(inputs, mask, name=name)

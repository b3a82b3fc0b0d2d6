"""U-Net with a ``keras.applications.ResNet50`` encoder: the paper's "U-Net with ResNet-50" baseline.

The usual skips ``conv1_relu`` (1/2), ``conv2_block3_out`` (1/4), ``conv3_block4_out`` (1/8),
``conv4_block6_out`` (1/16) and bottleneck ``conv5_block3_out`` (1/32); five decoder steps
(2x2 transposed conv + concatenation + double 3x3 conv with BatchNorm), the last one without a
skip, with segmentation_models' decoder widths (256, 128, 64, 32, 16); a 1x1 sigmoid head. The
paper reports 25,751,426 parameters without giving its decoder; this one has 30.5 M.

Input: the shared [-1, 1] RGB preprocessing. ResNet50's ImageNet weights expect "caffe" inputs, so
with pretrained weights a frozen 1x1 convolution converts [-1, 1] RGB to them and the encoder's
BatchNorm layers are frozen (ImageNet statistics kept, as in MU-Net's encoder); from scratch the
encoder sees [-1, 1] and its BatchNorm layers train normally. A user ``.h5`` file must be a
``ResNet50(include_top=False)`` weights file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.errors import ModelError
from munet.train.models import register_model
from munet.train.models.blocks import (
    caffe_input_adapter,
    check_input_shape,
    decoder_block,
    freeze_batchnorm,
    nested_encoder,
    sigmoid_head,
)
from munet.train.models.encoder_weights import build_keras_encoder, resolve_weights

RESNET50_SKIPS = ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out")
RESNET50_BOTTLENECK = "conv5_block3_out"


@register_model("unet-resnet50")
def build_unet_resnet50(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    encoder_weights: str | Path | None = "imagenet",
    decoder_filters: tuple[int, ...] = (256, 128, 64, 32, 16),
    batch_size: int | None = None,
    name: str = "unet_resnet50",
) -> Any:
    """Build U-Net-ResNet50.

    Args:
        input_shape: (height, width, 3); sides must be multiples of 32.
        encoder_weights: ``"imagenet"`` (Keras download), a local ``ResNet50`` notop ``.h5``, or ``None``.
        decoder_filters: filters of the five decoder steps, deepest first (the last has no skip).
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
    """
    import keras

    h, w = check_input_shape(input_shape, "unet-resnet50")
    if len(decoder_filters) != len(RESNET50_SKIPS) + 1:
        n = len(RESNET50_SKIPS) + 1
        raise ModelError(f"unet-resnet50: decoder_filters needs {n} values, got {decoder_filters}")
    pretrained = resolve_weights(encoder_weights) != (None, None)
    base = build_keras_encoder(
        keras.applications.ResNet50, "ResNet50", encoder_weights, include_top=False, input_shape=(h, w, 3)
    )
    encoder = nested_encoder(base, [*RESNET50_SKIPS, RESNET50_BOTTLENECK])

    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    x = caffe_input_adapter(inputs) if pretrained else inputs
    if pretrained:
        freeze_batchnorm(encoder)
    *skips, x = encoder(x)
    skips_top_down = [*reversed(skips), None]
    for i, (filters, skip) in enumerate(zip(decoder_filters, skips_top_down, strict=True)):
        x = decoder_block(x, skip, filters, name=f"dec{i + 1}")
    return keras.Model(inputs, sigmoid_head(x), name=name)

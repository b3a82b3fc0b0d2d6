"""U-Net with a ``keras.applications.VGG19`` encoder: the paper's "U-Net with VGG-19" baseline.

Skips are the last convolution of VGG blocks 1-4 (``block1_conv2``, ``block2_conv2``,
``block3_conv4``, ``block4_conv4``: full size .. 1/8), the bottleneck is ``block5_conv4`` (1/16);
four U-Net decoder steps (2x2 transposed conv + concatenation + double 3x3 conv with BatchNorm)
and a 1x1 sigmoid head.

Input: the shared [-1, 1] RGB preprocessing, like every model here. VGG's ImageNet weights expect
"caffe" inputs (BGR, 0..255 minus the channel means), so when pretrained weights are loaded a
frozen 1x1 convolution in front of the encoder converts [-1, 1] RGB to that; from scratch the
encoder sees [-1, 1] directly. A user ``.h5`` file must be a ``VGG19(include_top=False)`` weights file.
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
    nested_encoder,
    sigmoid_head,
)
from munet.train.models.encoder_weights import build_keras_encoder, resolve_weights

VGG19_SKIPS = ("block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4")
VGG19_BOTTLENECK = "block5_conv4"


@register_model("unet-vgg19")
def build_unet_vgg19(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    encoder_weights: str | Path | None = "imagenet",
    decoder_filters: tuple[int, ...] = (512, 256, 128, 64),
    batch_size: int | None = None,
    name: str = "unet_vgg19",
) -> Any:
    """Build U-Net-VGG19.

    Args:
        input_shape: (height, width, 3); sides must be multiples of 32.
        encoder_weights: ``"imagenet"`` (Keras download), a local ``VGG19`` notop ``.h5``, or ``None``.
        decoder_filters: filters of the four decoder steps, deepest first.
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
    """
    import keras

    h, w = check_input_shape(input_shape, "unet-vgg19")
    if len(decoder_filters) != len(VGG19_SKIPS):
        raise ModelError(f"unet-vgg19: decoder_filters needs {len(VGG19_SKIPS)} values, got {decoder_filters}")
    pretrained = resolve_weights(encoder_weights) != (None, None)
    base = build_keras_encoder(
        keras.applications.VGG19, "VGG19", encoder_weights, include_top=False, input_shape=(h, w, 3)
    )
    encoder = nested_encoder(base, [*VGG19_SKIPS, VGG19_BOTTLENECK])

    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    x = caffe_input_adapter(inputs) if pretrained else inputs
    *skips, x = encoder(x)
    for i, (filters, skip) in enumerate(zip(decoder_filters, reversed(skips), strict=True)):
        x = decoder_block(x, skip, filters, name=f"dec{i + 1}")
    return keras.Model(inputs, sigmoid_head(x), name=name)

"""Plain U-Net (Ronneberger et al., 2015): the paper's "U-Net-224" baseline (Tables 1 and 2).

Four levels of double 3x3 convolutions with 2x2 max pooling, a bottleneck at 1/16, and four
decoder steps of 2x2 stride-2 transposed convolution + skip concatenation + double convolution;
a 1x1 convolution and a sigmoid give the mask. Differences from the 2015 paper: "same" padding
(output size = input size, no cropping) and BatchNorm after every convolution (stable training
from scratch). With ``base_filters=64`` it has the classic 64..1024 widths (about 31 M parameters).
"""

from __future__ import annotations

from typing import Any

from munet.errors import ModelError
from munet.train.models import register_model
from munet.train.models.blocks import check_input_shape, conv_block, decoder_block, sigmoid_head


@register_model("unet")
def build_unet(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    base_filters: int = 64,
    depth: int = 4,
    batch_size: int | None = None,
    name: str = "unet",
    encoder_weights: str | None = None,
) -> Any:
    """Build a plain U-Net.

    Args:
        input_shape: (height, width, 3); sides must be multiples of 32 (the paper used 224).
        base_filters: filters at full resolution; level ``i`` has ``base_filters * 2**i``.
        depth: number of pooling levels (4 in Ronneberger et al.).
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
        encoder_weights: accepted for a uniform builder signature. U-Net has no encoder to
            pretrain: ``None``/``"none"`` and ``"imagenet"`` (munet-train's default) both mean
            "from scratch"; a weights file is refused.
    """
    import keras

    if encoder_weights is not None and str(encoder_weights).lower() not in ("none", "random", "", "imagenet"):
        raise ModelError(f"unet: has no pretrained encoder, got encoder_weights={encoder_weights!r}; use 'none'")
    if base_filters < 1 or not 1 <= depth <= 5:
        raise ModelError(f"unet: base_filters must be >= 1 and depth 1..5, got {base_filters}, {depth}")
    h, w = check_input_shape(input_shape, "unet")
    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    x = inputs
    skips = []
    for level in range(depth):
        x = conv_block(x, base_filters * 2**level, name=f"enc{level + 1}")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"enc{level + 1}_pool")(x)
    x = conv_block(x, base_filters * 2**depth, name="bottleneck")
    for i, skip in enumerate(reversed(skips)):
        x = decoder_block(x, skip, base_filters * 2 ** (depth - 1 - i), name=f"dec{i + 1}")
    return keras.Model(inputs, sigmoid_head(x), name=name)

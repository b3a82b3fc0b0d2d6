"""SegNet (Badrinarayanan et al., 2017): VGG16 encoder-decoder WITHOUT skip connections.

Encoder: VGG16's 13 3x3 convolutions (layer names as in ``keras.applications.VGG16``), each
followed by BatchNorm + ReLU as in SegNet, with 5 max-pooling steps (1/32). Decoder: the mirror
image, each stage starting with max-unpooling driven by its encoder stage's pooling indices, then
13 convolutions + BatchNorm + ReLU, then a 1x1 sigmoid head.

**Unpooling.** SegNet stores argmax indices (``MaxPoolWithArgmax``) and scatters into them; builtin
TFLite kernels and full-int8 quantization provide neither. :class:`~munet.train.models.layers.MaxUnpooling2D`
gives the same result with builtin int8 ops: each window position is compared with the pooled maximum
(GREATER_EQUAL), a tied maximum goes to the first position in row-major order (as TensorFlow's argmax picks
it: after a ReLU a third to a half of the windows are all zeros), and the decoder's features are placed there
(SELECT) and interleaved back to full size. The encoder outputs its five pre-pooling activations for it:
the only information passed from encoder to decoder besides the bottleneck, as in SegNet.

Input: the shared [-1, 1] RGB preprocessing. With pretrained weights (``"imagenet"`` or a local
``VGG16(include_top=False)`` ``.h5``), the VGG16 convolution kernels are copied into the encoder
(as SegNet initialised it) and a frozen 1x1 convolution converts [-1, 1] RGB to VGG's "caffe"
inputs; from scratch the encoder sees [-1, 1] directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.errors import ModelError
from munet.train.models import register_model
from munet.train.models.blocks import caffe_input_adapter, check_input_shape, sigmoid_head
from munet.train.models.encoder_weights import build_keras_encoder, resolve_weights

#: VGG16 convolutions per block and their width multiplier of ``base_filters``.
VGG16_BLOCKS = ((2, 1), (2, 2), (3, 4), (3, 8), (3, 8))


def _conv(x: Any, filters: int, name: str) -> Any:
    import keras

    x = keras.layers.Conv2D(filters, 3, padding="same", name=name)(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _copy_vgg16_weights(encoder: Any, encoder_weights: str | Path | None, input_shape: tuple[int, int, int]) -> None:
    import keras

    vgg = build_keras_encoder(
        keras.applications.VGG16, "VGG16", encoder_weights, include_top=False, input_shape=input_shape
    )
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.Conv2D):
            encoder.get_layer(layer.name).set_weights(layer.get_weights())


@register_model("segnet")
def build_segnet(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    encoder_weights: str | Path | None = "imagenet",
    base_filters: int = 64,
    batch_size: int | None = None,
    name: str = "segnet",
) -> Any:
    """Build SegNet (index-driven max-unpooling with builtin TFLite ops, see the module docstring).

    Args:
        input_shape: (height, width, 3); sides must be multiples of 32.
        encoder_weights: ``"imagenet"``, a local ``VGG16`` notop ``.h5``, or ``None``; pretrained
            weights need ``base_filters=64``.
        base_filters: VGG16 width at full resolution (64); smaller values make test-size models.
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
    """
    import keras

    from munet.train.models.layers import MaxUnpooling2D

    h, w = check_input_shape(input_shape, "segnet")
    pretrained = resolve_weights(encoder_weights) != (None, None)
    if pretrained and base_filters != 64:
        raise ModelError(f"segnet: pretrained VGG16 weights need base_filters=64, got {base_filters}")

    enc_in = keras.Input(shape=(h, w, 3), name="encoder_input")
    x, before_pool = enc_in, []
    for b, (convs, mult) in enumerate(VGG16_BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = _conv(x, base_filters * mult, f"block{b}_conv{c}")
        before_pool.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    encoder = keras.Model(enc_in, [x, *before_pool], name="encoder")
    if pretrained:
        _copy_vgg16_weights(encoder, encoder_weights, (h, w, 3))

    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    x, *before_pool = encoder(caffe_input_adapter(inputs) if pretrained else inputs)
    # Decoder: mirror of the encoder; each stage's last conv narrows to the next (shallower) width.
    for b in range(len(VGG16_BLOCKS), 0, -1):
        convs, mult = VGG16_BLOCKS[b - 1]
        out_mult = VGG16_BLOCKS[b - 2][1] if b > 1 else mult
        x = MaxUnpooling2D(name=f"dec{b}_unpool")([x, before_pool[b - 1]])
        for c in range(1, convs + 1):
            filters = base_filters * (out_mult if c == convs else mult)
            x = _conv(x, filters, f"dec{b}_conv{c}")
    return keras.Model(inputs, sigmoid_head(x), name=name)

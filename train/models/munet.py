"""MU-Net: a U-Net whose encoder is an ImageNet MobileNetV2 (Nampalle et al., Sec. 3.2).

Encoder skips at 1/2, 1/4, 1/8 and 1/16 of the input (``block_1/3/6/13_expand_relu``:
144/192/288/816 channels at alpha=1.4, the paper's figures), bottleneck ``block_16_project``
at 1/32; the paper's decoder is stride-2 transposed convolutions + BatchNorm + ReLU, each
concatenated with the skip of the same size, no pooling; a last stride-2 transposed
convolution to one channel and a sigmoid. :mod:`munet.train.models.decoder` holds it and the
variants built for int8 CPUs (``--preset edge``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from munet.errors import ModelError
from munet.train.models import register_model
from munet.train.models.decoder import PAPER_FILTERS, DecoderSpec, unet_decoder
from munet.train.models.encoder_weights import build_keras_encoder

SKIP_LAYERS = ("block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu")
BOTTLENECK_LAYER = "block_16_project"


def _freeze_batchnorm(model: Any) -> None:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def set_encoder_trainable(model: Any, trainable: bool, freeze_batchnorm: bool = True) -> None:
    """Freeze (``False``) or unfreeze (``True``) the ``encoder`` of ``model``.

    With ``freeze_batchnorm`` (right for a pretrained encoder) its BatchNorm layers stay frozen
    when the rest is unfrozen. Recompile the model afterwards so the optimizer sees the change.
    """
    encoder = model.get_layer("encoder")
    encoder.trainable = trainable
    if freeze_batchnorm:
        _freeze_batchnorm(encoder)


@register_model("munet")
def build_munet(
    alpha: float = 1.4,
    input_shape: tuple[int, int, int] = (256, 256, 3),
    encoder_weights: str | Path | None = "imagenet",
    decoder_filters: tuple[int, ...] = PAPER_FILTERS,
    kernel_size: int = 3,
    decoder_upsample: str = "transpose",
    decoder_conv: str = "none",
    decoder_head: str = "transpose",
    batch_size: int | None = None,
    freeze_encoder_bn: bool = True,
    name: str = "munet",
) -> Any:
    """Build MU-Net as a Keras 3 functional model.

    Args:
        alpha: MobileNetV2 width multiplier (the paper's skip channels are alpha=1.4).
        input_shape: (height, width, 3); both sides must be multiples of 32.
        encoder_weights: ``"imagenet"`` (Keras' own download), a path to a local
            ``include_top=False`` ``.h5`` file, or ``None`` for random initialisation.
        decoder_filters: filters of the four upsampling blocks, deepest first.
        kernel_size: decoder kernel size (transposed and 3x3 convolutions).
        decoder_upsample, decoder_conv, decoder_head: the decoder design
            (:mod:`munet.train.models.decoder`); the defaults are the paper's transposed-conv decoder.
        batch_size: fix the batch dimension (1 for TFLite export), or ``None``.
        freeze_encoder_bn: keep the encoder's BatchNorm layers frozen (see below).

    The encoder is a nested model called ``encoder``. Its BatchNorm layers are frozen by default
    (``trainable=False``, which in Keras 3 also means inference mode): pretrained statistics
    survive fine-tuning (the advice of shared/weights/MANIFEST.md), and a random encoder behaves
    the same in training and inference (Keras' MobileNetV2 BatchNorm uses momentum 0.999, so
    trained statistics would lag the weights for thousands of steps in short runs). Freeze or
    unfreeze the rest with :func:`set_encoder_trainable`, never ``encoder.trainable = True``.
    """
    import keras

    h, w, c = input_shape
    if h % 32 or w % 32 or c != 3:
        raise ModelError(f"input shape {input_shape}: height and width must be multiples of 32 and channels 3")
    spec = DecoderSpec(
        upsample=decoder_upsample,
        block_conv=decoder_conv,
        filters=tuple(int(f) for f in decoder_filters),
        head=decoder_head,
        kernel_size=int(kernel_size),
    ).validate(len(SKIP_LAYERS))
    base = build_keras_encoder(
        keras.applications.MobileNetV2,
        "MobileNetV2",
        encoder_weights,
        input_shape=(h, w, 3),
        alpha=alpha,
        include_top=False,
    )
    outputs = [base.get_layer(n).output for n in SKIP_LAYERS] + [base.get_layer(BOTTLENECK_LAYER).output]
    encoder = keras.Model(base.input, outputs, name="encoder")
    if freeze_encoder_bn:
        _freeze_batchnorm(encoder)

    inputs = keras.Input(shape=(h, w, 3), batch_size=batch_size, name="image")
    *skips, x = encoder(inputs, training=False)
    mask = unet_decoder(x, skips, spec)
    return keras.Model(inputs, mask, name=name)

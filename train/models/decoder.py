"""MU-Net's U-Net decoder, with the paper's design and variants built for int8 CPUs.

The paper (Nampalle et al., Sec. 3.2) upsamples with stride-2 transposed convolutions (512/256/128/64 filters) +
BatchNorm + ReLU, concatenates each result with the encoder skip of the same size, and ends with a stride-2
transposed convolution to one channel. Measured on int8 CPUs that decoder holds ~80 % of the MACs and ~84 % of the
inference time (FIELD-NOTES §10), so the builder also offers:

- ``upsample``: ``"transpose"`` (paper: learned stride-2 transposed conv), or ``"nearest"`` / ``"bilinear"``
  (a parameter-free x2 resize: RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR, both builtin int8 ops on XNNPACK);
- ``block_conv``: the conv after the concatenation: ``"none"`` (paper), ``"plain"`` (3x3 conv) or
  ``"separable"`` (3x3 depthwise + 1x1 pointwise, MobileNet's own block); each + BatchNorm + ReLU;
- ``filters``: the four widths, deepest first;
- ``head``: how the last x2 step reaches the input size: ``"transpose"`` (paper), ``"upsample_conv"`` (x2 resize
  then a 3x3 conv to one channel) or ``"conv_upsample"`` (3x3 conv to one logit at 1/2 size, then a bilinear x2
  resize of the logit: the cheapest, and the int8 logit is resampled rather than re-learned).

With resize upsampling a block is ``resize -> concat(skip) -> conv``; the resize keeps the channel count, so the
conv's input width is (previous width + skip width). All layers are builtin Keras layers: every variant saves as
``.keras`` without custom objects and converts to full-int8 TFLite with builtin ops only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from munet.errors import ModelError

UPSAMPLE = ("transpose", "nearest", "bilinear")
BLOCK_CONV = ("none", "plain", "separable")
HEADS = ("transpose", "upsample_conv", "conv_upsample")

#: The paper's decoder: transposed convs 512/256/128/64, no conv after the concatenation, transposed-conv head.
PAPER_FILTERS = (512, 256, 128, 64)


@dataclass(frozen=True)
class DecoderSpec:
    """One U-Net decoder design (see the module docstring for the choices)."""

    upsample: str = "transpose"
    block_conv: str = "none"
    filters: tuple[int, ...] = field(default=PAPER_FILTERS)
    head: str = "transpose"
    kernel_size: int = 3

    def validate(self, levels: int) -> DecoderSpec:
        """Raise a one-line :class:`ModelError` for an unknown choice or a wrong number of widths."""
        for key, value, choices in (
            ("decoder_upsample", self.upsample, UPSAMPLE),
            ("decoder_conv", self.block_conv, BLOCK_CONV),
            ("decoder_head", self.head, HEADS),
        ):
            if value not in choices:
                raise ModelError(f"{key} {value!r}: choose one of {', '.join(choices)}")
        if len(self.filters) != levels or any(int(f) < 1 for f in self.filters):
            raise ModelError(f"decoder_filters needs {levels} positive widths, deepest first; got {list(self.filters)}")
        if self.upsample != "transpose" and self.block_conv == "none":
            # A resize has no weights: without a conv the block would only concatenate and the decoder would learn
            # nothing but the head.
            raise ModelError(
                f"decoder_upsample {self.upsample!r} needs a conv after the concatenation: "
                "set decoder_conv to plain or separable"
            )
        return self


def _bn_relu(x: Any, name: str) -> Any:
    import keras

    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _conv(x: Any, filters: int, kind: str, kernel_size: int, name: str) -> Any:
    """3x3 plain or separable conv (no bias: BatchNorm follows) + BatchNorm + ReLU."""
    import keras

    if kind == "separable":
        x = keras.layers.DepthwiseConv2D(kernel_size, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = _bn_relu(x, f"{name}_dw")
        x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    else:
        x = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return _bn_relu(x, name)


def _resize2x(x: Any, mode: str, name: str) -> Any:
    """x2 resize to a static size. ``Resizing`` rather than ``UpSampling2D``: Keras' nearest ``UpSampling2D`` is a
    repeat that converts to RESHAPE + TILE (off XNNPACK's fast path); ``Resizing`` becomes one
    RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR op."""
    import keras

    h, w = int(x.shape[1]), int(x.shape[2])
    return keras.layers.Resizing(2 * h, 2 * w, interpolation=mode, name=name)(x)


def decoder_block(x: Any, skip: Any, filters: int, spec: DecoderSpec, name: str) -> Any:
    """One x2 step: upsample, concatenate the skip of the same size, optional conv."""
    import keras

    if spec.upsample == "transpose":
        x = keras.layers.Conv2DTranspose(
            filters, spec.kernel_size, strides=2, padding="same", use_bias=False, name=f"{name}_deconv"
        )(x)
        x = _bn_relu(x, name)
    else:
        x = _resize2x(x, spec.upsample, f"{name}_resize")
    x = keras.layers.Concatenate(name=f"{name}_concat")([x, skip])
    if spec.block_conv != "none":
        x = _conv(x, filters, spec.block_conv, spec.kernel_size, f"{name}_fuse")
    return x


def mask_head(x: Any, spec: DecoderSpec) -> Any:
    """The last x2 step to a one-channel float32 sigmoid called ``mask``."""
    import keras

    if spec.head == "transpose":
        x = keras.layers.Conv2DTranspose(1, spec.kernel_size, strides=2, padding="same", name="mask_deconv")(x)
    elif spec.head == "upsample_conv":
        x = _resize2x(x, "nearest" if spec.upsample == "transpose" else spec.upsample, "mask_resize")
        x = keras.layers.Conv2D(1, spec.kernel_size, padding="same", name="mask_conv")(x)
    else:  # conv_upsample
        x = keras.layers.Conv2D(1, spec.kernel_size, padding="same", name="mask_conv")(x)
        x = _resize2x(x, "bilinear", "mask_resize")
    return keras.layers.Activation("sigmoid", dtype="float32", name="mask")(x)


def unet_decoder(bottleneck: Any, skips: list[Any], spec: DecoderSpec) -> Any:
    """Run ``spec`` from the bottleneck up through ``skips`` (shallowest first) to the mask."""
    spec.validate(len(skips))
    x = bottleneck
    for i, (filters, skip) in enumerate(zip(spec.filters, reversed(skips), strict=True)):
        x = decoder_block(x, skip, int(filters), spec, name=f"up{i + 1}")
    return mask_head(x, spec)

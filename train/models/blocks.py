"""Building blocks shared by the baseline architectures (U-Net, VGG/ResNet U-Nets, SegNet, FCN).

Every block uses builtin Keras layers only, so each model saves as ``.keras`` without custom
objects and converts to full-int8 TFLite with builtin ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from munet.errors import ModelError

#: Every architecture downsamples by at most 32; one rule for all models keeps sizes interchangeable.
SIZE_MULTIPLE = 32

#: ``keras.applications`` "caffe" preprocessing (VGG16/19, ResNet50): BGR channel means subtracted, no scaling.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def check_input_shape(input_shape: tuple[int, int, int], arch: str, multiple: int = SIZE_MULTIPLE) -> tuple[int, int]:
    """Return (height, width), or raise a one-line :class:`ModelError` for an unusable shape."""
    try:
        h, w, c = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ModelError(f"{arch}: input shape {input_shape!r} must be (height, width, 3)") from None
    if h <= 0 or w <= 0 or h % multiple or w % multiple or c != 3:
        raise ModelError(
            f"{arch}: input shape {tuple(input_shape)}: height and width must be positive multiples of {multiple} "
            f"and channels 3 (e.g. --size 256 or 192x256)"
        )
    return h, w


def conv_bn_relu(x: Any, filters: int, name: str, kernel_size: int = 3) -> Any:
    """3x3 convolution (no bias: BatchNorm follows) + BatchNorm + ReLU."""
    import keras

    x = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def conv_block(x: Any, filters: int, name: str, convs: int = 2) -> Any:
    """U-Net's double convolution: ``convs`` x (3x3 conv + BatchNorm + ReLU)."""
    for i in range(convs):
        x = conv_bn_relu(x, filters, name=f"{name}_{i + 1}")
    return x


def decoder_block(x: Any, skip: Any | None, filters: int, name: str) -> Any:
    """U-Net decoder step: 2x2 stride-2 transposed conv, concatenate the skip (if any), double conv."""
    import keras

    x = keras.layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_upconv")(x)
    if skip is not None:
        x = keras.layers.Concatenate(name=f"{name}_concat")([x, skip])
    return conv_block(x, filters, name=name)


def sigmoid_head(x: Any, name: str = "mask") -> Any:
    """1x1 convolution to one channel + float32 sigmoid (the mask probability)."""
    import keras

    x = keras.layers.Conv2D(1, 1, name=f"{name}_logits")(x)
    return keras.layers.Activation("sigmoid", dtype="float32", name=name)(x)


def caffe_input_adapter(x: Any, name: str = "imagenet_caffe_input") -> Any:
    """Map the shared [-1, 1] RGB input to ``keras.applications`` "caffe" inputs (BGR, 0..255 minus means).

    A frozen 1x1 convolution (9 weights + 3 biases), so it stays a builtin TFLite op and int8
    quantizes like any convolution. Used only when pretrained encoder weights are loaded: their
    filters expect caffe-style inputs. Models trained from scratch see the [-1, 1] input directly.
    """
    import keras

    layer = keras.layers.Conv2D(3, 1, trainable=False, name=name)
    y = layer(x)
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for out_c in range(3):  # BGR output channel c takes RGB input channel 2 - c
        kernel[0, 0, 2 - out_c, out_c] = 127.5
    bias = np.float32(127.5) - np.asarray(CAFFE_BGR_MEAN, np.float32)
    layer.set_weights([kernel, bias])
    return y


def freeze_batchnorm(model: Any) -> None:
    """Set every BatchNormalization layer of ``model`` non-trainable (in Keras 3 that also means inference mode).

    For pretrained encoders: their ImageNet statistics survive fine-tuning (``training=False`` on
    a nested call is not enough in Keras 3 functional graphs).
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def nested_encoder(base: Any, outputs: list[str], name: str = "encoder") -> Any:
    """A sub-model of ``base`` with the named layers' outputs (skips first, bottleneck last)."""
    import keras

    try:
        tensors = [base.get_layer(n).output for n in outputs]
    except ValueError as exc:
        raise ModelError(f"{base.name}: encoder layer missing ({exc})") from None
    return keras.Model(base.input, tensors, name=name)

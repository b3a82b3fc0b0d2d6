"""Model size and compute: parameters and multiply-accumulates (MACs) counted from the Keras graph.

MACs are counted for the layers that dominate inference cost, per image (batch 1), biases and
activations excluded, the convention of the MU-Net field notes (MU-Net alpha=1.4 at 256x256:
9,492,753 parameters, 3.05 GMACs):

- ``Conv2D``: ``H_out * W_out * C_out * kh * kw * C_in / groups``
- ``DepthwiseConv2D``: ``H_out * W_out * C_in * depth_multiplier * kh * kw``
- ``SeparableConv2D``: its depthwise part + a 1x1 ``Conv2D``
- ``Conv2DTranspose``: ``H_in * W_in * C_in * kh * kw * C_out`` (each input pixel scatters one kernel)
- ``Dense``: ``positions * units * C_in``

Nested models (MU-Net's and the baselines' ``encoder``) are walked recursively.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Complexity:
    """Size and compute of one model at one input size."""

    params: int
    trainable_params: int
    macs: int
    input_size: tuple[int, int]

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else 1 for d in tensor.shape[1:])


def _nodes(layer: Any) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) without batch, for each call of ``layer`` in its graph."""
    pairs = []
    for node in getattr(layer, "_inbound_nodes", []):
        ins, outs = node.input_tensors, node.output_tensors
        if ins and outs:
            pairs.append((_shape(ins[0]), _shape(outs[0])))
    return pairs


def layer_macs(layer: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """MACs of one call of ``layer`` (0 for layers that are not conv/deconv/dense)."""
    import keras

    L = keras.layers
    if isinstance(layer, L.Conv2DTranspose):  # checked before Conv2D in case a Keras version subclasses it
        kh, kw = layer.kernel_size
        return math.prod(in_shape[:-1]) * in_shape[-1] * kh * kw * layer.filters
    if isinstance(layer, L.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return math.prod(out_shape[:-1]) * in_shape[-1] * layer.depth_multiplier * kh * kw
    if isinstance(layer, L.SeparableConv2D):
        kh, kw = layer.kernel_size
        spatial = math.prod(out_shape[:-1])
        mid = in_shape[-1] * layer.depth_multiplier
        return spatial * mid * kh * kw + spatial * mid * layer.filters
    if isinstance(layer, L.Conv2D):
        kh, kw = layer.kernel_size
        return math.prod(out_shape[:-1]) * layer.filters * kh * kw * in_shape[-1] // layer.groups
    if isinstance(layer, L.Dense):
        return math.prod(out_shape[:-1]) * layer.units * in_shape[-1]
    return 0


def count_macs(model: Any) -> int:
    """Total MACs per image of a built Keras model, nested models included."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_macs(layer)
            continue
        for in_shape, out_shape in _nodes(layer):
            total += layer_macs(layer, in_shape, out_shape)
    return total


def complexity(model: Any) -> Complexity:
    """Parameters (all and trainable) and MACs of ``model`` at its input size."""
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    h, w = (int(d) for d in model.input_shape[1:3])
    return Complexity(
        params=int(model.count_params()), trainable_params=trainable, macs=count_macs(model), input_size=(h, w)
    )


def measure(name: str, size: tuple[int, int], **kwargs: Any) -> Complexity:
    """Build registered model ``name`` at ``size`` (random weights) and measure it."""
    from munet.train.models import build_model

    kwargs.setdefault("encoder_weights", None)
    model = build_model(name, input_shape=(*size, 3), **kwargs)
    return complexity(model)

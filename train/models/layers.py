"""Custom Keras layers of the model zoo, registered for ``.keras`` loading (import this module before loading).

:class:`MaxUnpooling2D` is SegNet's index-driven upsampling (Badrinarayanan et al., 2017, Fig. 3) built from ops
that builtin TFLite kernels run in float and full int8: the encoder's pooling "indices" become a 0/1 switch mask
(``before_pool >= max_pool(before_pool)`` per window position, GREATER_EQUAL), a tied maximum goes to the first
position in row-major order (as ``tf.nn.max_pool_with_argmax`` picks it), and the decoder's features are placed by
strided slices, SELECT and an interleaving CONCATENATION + RESHAPE. No ``MaxPoolWithArgmax``, no scatter.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

#: How a window whose maximum occurs more than once is unpooled: ``"first"`` (SegNet's argmax: the first tied
#: position, row-major) or ``"all"`` (every tied position; the layer before 2026-12-03, kept so that models
#: trained with it load and predict as they were trained).
TIE_BREAKS = ("first", "all")


def _upsample2(x: Any) -> Any:
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


def _window_positions(x: Any) -> list[Any]:
    """The four positions of each 2x2 window as (N, H/2, W/2, C) tensors, row-major: (0,0), (0,1), (1,0), (1,1)."""
    return [x[:, dy::2, dx::2, :] for dy in (0, 1) for dx in (0, 1)]


def _interleave(parts: list[Any]) -> Any:
    """Inverse of :func:`_window_positions`: four (N, h, w, C) tensors -> (N, 2h, 2w, C), builtin 4-D ops only."""
    _, h, w, c = ops.shape(parts[0])  # static sizes as ints (TFLite), unknown ones as tensors
    rows = [ops.reshape(ops.concatenate(parts[i : i + 2], axis=-1), (-1, h, 2 * w, c)) for i in (0, 2)]
    return ops.reshape(ops.concatenate(rows, axis=2), (-1, 2 * h, 2 * w, c))


@keras.saving.register_keras_serializable(package="munet")
class MaxUnpooling2D(keras.layers.Layer):
    """``[features, before_pool]`` -> features placed at the positions a 2x2/2 max-pooling of ``before_pool`` kept.

    ``features`` is (N, H/2, W/2, C), ``before_pool`` the encoder's (N, H, W, C) input to that pooling. Each
    feature goes to exactly one position of its window, the argmax SegNet's indices record; ``tie_break="all"``
    is the older variant that passes it to every tied position (e.g. all four of a window of ReLU zeros). The
    switches carry no gradient, like SegNet's indices.
    """

    def __init__(self, tie_break: str = "first", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"MaxUnpooling2D: tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
        self.tie_break = tie_break

    def call(self, inputs: list[Any]) -> Any:
        features, before_pool = inputs
        pooled = ops.max_pool(before_pool, pool_size=2, strides=2, padding="valid")
        if self.tie_break == "all":
            switches = ops.cast(ops.greater_equal(before_pool, _upsample2(pooled)), features.dtype)
            return _upsample2(features) * ops.stop_gradient(switches)
        zeros = ops.zeros_like(features)
        hits = [ops.greater_equal(position, pooled) for position in _window_positions(before_pool)]
        placed, taken = [ops.where(hits[0], features, zeros)], hits[0]
        for hit in hits[1:]:  # a position gets the feature only if no earlier one of its window did
            placed.append(ops.where(ops.logical_and(hit, ops.logical_not(taken)), features, zeros))
            taken = ops.logical_or(taken, hit)
        return _interleave(placed)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        (n, h, w, _), (_, _, _, c) = input_shape[0], input_shape[1]
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tie_break": self.tie_break}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MaxUnpooling2D:
        # A model saved before tie_break existed was trained with every tied position open.
        return cls(**{"tie_break": "all", **config})

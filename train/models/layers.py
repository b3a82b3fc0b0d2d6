"""Custom Keras layers of the model zoo, registered for ``.keras`` loading (import this module before loading).

:class:`MaxUnpooling2D` is SegNet's index-driven upsampling (Badrinarayanan et al., 2017, Fig. 3) built from ops
that builtin TFLite kernels run in float and full int8: the encoder's pooling "indices" become a 0/1 switch mask
(``before_pool >= upsample(max_pool(before_pool))``, GREATER_EQUAL + CAST), and the decoder's features are
upsampled 2x (nearest) and multiplied by it. No ``MaxPoolWithArgmax``, no scatter.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def _upsample2(x: Any) -> Any:
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


@keras.saving.register_keras_serializable(package="munet")
class MaxUnpooling2D(keras.layers.Layer):
    """``[features, before_pool]`` -> features placed at the positions a 2x2/2 max-pooling of ``before_pool`` kept.

    ``features`` is (N, H/2, W/2, C), ``before_pool`` the encoder's (N, H, W, C) input to that pooling. A window
    whose maximum occurs more than once (e.g. all zeros after a ReLU) passes the feature to every tied position,
    where SegNet's argmax would pick one. The mask carries no gradient, like SegNet's indices.
    """

    def call(self, inputs: list[Any]) -> Any:
        features, before_pool = inputs
        pooled = ops.max_pool(before_pool, pool_size=2, strides=2, padding="valid")
        switches = ops.stop_gradient(ops.cast(ops.greater_equal(before_pool, _upsample2(pooled)), features.dtype))
        return _upsample2(features) * switches

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        (n, h, w, _), (_, _, _, c) = input_shape[0], input_shape[1]
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)

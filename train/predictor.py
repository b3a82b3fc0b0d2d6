"""The Keras adapter of the evaluator (:mod:`munet.edge.evaluate`): a float ``.keras`` model as a ``Predictor``.

Inputs are made by the ONE shared :func:`munet.edge.preprocess.preprocess` (what training, int8 calibration and the
edge runtime use) and masks by :func:`munet.edge.evaluate.finish_mask` at the ORIGINAL image size, so a Keras model
is scored exactly like its TFLite files (:class:`munet.edge.evaluate.SegmenterPredictor`). No TensorFlow import
here: the model is any loaded Keras model with a fixed input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from munet.edge.evaluate import Prediction, finish_mask
from munet.edge.preprocess import preprocess
from munet.errors import InputError


def keras_input_size(model: Any) -> tuple[int, int]:
    """(height, width) of a Keras model's input; :class:`InputError` when it is not fixed."""
    h, w = model.input_shape[1:3]
    if h is None or w is None:
        raise InputError("the Keras model has no fixed input size; rebuild it with input_shape=(H, W, 3)")
    return int(h), int(w)


class KerasPredictor:
    """A loaded Keras model as a :class:`munet.edge.evaluate.Predictor`.

    Args:
        model: a loaded Keras model (one sigmoid channel, fixed input size).
        threshold: foreground above this probability (the paper's 0.5, Sec. 3.3.2).
        batch_size: images per forward pass.
        min_area: small-component removal as the edge does it (0 = off, the float model's default).
        name: how results call it.
    """

    def __init__(
        self, model: Any, threshold: float = 0.5, batch_size: int = 8, min_area: float = 0.0, name: str = "keras"
    ) -> None:
        self.model = model
        self.input_size = keras_input_size(model)
        self.threshold = float(threshold)
        self.batch_size = max(1, int(batch_size))
        self.min_area = float(min_area)
        self.name = name

    def probs(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Float32 probability maps ``(h, w)`` at the model size of RGB uint8 images (one forward pass)."""
        x = np.stack([preprocess(im, self.input_size) for im in images])
        y = np.asarray(self.model(x, training=False))
        return [y[j, :, :, 0].astype(np.float32) for j in range(len(y))]

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        return [
            Prediction(mask=finish_mask(p, im.shape, self.threshold, self.min_area), prob=p)
            for p, im in zip(self.probs(images), images, strict=True)
        ]

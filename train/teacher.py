"""Soft targets from teacher models: knowledge distillation (issue 24, lever e).

A teacher is a trained float Keras model. Its probabilities on the training images, averaged over test-time flips
(:mod:`munet.edge.tta`'s flip sets) and over the teachers, are blended with the true masks::

    target = (1 - weight) * mask + weight * mean teacher probability

and the student trains on these targets (the augmentation moves them like masks, without re-binarising them).
Validation keeps the true masks. Under cross-validation a teacher must not have seen the held-out fold: a fold's
teachers are models of that same fold (``benchmarks/cv.py``), so the estimate stays honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from munet.edge.tta import FLIP_SETS, check_tta
from munet.errors import InputError


def teacher_file(path: str | Path) -> Path:
    """The Keras file of a teacher given as a ``.keras`` file or a run folder (its ``last.keras``)."""
    path = Path(path)
    model = path / "last.keras" if path.is_dir() else path
    if not model.is_file():
        raise InputError(f"teacher {path}: no such Keras model; name a .keras file or a finished munet-train run")
    return model


def teacher_probs(teachers: Sequence[str | Path], x: np.ndarray, tta: str = "flips", batch: int = 32) -> np.ndarray:
    """Mean probability ``(N, h, w, 1)`` float32 of ``teachers`` on preprocessed images ``x`` ``(N, h, w, 3)``,
    each teacher averaged over the flips of ``tta`` (every map flipped back before averaging)."""
    import keras

    from munet.train.predictor import keras_input_size

    if not teachers:
        raise ValueError("teacher_probs needs at least one teacher")
    flips = FLIP_SETS[check_tta(tta)]
    total = np.zeros((*x.shape[:3], 1), np.float32)
    for t in teachers:
        path = teacher_file(t)
        model = keras.models.load_model(path, compile=False)
        if keras_input_size(model) != tuple(x.shape[1:3]):
            raise InputError(
                f"teacher {path}: input {keras_input_size(model)} but the student trains at {tuple(x.shape[1:3])}; "
                "use a teacher trained at the same size"
            )
        for vertical, horizontal in flips:
            axes = tuple(a for a, on in ((1, vertical), (2, horizontal)) if on)
            flipped = np.flip(x, axes) if axes else x
            prob = model.predict(flipped, batch_size=batch, verbose=0)
            total += np.flip(prob, axes) if axes else prob
        del model
    return total / np.float32(len(teachers) * len(flips))


def soft_targets(masks: np.ndarray, probs: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * masks + weight * probs`` as float32 (both ``(N, h, w, 1)``, in [0, 1])."""
    if masks.shape != probs.shape:
        raise ValueError(f"masks {masks.shape} and teacher probabilities {probs.shape} differ in shape")
    return ((1.0 - weight) * masks + weight * probs).astype(np.float32)

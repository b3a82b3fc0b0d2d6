"""Flips and rotations per batch in NumPy/OpenCV, with the ranges of :class:`munet.train.pipeline.AugmentConfig`.

The tf.data pipeline's geometric augmentation without TensorFlow: a horizontal (and, when set, vertical) flip with
probability 0.5 and a rotation uniform in ±``rotation_deg`` about the image centre, one bilinear resampling with
reflected borders for image and mask together, the mask re-binarised at 0.5. Its colour, zoom and noise options
are not implemented here (all off by default) and are refused.
"""

from __future__ import annotations

import cv2
import numpy as np

from munet.errors import MunetError
from munet.train.pipeline import AugmentConfig

#: AugmentConfig fields this module implements; any other must keep its default (off).
GEOMETRIC = ("rotation_deg", "hflip", "vflip")


def check_config(config: AugmentConfig) -> AugmentConfig:
    """``config`` when it asks only for flips and rotations; otherwise a :class:`MunetError` naming the rest."""
    default = AugmentConfig()
    extra = [k for k in vars(default) if k not in GEOMETRIC and getattr(config, k) != getattr(default, k)]
    if extra:
        raise MunetError(f"augment {', '.join(extra)}: not implemented for the GPU path (flips and rotations only)")
    return config


def augment_pair(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One float32 image ``(h, w, 3)`` and mask ``(h, w, 1)`` flipped and rotated alike (mask back in {0, 1})."""
    h, w = image.shape[:2]
    both = np.concatenate([image, mask], axis=-1)
    if config.hflip and rng.random() < 0.5:
        both = both[:, ::-1]
    if config.vflip and rng.random() < 0.5:
        both = both[::-1]
    angle = rng.uniform(-config.rotation_deg, config.rotation_deg) if config.rotation_deg > 0 else 0.0
    if angle:
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
        both = cv2.warpAffine(
            np.ascontiguousarray(both), matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
    return np.ascontiguousarray(both[..., :3]), (both[..., 3:] >= 0.5).astype(np.float32)


def augment_batch(
    images: np.ndarray, masks: np.ndarray, seed: tuple[int, ...], config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """A batch ``(B, h, w, 3)`` + ``(B, h, w, 1)`` augmented; the same ``seed`` gives the same batch."""
    rng = np.random.default_rng(list(seed))
    out = [augment_pair(i, m, rng, config) for i, m in zip(images, masks, strict=True)]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def epoch_order(n: int, batch: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Index batches of one epoch: a fresh seeded shuffle, full batches only (one batch of all ``n`` when
    ``n < batch``), so a jitted training step sees one shape."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    steps = max(1, n // batch)
    return [order[i * batch : (i + 1) * batch] for i in range(steps)]

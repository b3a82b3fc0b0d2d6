"""The tf.data input pipeline: decode every pair once, then shuffle, augment, batch and prefetch in graph mode.

Decoding uses a thread pool (OpenCV releases the GIL) and THE shared preprocessing
(:func:`munet.edge.preprocess.preprocess` / :func:`~munet.edge.preprocess.preprocess_mask`), so training sees
exactly what calibration and the edge runtime see. Augmentation follows the paper (random rotation and horizontal
flip), with optional vertical flip, zoom, hue/saturation, brightness/contrast and Gaussian noise. It runs per
batch with TensorFlow ops only (no ``py_function``) and stateless random ops seeded from the dataset, so it is fast
and reproducible. ``lesion_share`` draws each training epoch from a lesion pool and a lesion-free pool instead of
one shuffle (brain MRI: most slices hold no tumour).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from munet.data import Pair, load_pair
from munet.edge.preprocess import preprocess, preprocess_mask


@dataclass
class AugmentConfig:
    """Training-time augmentation (paper: random rotations and horizontal flips).

    ``rotation_deg``: rotation uniform in ±deg, reflect fill, same transform for image and mask (mask re-binarised
    at 0.5 after bilinear interpolation). ``brightness``: shift uniform in ±b of the [-1, 1] range.
    ``contrast``: factor uniform in [1 - c, 1 + c] around each image's mean. ``noise_std``: Gaussian noise std in
    the [-1, 1] space. ``scale``: zoom uniform in [1 - s, 1 + s] about the centre (above 1 magnifies), in the same
    resampling as the rotation, so image and mask stay aligned. ``hue``: hue shift uniform in ±h of a full turn;
    ``saturation``: saturation factor uniform in [1 - s, 1 + s] (both on the image seen as RGB in [0, 1]; grey
    images such as MRI are unchanged). Images are clipped back to [-1, 1].
    """

    rotation_deg: float = 20.0
    hflip: bool = True
    vflip: bool = False
    brightness: float = 0.0
    contrast: float = 0.0
    noise_std: float = 0.0
    scale: float = 0.0
    hue: float = 0.0
    saturation: float = 0.0

    def validate(self) -> AugmentConfig:
        """Check the ranges of the zoom and colour settings; raise a one-line :class:`MunetError`."""
        from munet.errors import MunetError

        if not 0 <= self.scale < 1:
            raise MunetError(f"augment.scale {self.scale}: must be in [0, 1) (e.g. 0.2 for zooms of 0.8-1.2)")
        if not 0 <= self.hue <= 0.5:
            raise MunetError(f"augment.hue {self.hue}: must be in [0, 0.5] turns of the colour wheel (e.g. 0.05)")
        if not 0 <= self.saturation <= 1:
            raise MunetError(f"augment.saturation {self.saturation}: must be in [0, 1] (e.g. 0.2)")
        return self


def _load_one(pair: Pair, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    image, mask = load_pair(pair)
    return preprocess(image, size), preprocess_mask(mask, size)


def load_arrays(pairs: Sequence[Pair], size: tuple[int, int], workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Decode every pair once -> x float32 ``(N, h, w, 3)`` in [-1, 1], y float32 ``(N, h, w, 1)`` in {0, 1}.

    Bad files raise :class:`~munet.errors.InputError` naming the file (the first one in ``pairs`` order).
    """
    h, w = int(size[0]), int(size[1])
    x = np.empty((len(pairs), h, w, 3), np.float32)
    y = np.empty((len(pairs), h, w, 1), np.float32)

    def work(i: int) -> None:
        x[i], y[i] = _load_one(pairs[i], (h, w))

    if workers <= 1 or len(pairs) < 2:
        for i in range(len(pairs)):
            work(i)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(work, i) for i in range(len(pairs))]:
                future.result()  # re-raises the first error in pair order
    return x, y


def lesion_flags(masks: np.ndarray) -> np.ndarray:
    """Bool ``(N,)``: which of the :func:`load_arrays` masks ``(N, h, w, 1)`` hold a lesion pixel at this size."""
    masks = np.asarray(masks)
    return masks.reshape(len(masks), -1).max(axis=1, initial=0.0) > 0.5


def _geometric_transforms(angles, hflip, vflip, height, width, zoom=None):
    """Projective transforms ``(B, 8)`` mapping output to input pixels: optional flips, then a rotation (and a
    ``zoom``, >1 magnifies) about the image centre (the composition is one resampling, so flips cost nothing)."""
    import tensorflow as tf

    cos, sin = tf.cos(angles), tf.sin(angles)
    if zoom is not None:
        cos, sin = cos / zoom, sin / zoom
    h, w = tf.cast(height, tf.float32) - 1.0, tf.cast(width, tf.float32) - 1.0
    # Rotation: x_in = a0*x + a1*y + a2, y_in = b0*x + b1*y + b2.
    a0, a1, a2 = cos, -sin, (w - (cos * w - sin * h)) / 2.0
    b0, b1, b2 = sin, cos, (h - (sin * w + cos * h)) / 2.0
    # Flips applied to the output coordinates first: x -> sx*x + tx, y -> sy*y + ty.
    sx, tx = tf.where(hflip, -1.0, 1.0), tf.where(hflip, w, 0.0)
    sy, ty = tf.where(vflip, -1.0, 1.0), tf.where(vflip, h, 0.0)
    zeros = tf.zeros_like(angles)
    return tf.stack(
        [a0 * sx, a1 * sy, a0 * tx + a1 * ty + a2, b0 * sx, b1 * sy, b0 * tx + b1 * ty + b2, zeros, zeros], axis=1
    )


def augment_batch(images, masks, seed, config: AugmentConfig, soft: bool = False):
    """Augment one batch with TF ops: images ``(B, h, w, 3)`` in [-1, 1], masks ``(B, h, w, 1)`` in {0, 1}
    (re-binarised after a geometric transform), or soft targets in [0, 1] with ``soft`` (kept as interpolated).

    ``seed`` is a ``(2,)`` int tensor for the stateless random ops; the same seed gives the same result.
    Geometric transforms are applied to the concatenated image+mask so both move identically.
    """
    import tensorflow as tf

    seed = tf.cast(seed, tf.int64)
    seeds = tf.random.experimental.stateless_split(seed, num=6)
    # Seeds of the later options are folded in, so the draws of the first six stay as they were.
    zoom_seed, hue_seed, sat_seed = (tf.random.experimental.stateless_fold_in(seed, k) for k in (101, 102, 103))
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    if config.hflip or config.vflip or config.rotation_deg > 0 or config.scale > 0:
        false = tf.zeros([batch], tf.bool)
        hflip = tf.random.stateless_uniform([batch], seeds[0]) < 0.5 if config.hflip else false
        vflip = tf.random.stateless_uniform([batch], seeds[1]) < 0.5 if config.vflip else false
        limit = math.radians(max(config.rotation_deg, 0.0))
        angles = tf.random.stateless_uniform([batch], seeds[2], -limit, limit)
        zoom = None
        if config.scale > 0:
            zoom = tf.random.stateless_uniform([batch], zoom_seed, 1.0 - config.scale, 1.0 + config.scale)
        both = tf.raw_ops.ImageProjectiveTransformV3(
            images=tf.concat([images, masks], axis=-1),
            transforms=_geometric_transforms(angles, hflip, vflip, height, width, zoom),
            output_shape=shape[1:3],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="REFLECT",
        )
        images = both[..., :3]
        masks = tf.clip_by_value(both[..., 3:], 0.0, 1.0) if soft else tf.cast(both[..., 3:] >= 0.5, tf.float32)
    if config.hue > 0 or config.saturation > 0:
        hsv = tf.image.rgb_to_hsv(tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0))
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        if config.hue > 0:
            shift = tf.random.stateless_uniform([batch, 1, 1], hue_seed, -config.hue, config.hue)
            hue = tf.math.floormod(hue + shift, 1.0)
        if config.saturation > 0:
            lo, hi = 1.0 - config.saturation, 1.0 + config.saturation
            sat = tf.clip_by_value(sat * tf.random.stateless_uniform([batch, 1, 1], sat_seed, lo, hi), 0.0, 1.0)
        images = tf.image.hsv_to_rgb(tf.stack([hue, sat, val], axis=-1)) * 2.0 - 1.0
    if config.contrast > 0:
        factor = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[3], 1 - config.contrast, 1 + config.contrast)
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * factor + mean
    if config.brightness > 0:
        images += tf.random.stateless_uniform([batch, 1, 1, 1], seeds[4], -config.brightness, config.brightness)
    if config.noise_std > 0:
        images += tf.random.stateless_normal(tf.shape(images), seeds[5], stddev=config.noise_std)
    if config.contrast > 0 or config.brightness > 0 or config.noise_std > 0 or config.hue > 0 or config.saturation > 0:
        images = tf.clip_by_value(images, -1.0, 1.0)
    return images, masks


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    training: bool,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    drop_remainder: bool = False,
    lesion_share: float = 0.0,
    lesion: np.ndarray | None = None,
    soft: bool = False,
):
    """A ``tf.data.Dataset`` of ``(image, mask)`` batches from :func:`load_arrays` output.

    ``training=True`` reshuffles every epoch and applies ``augment`` (default :class:`AugmentConfig`); both are
    reproducible for a ``seed`` (a new, deterministic shuffle and augmentation per epoch).
    ``training=False`` keeps the order and never augments (nor resamples).

    ``lesion_share`` > 0 (training only): each epoch is still ``len(x)`` images, drawn from the lesion and the
    lesion-free images (two pools, each shuffled and repeated) so that on average this share has a lesion.
    ``lesion``: the bool flags of :func:`lesion_flags` (computed from ``y`` when not given).
    ``soft``: ``y`` holds soft targets (distillation, :mod:`munet.train.teacher`), moved but not re-binarised.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} masks")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not training:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    config = augment if augment is not None else AugmentConfig()
    if lesion_share > 0:
        flags = lesion_flags(y) if lesion is None else np.asarray(lesion, bool)
        if flags.shape != (len(x),):
            raise ValueError(f"lesion has shape {flags.shape}; expected one flag per image ({len(x)},)")
        with tf.device("/CPU:0"):  # host memory, like from_tensor_slices: tf.data gathers the batches there
            images, masks = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
        ds = _lesion_balanced(flags, lesion_share, seed).batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(lambda i: (tf.gather(images, i), tf.gather(masks, i)))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
    ds = tf.data.Dataset.zip((ds, seeds))
    ds = ds.map(
        lambda batch, s: augment_batch(batch[0], batch[1], s, config, soft),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def _lesion_balanced(lesion: np.ndarray, share: float, seed: int):
    """``len(lesion)`` indices per epoch: a lesion pick with probability ``share``, else a lesion-free one."""
    import tensorflow as tf

    if not 0 < share < 1:
        raise ValueError(f"lesion_share must be in (0, 1), got {share}")
    pools = []
    for k, members in enumerate((np.flatnonzero(lesion), np.flatnonzero(~lesion))):
        if not len(members):
            raise ValueError(f"lesion_share {share}: no {('lesion', 'lesion-free')[k]} image among {len(lesion)}")
        pool = tf.data.Dataset.from_tensor_slices(members.astype(np.int64))
        pools.append(pool.shuffle(len(members), seed=seed + k, reshuffle_each_iteration=True).repeat())
    picks = tf.data.Dataset.sample_from_datasets(
        pools, weights=[share, 1.0 - share], seed=seed, rerandomize_each_iteration=True
    )
    return picks.take(len(lesion))

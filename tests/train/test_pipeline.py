"""The tf.data pipeline: decode once with the shared preprocessing, augment image and mask together, seeded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from munet.data import find_pairs, load_pair
from munet.edge.preprocess import preprocess, preprocess_mask
from munet.errors import InputError
from munet.train.pipeline import AugmentConfig, augment_batch, lesion_flags, load_arrays, make_dataset
from munet.train.synthetic import make_synthetic_dataset

tf = pytest.importorskip("tensorflow")

SIZE = (48, 64)


@pytest.fixture(scope="module")
def synth_pairs(tmp_path_factory):
    return find_pairs(make_synthetic_dataset(tmp_path_factory.mktemp("synth"), n=12, size=(96, 128), seed=0))


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Images whose mask is exactly ``channel 0 > 0``: any mismatch after augmentation shows desynchronisation."""
    rng = np.random.default_rng(0)
    field = rng.standard_normal((10, 6, 8)).astype(np.float32)
    field = np.stack([cv2.resize(f, SIZE[::-1], interpolation=cv2.INTER_CUBIC) for f in field])
    field = np.clip(field / np.abs(field).max(), -1, 1)
    x = np.stack([field, -field, np.zeros_like(field)], axis=-1).astype(np.float32)
    y = (field > 0).astype(np.float32)[..., None]
    return x, y


def test_load_arrays_uses_the_shared_preprocessing(synth_pairs):
    x, y = load_arrays(synth_pairs, (64, 80), workers=2)
    assert x.shape == (12, 64, 80, 3) and x.dtype == np.float32
    assert y.shape == (12, 64, 80, 1) and y.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.min() < -0.5 and x.max() > 0.5
    assert set(np.unique(y).tolist()) == {0.0, 1.0}
    image, mask = load_pair(synth_pairs[5])
    assert np.array_equal(x[5], preprocess(image, (64, 80)))
    assert np.array_equal(y[5], preprocess_mask(mask, (64, 80)))
    x1, y1 = load_arrays(synth_pairs, (64, 80), workers=1)
    assert np.array_equal(x, x1) and np.array_equal(y, y1)


def test_load_arrays_reports_the_bad_file(synth_pairs, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    pairs = list(synth_pairs[:3]) + [type(synth_pairs[0])(bad, synth_pairs[0].mask, "broken")]
    with pytest.raises(InputError, match="broken.png"):
        load_arrays(pairs, SIZE, workers=2)


def test_validation_dataset_is_untouched_and_ordered(blobs):
    x, y = blobs
    batches = list(make_dataset(x, y, batch_size=4, training=False))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert np.array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    assert np.array_equal(np.concatenate([b[1].numpy() for b in batches]), y)


def test_training_batches_shapes_dtypes_ranges(blobs):
    x, y = blobs
    config = AugmentConfig(rotation_deg=30, vflip=True, brightness=0.3, contrast=0.3, noise_std=0.1)
    ds = make_dataset(x, y, batch_size=4, training=True, augment=config, seed=1, drop_remainder=True)
    batches = list(ds)
    assert len(batches) == 2
    for images, masks in batches:
        assert images.dtype == tf.float32 and masks.dtype == tf.float32
        assert images.shape == (4, *SIZE, 3) and masks.shape == (4, *SIZE, 1)
        assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
        assert set(np.unique(masks.numpy()).tolist()) <= {0.0, 1.0}


def test_image_and_mask_are_transformed_together(blobs):
    x, y = blobs
    config = AugmentConfig(rotation_deg=40, hflip=True, vflip=True)
    images, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([7, 11], tf.int64), config)
    images, masks = images.numpy(), masks.numpy()
    assert not np.allclose(images, x)  # something happened
    kernel = np.ones((3, 3), np.uint8)
    for image, mask in zip(images, masks.astype(np.uint8)[..., 0], strict=True):
        # Mismatches come only from interpolation right at the blob borders.
        mismatch = (image[..., 0] > 0) != (mask > 0)
        border = cv2.dilate(mask, kernel) != cv2.erode(mask, kernel)
        assert not (mismatch & ~border & (np.abs(image[..., 0]) > 0.02)).any()
        assert mismatch.mean() < 0.05
    # A mask augmented with another seed would not match (so the check above has teeth).
    _, other = augment_batch(tf.constant(x), tf.constant(y), tf.constant([8, 11], tf.int64), config)
    assert ((images[..., 0] > 0) != (other.numpy()[..., 0] > 0.5)).mean() > 0.1
    # Flips alone are exact: each output is the input or its mirror, image and mask alike.
    flips = AugmentConfig(rotation_deg=0, hflip=True, vflip=False)
    fi, fm = augment_batch(tf.constant(x), tf.constant(y), tf.constant([1, 2], tf.int64), flips)
    mirrored = 0
    for i in range(len(x)):
        same = np.allclose(fi[i], x[i], atol=1e-5) and np.array_equal(fm[i], y[i])
        flipped = np.allclose(fi[i], x[i, :, ::-1], atol=1e-5) and np.array_equal(fm[i], y[i, :, ::-1])
        assert same or flipped
        mirrored += flipped
    assert 0 < mirrored < len(x)


def test_photometric_augmentation_leaves_masks_alone(blobs):
    x, y = blobs
    config = AugmentConfig(rotation_deg=0, hflip=False, brightness=0.2, contrast=0.2, noise_std=0.05)
    images, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([3, 4], tf.int64), config)
    assert np.array_equal(masks.numpy(), y)
    assert not np.allclose(images.numpy(), x)


def test_seeded_training_pipeline_is_reproducible(blobs):
    x, y = blobs
    config = AugmentConfig(rotation_deg=20, vflip=True, noise_std=0.05)

    def two_epochs(seed: int) -> list[np.ndarray]:
        ds = make_dataset(x, y, batch_size=5, training=True, augment=config, seed=seed)
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    first, again, other = two_epochs(5), two_epochs(5), two_epochs(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], first[1])  # a new shuffle/augmentation every epoch
    assert not np.array_equal(first[0], other[0])


def test_make_dataset_rejects_mismatched_arrays(blobs):
    x, y = blobs
    with pytest.raises(ValueError):
        make_dataset(x, y[:-1], batch_size=2, training=True)


def test_reflect_fill_keeps_a_full_mask_full():
    # A lesion covering the whole frame stays whole after rotation: reflect fill, no eroded borders.
    x = np.zeros((4, *SIZE, 3), np.float32)
    y = np.ones((4, *SIZE, 1), np.float32)
    _, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([0, 9], tf.int64), AugmentConfig(45.0))
    assert float(tf.reduce_min(masks)) == 1.0


def _square(offset: tuple[int, int] = (0, 0), side: int = 16, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Colourful images (channel 0 = +1 on a square, -1 elsewhere) and the square as mask."""
    y = np.zeros((n, *SIZE, 1), np.float32)
    top, left = (SIZE[0] - side) // 2 + offset[0], (SIZE[1] - side) // 2 + offset[1]
    y[:, top : top + side, left : left + side] = 1.0
    x = np.stack([y[..., 0] * 2 - 1, np.full(y.shape[:3], 0.3), np.full(y.shape[:3], -0.4)], axis=-1)
    return x.astype(np.float32), y


def test_zoom_keeps_image_and_mask_aligned_about_the_centre():
    scale = 0.3
    config = AugmentConfig(rotation_deg=0, hflip=False, scale=scale)
    x, y = _square(offset=(5, -9))  # off centre: a zoom about any other point would move it differently
    images, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([5, 6], tf.int64), config)
    images, masks = images.numpy(), masks.numpy()
    areas = masks.sum(axis=(1, 2, 3)) / y[0].sum()
    assert areas.min() >= (1 - scale) ** 2 * 0.85 and areas.max() <= (1 + scale) ** 2 * 1.15
    assert areas.max() - areas.min() > 0.1  # zooms differ per image, in and out
    kernel = np.ones((3, 3), np.uint8)
    for image, mask in zip(images, masks.astype(np.uint8)[..., 0], strict=True):
        mismatch = (image[..., 0] > 0) != (mask > 0)
        assert not (mismatch & (cv2.dilate(mask, kernel) == cv2.erode(mask, kernel))).any()
    # A centred square stays centred: the zoom is about the image centre.
    xc, yc = _square()
    _, centred = augment_batch(tf.constant(xc), tf.constant(yc), tf.constant([5, 6], tf.int64), config)
    rows, cols = np.nonzero(centred.numpy()[..., 0].sum(axis=0))
    assert abs(rows.mean() - (SIZE[0] - 1) / 2) < 0.6 and abs(cols.mean() - (SIZE[1] - 1) / 2) < 0.6


def test_hue_and_saturation_change_colours_not_masks_or_greys():
    x, y = _square()
    for config in (AugmentConfig(0, False, hue=0.2), AugmentConfig(0, False, saturation=0.5)):
        images, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([1, 2], tf.int64), config)
        images = images.numpy()
        assert np.array_equal(masks.numpy(), y)
        assert images.min() >= -1.0 and images.max() <= 1.0
        assert np.abs(images - x).max() > 0.1  # colours moved
        # hue and saturation keep HSV's value (the brightest channel)
        np.testing.assert_allclose(images.max(axis=-1), x.max(axis=-1), atol=1e-5)
        grey = np.repeat(x[..., :1], 3, axis=-1)  # no saturation: nothing to turn
        grey_out, _ = augment_batch(tf.constant(grey), tf.constant(y), tf.constant([1, 2], tf.int64), config)
        np.testing.assert_allclose(grey_out.numpy(), grey, atol=1e-5)


def test_new_options_are_off_by_default_and_leave_the_old_draws_alone(blobs):
    x, y = blobs
    assert (AugmentConfig().scale, AugmentConfig().hue, AugmentConfig().saturation) == (0.0, 0.0, 0.0)
    off = AugmentConfig(rotation_deg=0, hflip=False)
    images, masks = augment_batch(tf.constant(x), tf.constant(y), tf.constant([3, 4], tf.int64), off)
    assert np.array_equal(images.numpy(), x) and np.array_equal(masks.numpy(), y)
    # Adding colour jitter keeps the rotation/flip drawn for the same seed (its seeds are folded in separately).
    seed = tf.constant([3, 4], tf.int64)
    _, plain = augment_batch(tf.constant(x), tf.constant(y), seed, AugmentConfig(rotation_deg=30, vflip=True))
    _, jitter = augment_batch(tf.constant(x), tf.constant(y), seed, AugmentConfig(30, vflip=True, hue=0.1))
    assert np.array_equal(plain.numpy(), jitter.numpy())


# --------------------------------------------------------------------------------------------- lesion share
def _tagged(n: int = 42, n_lesion: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Tiny images whose channel 0 is their index (``i / n``); the first ``n_lesion`` masks hold a square."""
    x = np.zeros((n, 8, 8, 3), np.float32)
    x[..., 0] = (np.arange(n, dtype=np.float32) / n)[:, None, None]
    y = np.zeros((n, 8, 8, 1), np.float32)
    y[:n_lesion, 2:6, 2:6] = 1.0
    return x, y


def _epochs(ds, epochs: int) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    """Batch sizes per epoch, drawn indices and whether each draw's mask holds a lesion."""
    sizes, ids, lesion = [], [], []
    for _ in range(epochs):
        batches = list(ds)
        sizes.append([len(b[0]) for b in batches])
        for images, masks in batches:
            ids += np.rint(images.numpy()[:, 0, 0, 0] * 42).astype(int).tolist()
            lesion += (masks.numpy().reshape(len(masks), -1).max(axis=1) > 0).tolist()
    return sizes, np.array(ids), np.array(lesion)


def test_lesion_flags_read_the_decoded_masks():
    _, y = _tagged()
    y[20, 7, 7] = 1.0  # one pixel is a lesion
    assert lesion_flags(y).tolist() == [True] * 10 + [False] * 10 + [True] + [False] * 21


def test_lesion_share_draws_the_requested_share_with_the_same_steps():
    x, y = _tagged()  # natural share 10 / 42 = 0.24
    plain = AugmentConfig(rotation_deg=0, hflip=False)
    off = _epochs(make_dataset(x, y, 8, training=True, augment=plain, seed=3), 10)
    on = _epochs(make_dataset(x, y, 8, training=True, augment=plain, seed=3, lesion_share=0.5), 10)
    assert off[0] == on[0] == [[8, 8, 8, 8, 8, 2]] * 10  # an epoch keeps its steps and batch sizes
    assert off[2].mean() == pytest.approx(10 / 42)
    assert abs(on[2].mean() - 0.5) < 0.1  # 420 draws
    assert np.array_equal(on[2], on[1] < 10)  # each draw brings its own mask
    assert set(on[1][on[2]]) == set(range(10)) and set(on[1][~on[2]]) == set(range(10, 42))  # every image is used
    again = _epochs(make_dataset(x, y, 8, training=True, augment=plain, seed=3, lesion_share=0.5), 2)
    assert np.array_equal(again[1], on[1][:84])  # seeded
    assert not np.array_equal(on[1][:42], on[1][42:84])  # new draws every epoch
    high = _epochs(make_dataset(x, y, 8, training=True, augment=plain, seed=3, lesion_share=0.8), 10)
    assert abs(high[2].mean() - 0.8) < 0.1
    flags = np.arange(42) < 3  # given flags are the pools: here images 0-2 alone count as lesion images
    given = _epochs(make_dataset(x, y, 8, training=True, augment=plain, seed=3, lesion_share=0.5, lesion=flags), 10)
    assert abs((given[1] < 3).mean() - 0.5) < 0.1


def test_lesion_share_zero_is_the_previous_pipeline(blobs):
    x, y = blobs
    config = AugmentConfig(rotation_deg=25, vflip=True, noise_std=0.05)

    def previous():  # make_dataset's training branch before lesion_share existed
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=4, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=4, rerandomize_each_iteration=True).batch(2, drop_remainder=True)
        ds = tf.data.Dataset.zip((ds.batch(3), seeds))
        return ds.map(lambda b, s: augment_batch(b[0], b[1], s, config), num_parallel_calls=tf.data.AUTOTUNE)

    old, new = previous(), make_dataset(x, y, 3, training=True, augment=config, seed=4, lesion_share=0.0)
    for _ in range(2):
        pairs = list(zip(old, new, strict=True))
        assert len(pairs) == 4
        for (xo, yo), (xn, yn) in pairs:
            assert np.array_equal(xo.numpy(), xn.numpy()) and np.array_equal(yo.numpy(), yn.numpy())


def test_lesion_share_never_touches_validation_and_needs_both_pools():
    x, y = _tagged()
    batches = list(make_dataset(x, y, 8, training=False, lesion_share=0.5))
    assert np.array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    for bad_y, missing in ((y[:10], "no lesion-free image among 10"), (y[10:], "no lesion image among 32")):
        with pytest.raises(ValueError, match=missing):
            make_dataset(x[: len(bad_y)], bad_y, 8, training=True, lesion_share=0.5)
    with pytest.raises(ValueError, match=r"lesion_share must be in \(0, 1\)"):
        make_dataset(x, y, 8, training=True, lesion_share=1.0)
    with pytest.raises(ValueError, match="one flag per image"):
        make_dataset(x, y, 8, training=True, lesion_share=0.5, lesion=np.ones(5, bool))

"""Distillation targets (``munet.train.teacher``): flip-averaged teacher probabilities on a real Keras model, the
blend, one-line errors, soft targets through the augmentation and the trainer's data preparation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.errors import InputError
from munet.train.teacher import soft_targets, teacher_file, teacher_probs

keras = pytest.importorskip("keras")


def _images(n: int = 3, size: tuple[int, int] = (64, 64), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, *size, 3)).astype(np.float32)


def test_teacher_probabilities_are_the_mean_over_its_flips_and_over_the_teachers(tiny_keras_path: Path) -> None:
    model = keras.models.load_model(tiny_keras_path, compile=False)
    x = _images()
    by_hand = np.mean(
        [
            np.flip(model.predict(np.flip(x, axes) if axes else x, verbose=0), axes) if axes else model.predict(x)
            for axes in [(), (2,), (1,), (1, 2)]
        ],
        axis=0,
    )
    flips = teacher_probs([tiny_keras_path], x, "flips")
    assert flips.shape == (3, 64, 64, 1) and flips.dtype == np.float32
    np.testing.assert_allclose(flips, by_hand, atol=1e-5)
    np.testing.assert_allclose(teacher_probs([tiny_keras_path], x, "none"), model.predict(x, verbose=0), atol=1e-6)
    assert np.abs(flips - model.predict(x, verbose=0)).max() > 1e-4  # the flips do change a random model's map
    # the same teacher twice: the mean over teachers is that teacher
    np.testing.assert_allclose(teacher_probs([tiny_keras_path, tiny_keras_path], x, "flips"), flips, atol=1e-6)


def test_a_missing_or_mis_sized_teacher_is_one_line(tiny_keras_path: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such Keras model; name a .keras file or a finished munet-train run"):
        teacher_probs([tmp_path / "nope.keras"], _images())
    with pytest.raises(InputError, match=r"input \(64, 64\) but the student trains at \(96, 96\)"):
        teacher_probs([tiny_keras_path], _images(size=(96, 96)))
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(InputError, match="no such Keras model"):
        teacher_file(run)  # a run folder without last.keras
    (run / "last.keras").write_bytes(tiny_keras_path.read_bytes())
    assert teacher_file(run) == run / "last.keras"


def test_soft_targets_blend_mask_and_teacher() -> None:
    masks = np.array([0.0, 1.0, 1.0, 0.0], np.float32).reshape(1, 2, 2, 1)
    probs = np.array([0.2, 0.6, 1.0, 0.0], np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(soft_targets(masks, probs, 0.5).ravel(), [0.1, 0.8, 1.0, 0.0])
    np.testing.assert_allclose(soft_targets(masks, probs, 1.0), probs)
    with pytest.raises(ValueError, match="differ in shape"):
        soft_targets(masks, probs[:, :1], 0.5)


def test_the_augmentation_moves_soft_targets_without_binarising_them() -> None:
    from munet.train.pipeline import AugmentConfig, augment_batch

    tf = pytest.importorskip("tensorflow")
    images = tf.zeros((2, 32, 32, 3))
    masks = tf.fill((2, 32, 32, 1), 0.3)
    config = AugmentConfig(rotation_deg=30.0, hflip=True)
    _, soft = augment_batch(images, masks, tf.constant([1, 2]), config, soft=True)
    _, hard = augment_batch(images, masks, tf.constant([1, 2]), config)
    np.testing.assert_allclose(soft.numpy(), 0.3, atol=1e-5)  # a constant target stays that constant (reflect fill)
    assert set(np.unique(hard.numpy())) == {0.0}  # masks: re-binarised at 0.5


def test_the_trainer_trains_on_the_blend_of_masks_and_teacher(tiny_keras_path: Path, tmp_path: Path) -> None:
    """``teacher`` set: the training targets are the blend (validation keeps the true masks, the lesion flags come
    from the true masks); ``teacher_weight`` sets the teacher's share."""
    from munet.train.config import make_config
    from munet.train.trainer import _prepare_data

    base = {"alpha": 0.35, "size": [64, 64], "synthetic_count": 12, "encoder_weights": "none"}
    plain = _prepare_data(make_config(overrides=base), tmp_path / "plain")
    config = make_config(overrides=base | {"teacher": [str(tiny_keras_path)], "teacher_weight": 0.25})
    data = _prepare_data(config, tmp_path / "distil")
    want = soft_targets(plain.y_train, teacher_probs([tiny_keras_path], plain.x_train, "flips"), 0.25)
    np.testing.assert_allclose(data.y_train, want, atol=1e-5)
    assert len(np.unique(data.y_train)) > 2  # soft
    np.testing.assert_array_equal(data.y_val, plain.y_val)
    np.testing.assert_array_equal(data.lesion, plain.lesion)
    assert config.config_hash() != make_config(overrides=base).config_hash()

"""The model zoo's custom layers: SegNet's max-unpooling against TensorFlow's own argmax + scatter."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from munet.train.models.layers import MaxUnpooling2D  # noqa: E402


def _reference_unpool(features: np.ndarray, before_pool: np.ndarray) -> np.ndarray:
    """SegNet's definition: scatter each pooled feature to the argmax position of its window."""
    _, argmax = tf.nn.max_pool_with_argmax(
        before_pool, ksize=2, strides=2, padding="VALID", include_batch_in_index=True
    )
    out = np.zeros(before_pool.size, np.float32)
    out[argmax.numpy().ravel()] = features.ravel()
    return out.reshape(before_pool.shape)


def test_unpooling_puts_features_where_the_encoder_kept_its_maxima() -> None:
    rng = np.random.default_rng(0)
    before = rng.permutation(2 * 8 * 6 * 3).reshape(2, 8, 6, 3).astype(np.float32)  # distinct: no tied maxima
    features = rng.normal(size=(2, 4, 3, 3)).astype(np.float32)
    got = np.asarray(MaxUnpooling2D()([features, before]))
    np.testing.assert_array_equal(got, _reference_unpool(features, before))
    assert np.count_nonzero(got) == features.size  # one position per window


def test_tied_maxima_go_to_the_first_tied_position_as_segnets_argmax_picks_it() -> None:
    rng = np.random.default_rng(3)
    before = np.maximum(rng.integers(-3, 3, size=(2, 8, 6, 3)), 0).astype(np.float32)  # ReLU-like: many ties
    features = rng.normal(size=(2, 4, 3, 3)).astype(np.float32)
    got = np.asarray(MaxUnpooling2D()([features, before]))
    np.testing.assert_array_equal(got, _reference_unpool(features, before))
    assert np.count_nonzero(got) == features.size


def test_unpooling_traces_with_unknown_batch_and_spatial_sizes() -> None:
    """Keras traces training and validation steps with unknown sizes (the SegNet training run that found this)."""
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    unpool = tf.function(lambda f, b: MaxUnpooling2D()([f, b]), input_signature=[spec, spec])
    rng = np.random.default_rng(4)
    before = np.maximum(rng.integers(-2, 3, size=(3, 6, 4, 3)), 0).astype(np.float32)
    features = rng.normal(size=(3, 3, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(unpool(features, before).numpy(), _reference_unpool(features, before))


def test_the_older_all_ties_variant_passes_its_feature_to_every_tied_position() -> None:
    before = np.zeros((1, 2, 2, 1), np.float32)  # e.g. a window of ReLU zeros
    before[0, 1, 1, 0] = -1.0
    got = np.asarray(MaxUnpooling2D(tie_break="all")([np.full((1, 1, 1, 1), 5.0, np.float32), before]))
    np.testing.assert_array_equal(got[0, ..., 0], [[5.0, 5.0], [5.0, 0.0]])


def test_a_layer_saved_before_tie_break_existed_reloads_as_it_was_trained() -> None:
    assert MaxUnpooling2D.from_config({"name": "dec1_unpool", "trainable": True}).tie_break == "all"
    assert MaxUnpooling2D.from_config(MaxUnpooling2D().get_config()).tie_break == "first"
    with pytest.raises(ValueError, match="tie_break"):
        MaxUnpooling2D(tie_break="last")


def test_no_gradient_flows_through_the_switches() -> None:
    before = tf.Variable(np.random.default_rng(1).normal(size=(1, 4, 4, 2)).astype(np.float32))
    features = tf.Variable(np.ones((1, 2, 2, 2), np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(MaxUnpooling2D()([features, before]) * 3.0)
    g_features, g_before = tape.gradient(total, [features, before])
    np.testing.assert_allclose(g_features.numpy(), 3.0)  # every feature lands in exactly one place
    assert g_before is None or not np.any(g_before.numpy())


def test_a_model_with_unpooling_reloads_through_the_converter_loader(tmp_path) -> None:
    from munet.convert.export import load_keras

    inputs = keras.Input((8, 8, 2))
    pooled = keras.layers.MaxPooling2D(2)(inputs)
    model = keras.Model(inputs, MaxUnpooling2D(name="unpool")([keras.layers.Conv2D(2, 1)(pooled), inputs]))
    model.save(tmp_path / "m.keras")
    loaded = load_keras(tmp_path / "m.keras")  # safe_mode, no custom_objects passed
    x = np.random.default_rng(2).normal(size=(1, 8, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert isinstance(loaded.get_layer("unpool"), MaxUnpooling2D)

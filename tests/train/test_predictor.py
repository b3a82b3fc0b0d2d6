"""munet.train.predictor: the Keras adapter of the evaluator matches the TFLite adapter on the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from munet.edge.evaluate import Predictor, SegmenterPredictor, evaluate, finish_mask, predict_pairs, run_predictor


def test_keras_and_tflite_adapters_agree_on_the_tiny_model(
    trained_keras: Path, tiny_tflites: dict[str, Path], blob_data: Path
) -> None:
    """The float Keras model and its float32 .tflite, both through the evaluator on the same original-size pairs:
    the same preprocessing and post-processing, so probabilities agree to float precision and masks to the pixel
    (bar pixels whose probability sits at the threshold)."""
    keras = pytest.importorskip("keras")
    from munet.data import find_pairs
    from munet.train.predictor import KerasPredictor

    pairs = find_pairs(blob_data, "folder")[:8]
    model = keras.models.load_model(trained_keras, compile=False)
    kp = KerasPredictor(model, batch_size=3)
    assert isinstance(kp, Predictor) and kp.input_size == (64, 64)
    k_preds, truths = predict_pairs(kp, pairs)
    t_preds, _ = predict_pairs(SegmenterPredictor(tiny_tflites["float32"], threads=1), pairs)
    for k, t, truth in zip(k_preds, t_preds, truths, strict=True):
        assert k.mask.shape == t.mask.shape == truth.shape != k.prob.shape  # original size, probs at the model size
        np.testing.assert_allclose(k.prob, t.prob, atol=1e-4)
        near = np.abs(k.prob_at() - kp.threshold) < 1e-3
        assert np.array_equal(k.mask[~near], t.mask[~near])
    ek, et = evaluate(k_preds, truths), evaluate(t_preds, truths, reference=k_preds)
    assert ek.per_image["dice"] == pytest.approx(et.per_image["dice"], abs=1e-3)
    assert et.agreement["dice"] > 0.999 and et.agreement["mean_abs_prob_diff"] < 1e-4
    assert ek.per_image["dice"] > 0.5  # the trained tiny model segments the blobs


def test_keras_predictor_threshold_and_min_area(trained_keras: Path, blob_data: Path) -> None:
    keras = pytest.importorskip("keras")
    from munet.data import find_pairs, load_pair
    from munet.train.predictor import KerasPredictor

    image, _ = load_pair(find_pairs(blob_data, "folder")[0])
    model = keras.models.load_model(trained_keras, compile=False)
    (plain,) = run_predictor(KerasPredictor(model), [image])
    (strict,) = run_predictor(KerasPredictor(model, threshold=0.9, min_area=0.01), [image])
    assert np.array_equal(strict.mask, finish_mask(plain.prob, image.shape, 0.9, min_area=0.01))
    assert np.array_equal(plain.mask, finish_mask(plain.prob, image.shape, 0.5))

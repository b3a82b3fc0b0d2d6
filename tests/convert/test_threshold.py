"""munet-convert --calibrate-threshold: the training images' best threshold, folded into the mask head's bias."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from munet.convert.threshold import calibrate_threshold
from munet.errors import InputError


def _square_case() -> tuple[np.ndarray, np.ndarray]:
    """A lesion square at 0.62, a ring around it at 0.52 (over-segmentation bait), background 0.1."""
    prob = np.full((32, 32), 0.1, np.float32)
    prob[6:26, 6:26] = 0.52
    prob[10:22, 10:22] = 0.62
    truth = np.zeros((32, 32), np.uint8)
    truth[10:22, 10:22] = 255
    return prob, truth


def test_the_threshold_that_drops_the_ring_and_keeps_the_lesion_wins() -> None:
    prob, truth = _square_case()
    cal = calibrate_threshold([prob], [truth])
    by_t = dict(zip(cal.candidates, cal.dice, strict=True))
    assert by_t[0.5] == pytest.approx(2 * 144 / (400 + 144))  # the ring is in the mask at 0.5
    assert by_t[0.55] == by_t[0.6] == 1.0 and by_t[0.65] == 0.0  # 0.65 drops the lesion too
    assert cal.threshold == 0.55  # of the equal best, the one nearest the paper's 0.5
    assert "0.55 1.0000  <- chosen" in cal.table()
    assert cal.to_dict()["candidates"][0] == {"threshold": 0.3, "dice": by_t[0.3]}


def test_a_gain_within_the_tolerance_keeps_the_threshold_nearer_half() -> None:
    prob, truth = _square_case()
    flat = np.where(prob > 0.5, 0.9, 0.1).astype(np.float32)  # every candidate gives the same mask
    assert calibrate_threshold([flat], [truth]).threshold == 0.5
    assert calibrate_threshold([prob], [truth], candidates=(0.3, 0.7)).threshold == 0.3  # 0.7 empties it
    with pytest.raises(ValueError, match="must lie in"):
        calibrate_threshold([prob], [truth], candidates=(0.0, 0.5))
    with pytest.raises(ValueError, match="1 probability maps for 2"):
        calibrate_threshold([prob], [truth, truth])


def test_folding_moves_the_threshold_into_the_head_bias(tiny_keras_path) -> None:
    keras = pytest.importorskip("keras")
    from munet.convert.threshold import fold_threshold

    model = keras.models.load_model(tiny_keras_path, compile=False)
    x = np.random.default_rng(0).uniform(-1, 1, (2, *model.input_shape[1:3], 3)).astype(np.float32)
    before = np.asarray(model(x, training=False), np.float64)
    assert fold_threshold(model, 0.7) in {layer.name for layer in model.layers}
    after = np.asarray(model(x, training=False), np.float64)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(after), logit(before) - math.log(0.7 / 0.3), atol=2e-3)
    assert np.mean((after > 0.5) != (before > 0.7)) < 1e-3


def test_a_head_without_a_bias_or_a_mask_layer_is_one_line() -> None:
    keras = pytest.importorskip("keras")
    from munet.convert.threshold import fold_threshold

    inp = keras.Input((8, 8, 3))
    logits = keras.layers.Conv2D(1, 1, use_bias=False, name="logits")(inp)
    model = keras.Model(inp, keras.layers.Activation("sigmoid", name="mask")(logits), name="nobias")
    with pytest.raises(InputError, match="'logits' \\(Conv2D\\) has no one-channel bias"):
        fold_threshold(model, 0.6)
    other = keras.Model(inp, keras.layers.Activation("sigmoid", name="prob")(logits), name="other")
    with pytest.raises(InputError, match="no sigmoid layer called 'mask'"):
        fold_threshold(other, 0.6)
    with pytest.raises(InputError, match="must lie in"):
        fold_threshold(model, 1.0)


def test_calibrate_threshold_writes_a_model_whose_half_is_the_chosen_threshold(
    trained_run, blob_data, tiny_tflites, tmp_path, monkeypatch
):
    """The shared tiny model's own best threshold is 0.5 (nothing to fold); one candidate, 0.7, forces a real fold:
    the folded file at 0.5 must give the plain file's masks at 0.7."""
    pytest.importorskip("ai_edge_litert")
    from munet.convert import threshold
    from munet.convert.cli import main
    from munet.edge.metadata import read_model_info
    from munet.edge.runtime import Segmenter
    from munet.imageio import load_image

    plain, folded = tiny_tflites["float32"], tmp_path / "folded.tflite"  # plain: the same best.keras, not folded
    monkeypatch.setattr(threshold, "THRESHOLD_CANDIDATES", (0.7,))
    args = [str(trained_run), "--float32", "--no-gate", "--calib-data", str(blob_data), "--quiet"]
    res = CliRunner().invoke(main, [*args, "--out", str(folded), "--calibrate-threshold"])
    assert res.exit_code == 0, res.output
    assert "mask threshold on 60 training images (float model), folded into the head's bias" in res.output
    assert "0.70 " in res.output and "<- chosen" in res.output
    info = read_model_info(folded)
    assert info.folded_threshold == 0.7 and info.threshold == 0.5
    assert json.loads(folded.with_suffix(".json").read_text())["folded_threshold"] == 0.7
    assert read_model_info(plain).folded_threshold == 0.5
    a, b = Segmenter(plain, threads=1, min_area=0), Segmenter(folded, threads=1, min_area=0)
    changed = 0
    for path in sorted((blob_data / "images").glob("*.png"))[:6]:
        image = load_image(path)
        pa, pb = a.segment(image).prob, b.segment(image).prob
        assert np.mean((pa > 0.7) == (pb > 0.5)) > 0.999, path.name
        changed += int(np.sum((pa > 0.5) != (pb > 0.5)))
    assert changed > 0, "folding 0.7 changed no pixel at 0.5: the test would not see a missing fold"

"""MU-Net builder: the paper's skip channels, shapes, parameter counts and encoder-weight handling."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from munet.errors import ModelError  # noqa: E402
from munet.train.models import build_model  # noqa: E402
from munet.train.models.munet import build_munet, set_encoder_trainable  # noqa: E402


def _skip_channels(model):
    return [t.shape[-1] for t in model.get_layer("encoder").outputs]


def test_alpha_1_4_has_the_papers_skip_channels_and_measured_parameters():
    model = build_munet(alpha=1.4, input_shape=(64, 64, 3), encoder_weights=None)
    # Paper Sec. 3.2: 144/192/288/816 channels at 1/2..1/16 of the input; bottleneck 448 (block_16_project).
    assert _skip_channels(model) == [144, 192, 288, 816, 448]
    # FIELD-NOTES Sec. 2 (measured independently): 9,492,753 parameters with the 512/256/128/64 decoder.
    assert model.count_params() == 9_492_753


def test_non_square_input_and_sigmoid_output():
    model = build_model("munet", alpha=0.35, input_shape=(64, 96, 3), encoder_weights=None)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 96, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 64, 96, 1)
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert model.count_params() == 2_911_121  # alpha 0.35, FIELD-NOTES Sec. 2


def test_encoder_batchnorm_can_be_left_trainable():
    model = build_munet(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=None, freeze_encoder_bn=False)
    set_encoder_trainable(model, False)
    set_encoder_trainable(model, True, freeze_batchnorm=False)
    assert all(layer.trainable for layer in model.get_layer("encoder").layers)


def test_pretrained_encoder_batchnorm_stays_in_inference_mode_while_training(tmp_path):
    donor = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=None)
    donor.save_weights(tmp_path / "enc.weights.h5")
    model = build_munet(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=tmp_path / "enc.weights.h5")
    set_encoder_trainable(model, False)
    set_encoder_trainable(model, True)  # unfreezing after warm-up must not unfreeze BatchNorm
    enc_bn = next(layer for layer in model.get_layer("encoder").layers if "BN" in layer.name)
    before = [w.numpy().copy() for w in enc_bn.non_trainable_weights]  # moving mean / variance
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(1).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    model.fit(x, (x[..., :1] > 0).astype("float32"), epochs=1, verbose=0)
    after = [w.numpy() for w in enc_bn.non_trainable_weights]
    assert model.get_layer("encoder").get_layer("Conv1").trainable
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(ModelError, match="multiples of 32"):
        build_munet(alpha=0.35, input_shape=(100, 64, 3), encoder_weights=None)
    with pytest.raises(ModelError, match="decoder_filters"):
        build_munet(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=None, decoder_filters=(8, 8))


def test_missing_weights_file_and_offline_imagenet(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="not found"):
        build_munet(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=tmp_path / "none.h5")

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.mobilenet_v2.file_utils.get_file", offline, raising=False)
    with pytest.raises(ModelError, match="could not download.*--encoder-weights") as err:
        build_munet(alpha=1.0, input_shape=(64, 64, 3), encoder_weights="imagenet")
    assert "\n" not in str(err.value)


def test_shared_alpha_1_weights_load_and_mismatch_is_explained(shared_weights):
    import h5py

    model = build_munet(alpha=1.0, input_shape=(64, 64, 3), encoder_weights=shared_weights)
    kernel = model.get_layer("encoder").get_layer("Conv1").kernel.numpy()
    with h5py.File(shared_weights, "r") as f:
        stored = f["Conv1"]["Conv1"]["kernel:0"][()] if "Conv1" in f["Conv1"] else f["Conv1"]["kernel:0"][()]
    np.testing.assert_allclose(kernel, stored)
    with pytest.raises(ModelError, match="do not fit"):
        build_munet(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=shared_weights)

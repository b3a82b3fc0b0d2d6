"""The architecture registry: MU-Net and the paper's baselines build, fail in one line, and export to int8."""

from __future__ import annotations

import numpy as np
import pytest

from munet.errors import ModelError, MunetError

keras = pytest.importorskip("keras")

from munet.train.models import available_models, build_model  # noqa: E402
from munet.train.models.baselines import BASELINES  # noqa: E402
from munet.train.models.complexity import complexity, count_macs, measure  # noqa: E402

ALL = ("munet", *BASELINES)
PRETRAINED = ("unet-vgg19", "unet-resnet50", "segnet", "fcn")

#: Smallest sensible variants for the TFLite export tests (same layer types, far fewer channels).
SMALL = {
    "munet": {"alpha": 0.35, "encoder_weights": None},
    "unet": {"base_filters": 8},
    "unet-vgg19": {"encoder_weights": None, "decoder_filters": (32, 16, 16, 8)},
    "unet-resnet50": {"encoder_weights": None, "decoder_filters": (32, 16, 16, 8, 8)},
    "segnet": {"encoder_weights": None, "base_filters": 8},
    "fcn": {"encoder_weights": None, "fc_filters": 64},
}

#: Published parameter counts of the default architectures (millions) and the allowed relative gap:
#: U-Net (Ronneberger 2015, 64..1024 filters) ~31.0 M; SegNet (Badrinarayanan 2017, Table 6) 29.5 M;
#: FCN-8s (VGG16, Long 2015) ~134 M. The VGG19/ResNet50 U-Nets have no single published decoder.
PUBLISHED_PARAMS_M = {"unet": (31.0, 0.02), "segnet": (29.5, 0.02), "fcn": (134.3, 0.01)}
#: Encoder parameters of keras.applications (include_top=False), as documented by Keras.
KERAS_ENCODER_PARAMS = {"unet-vgg19": 20_024_384, "unet-resnet50": 23_587_712, "fcn": 14_714_688}
#: MU-Net alpha=1.4 at its default decoder (FIELD-NOTES section 2, measured independently).
MUNET_PARAMS = 9_492_753


def _random_inputs(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """Preprocessed-like inputs: uint8 RGB noise mapped to [-1, 1] as ``munet.edge.preprocess`` does."""
    from munet.edge.preprocess import preprocess

    rng = np.random.default_rng(seed)
    return np.stack([preprocess(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (size, size)) for _ in range(n)])


def test_registry_lists_every_paper_architecture() -> None:
    assert set(ALL) <= set(available_models())


def test_unknown_name_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(MunetError) as err:
        build_model("unet-vgg")
    msg = str(err.value)
    assert "did you mean 'unet-vgg19'" in msg
    assert "\n" not in msg
    for name in ALL:
        assert name in msg


@pytest.mark.parametrize("name", ALL)
def test_default_architecture_builds_at_64_and_outputs_a_sigmoid_mask(name: str) -> None:
    kwargs = {} if name == "unet" else {"encoder_weights": None}
    if name == "munet":
        kwargs["alpha"] = 1.4
    model = build_model(name, input_shape=(64, 64, 3), **kwargs)
    y = np.asarray(model(_random_inputs(2), training=False))
    assert y.shape == (2, 64, 64, 1)
    assert y.dtype == np.float32
    assert np.all((y >= 0) & (y <= 1))
    params = model.count_params()
    print(f"{name}: {params:,} parameters (default size)")
    if name in PUBLISHED_PARAMS_M:
        ref, tol = PUBLISHED_PARAMS_M[name]
        assert abs(params / 1e6 - ref) <= tol * ref, f"{name}: {params:,} vs published {ref} M"
    if name in KERAS_ENCODER_PARAMS:
        assert model.get_layer("encoder").count_params() == KERAS_ENCODER_PARAMS[name]
    if name != "munet":  # the paper (Sec. 6): every baseline has over 2x MU-Net's parameters (alpha 1.4)
        assert params > 2 * MUNET_PARAMS


@pytest.mark.parametrize("name", ALL)
def test_size_not_a_multiple_of_32_is_a_one_line_model_error(name: str) -> None:
    with pytest.raises(ModelError) as err:
        build_model(name, input_shape=(72, 64, 3), **SMALL[name])
    assert "32" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", PRETRAINED)
def test_missing_encoder_weights_file_is_a_one_line_error(name: str, tmp_path) -> None:
    missing = tmp_path / "nope.h5"
    with pytest.raises(ModelError) as err:
        build_model(name, input_shape=(64, 64, 3), encoder_weights=missing)
    assert str(missing) in str(err.value) and "\n" not in str(err.value)


def test_unet_refuses_an_encoder_weights_file(tmp_path) -> None:
    with pytest.raises(ModelError, match="no pretrained encoder"):
        build_model("unet", input_shape=(64, 64, 3), encoder_weights=tmp_path / "vgg.h5")
    # munet-train's default "imagenet" means "from scratch" for a U-Net (nothing to pretrain).
    assert build_model("unet", input_shape=(64, 64, 3), base_filters=4, encoder_weights="imagenet").count_params()


@pytest.fixture(scope="module")
def vgg16_weights(tmp_path_factory: pytest.TempPathFactory):
    """A VGG16 include_top=False weights file (random weights stand in for ImageNet's) and its model."""
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    path = tmp_path_factory.mktemp("vgg16") / "vgg16_notop.weights.h5"
    vgg.save_weights(path)
    return path, vgg


@pytest.mark.parametrize("name", ["segnet", "fcn"])
def test_local_vgg16_weights_are_loaded_and_input_adapted(name: str, vgg16_weights) -> None:
    path, vgg = vgg16_weights
    model = build_model(name, input_shape=(64, 64, 3), encoder_weights=path)
    encoder = model.get_layer("encoder")
    for layer in ("block1_conv1", "block3_conv2", "block5_conv3"):
        np.testing.assert_array_equal(encoder.get_layer(layer).get_weights()[0], vgg.get_layer(layer).get_weights()[0])
    # The frozen adapter turns the shared [-1, 1] RGB input into keras.applications' own VGG preprocessing.
    adapter = model.get_layer("imagenet_caffe_input")
    assert not adapter.trainable
    rgb = np.random.default_rng(1).integers(0, 256, (1, 8, 8, 3)).astype(np.float32)
    x = rgb / 127.5 - 1.0
    expected = keras.applications.vgg16.preprocess_input(rgb.copy())
    np.testing.assert_allclose(np.asarray(adapter(x)), expected, atol=1e-3)


def test_weights_for_another_encoder_are_a_one_line_error(vgg16_weights) -> None:
    path, _ = vgg16_weights
    with pytest.raises(ModelError) as err:
        build_model("unet-vgg19", input_shape=(64, 64, 3), encoder_weights=path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_from_scratch_models_have_no_input_adapter() -> None:
    model = build_model("segnet", input_shape=(64, 64, 3), encoder_weights=None, base_filters=8)
    assert "imagenet_caffe_input" not in [layer.name for layer in model.layers]


def _export_int8(model, tmp_path) -> bytes:
    """Full-int8 TFLite (int8 I/O) with preprocessed random images as the representative set."""
    calib = _random_inputs(4)
    try:
        from munet.convert.api import convert
    except ImportError:  # before munet.convert exists: the plain converter, same settings
        import tensorflow as tf

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([calib[i : i + 1]] for i in range(len(calib)))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        return conv.convert()
    src = tmp_path / "model.keras"
    model.save(src)
    return convert(src, tmp_path / "model.tflite", mode="int8", calib_arrays=calib).read_bytes()


_EXPORT_PARAMS = [
    "unet",
    "segnet",
    "fcn",
    pytest.param("unet-vgg19", marks=pytest.mark.slow),
    pytest.param("unet-resnet50", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name", _EXPORT_PARAMS)
def test_exports_cleanly_to_full_int8_and_runs_in_litert(name: str, tmp_path) -> None:
    """Builtin int8 ops only (SegNet's max-unpooling included); LiteRT output matches Keras within 0.05."""
    from ai_edge_litert.interpreter import Interpreter

    model = build_model(name, input_shape=(64, 64, 3), batch_size=1, **SMALL[name])
    data = _export_int8(model, tmp_path)
    interp = Interpreter(model_content=data)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    x = _random_inputs(1, seed=7)
    scale, zero = inp["quantization"]
    interp.set_tensor(inp["index"], np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8))
    interp.invoke()
    q = interp.get_tensor(out["index"])
    assert q.shape == (1, 64, 64, 1)
    oscale, ozero = out["quantization"]
    y = (q.astype(np.float32) - ozero) * oscale
    assert np.abs(y - np.asarray(model(x, training=False))).max() < 0.05


# --- complexity -------------------------------------------------------------------------------------------------


def test_macs_of_a_hand_computed_model() -> None:
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8*8 * 4 * 3*3 * 2 = 4608
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 8*8 * 4 * 3*3 = 2304
    x = keras.layers.Conv2DTranspose(3, 2, strides=2)(x)  # 8*8 * 4 * 2*2 * 3 = 3072 (input pixels scatter)
    x = keras.layers.Dense(5)(x)  # 16*16 positions * 5 * 3 = 3840
    model = keras.Model(inputs, keras.layers.MaxPooling2D()(x))  # pooling: 0
    assert count_macs(model) == 4608 + 2304 + 3072 + 3840

    # The same layers as a nested sub-model count the same.
    outer_in = keras.Input((8, 8, 2))
    assert count_macs(keras.Model(outer_in, model(outer_in))) == 4608 + 2304 + 3072 + 3840


def test_munet_complexity_matches_the_field_notes() -> None:
    """FIELD-NOTES section 2 (measured independently): alpha 1.4 at 256x256 = 9,492,753 params, 3.05 GMACs."""
    c = measure("munet", (256, 256), alpha=1.4)
    assert c.params == MUNET_PARAMS
    assert round(c.gmacs, 2) == 3.05
    assert c.input_size == (256, 256)


def test_macs_scale_with_the_input_area() -> None:
    small = complexity(build_model("unet", input_shape=(64, 64, 3), base_filters=8))
    big = complexity(build_model("unet", input_shape=(128, 128, 3), base_filters=8))
    assert big.macs == 4 * small.macs
    assert big.params == small.params

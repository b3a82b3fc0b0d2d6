"""Segmenter: masks at the frame size, int8 (de)quantization with the model's own parameters, clear model errors."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from munet.edge.integrity import stamp_digest
from munet.edge.preprocess import preprocess
from munet.edge.runtime import Segmenter, load_backend
from munet.errors import InputError, ModelError
from munet.imageio import list_images, load_image


@pytest.mark.parametrize("which", ["tiny_int8", "tiny_float"])
def test_segment_returns_mask_at_original_size(which, request, edge_images):
    model = request.getfixturevalue(which)
    seg = Segmenter(model, threads=1)
    assert seg.backend_name == "litert"
    assert seg.input_size == (64, 64)
    fractions = []
    for path in list_images(edge_images):
        rgb = load_image(path)
        res = seg.segment(rgb)
        assert res.mask.shape == rgb.shape[:2]
        assert res.mask.dtype == np.uint8
        assert set(np.unique(res.mask).tolist()) <= {0, 1}
        assert res.prob.shape == (64, 64) and res.prob.dtype == np.float32
        assert res.prob.min() >= 0.0 and res.prob.max() <= 1.0
        assert set(res.timings) == {"pre_ms", "infer_ms", "post_ms"} and all(v >= 0 for v in res.timings.values())
        fractions.append(res.mask.mean())
    # the trained test model predicts structure, not an all-0 or all-1 mask
    assert 0.0 < float(np.mean(fractions)) < 1.0


def test_int8_input_uses_the_models_scale_and_zero_point(tiny_int8, edge_images):
    seg = Segmenter(tiny_int8, threads=1)
    detail = seg._interp.get_input_details()[0]
    scale, zero = detail["quantization"]
    assert detail["dtype"] == np.int8 and scale > 0
    rgb = load_image(list_images(edge_images)[0])
    q = seg.prepare(rgb)
    assert q.dtype == np.int8 and q.shape == (1, 64, 64, 3)
    # dequantizing our input gives back the shared preprocessing to within half a quantization step
    back = (q.astype(np.float32) - zero) * scale
    np.testing.assert_allclose(back[0], preprocess(rgb, (64, 64)), atol=scale / 2 + 1e-6)
    # the output is dequantized with the output tensor's parameters
    out = seg._interp.get_output_details()[0]
    o_scale, o_zero = out["quantization"]
    raw = seg.invoke(q)
    np.testing.assert_allclose(seg.dequantize(raw), (raw[0, :, :, 0].astype(np.float32) - o_zero) * o_scale)


def test_int8_close_to_float(tiny_int8, tiny_float, edge_images):
    a, b = Segmenter(tiny_int8, threads=1), Segmenter(tiny_float, threads=1)
    for path in list_images(edge_images):
        rgb = load_image(path)
        diff = np.abs(a.segment(rgb).prob - b.segment(rgb).prob)
        assert float(diff.mean()) < 0.08


def test_keep_largest_and_fill_holes_only_shrink_or_grow(tiny_float, edge_images):
    rgb = load_image(list_images(edge_images)[0])
    base = Segmenter(tiny_float, threads=1).segment(rgb).mask
    largest = Segmenter(tiny_float, threads=1, keep_largest=True).segment(rgb).mask
    filled = Segmenter(tiny_float, threads=1, fill_holes=True).segment(rgb).mask
    assert np.all(largest <= base) and np.all(filled >= base)


def test_non_tflite_model_is_a_one_line_model_error(tmp_path):
    keras_file = tmp_path / "model.keras"
    with zipfile.ZipFile(keras_file, "w") as zf:  # a .keras file is a zip archive
        zf.writestr("config.json", "{}")
    with pytest.raises(ModelError, match="a Keras file.*munet-convert") as info:
        Segmenter(keras_file)
    assert "\n" not in str(info.value)
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="TFL3"):
        Segmenter(bogus)
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(b"\x10\x00\x00\x00TFL3" + b"\xff" * 200)
    with pytest.raises(ModelError) as info:
        Segmenter(corrupt)
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match="no such model"):
        Segmenter(tmp_path / "missing.tflite")


def test_truncated_model_is_a_model_error(tmp_path, tiny_int8):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(tiny_int8.read_bytes()[:4096])
    with pytest.raises(ModelError):
        Segmenter(cut)


def test_backend_choice():
    assert load_backend("auto")[0] == "litert"
    with pytest.raises(ModelError, match="unknown"):
        load_backend("onnx")
    try:
        import tflite_runtime  # noqa: F401
    except ImportError:
        with pytest.raises(ModelError, match="tflite-runtime not installed"):
            load_backend("tflite-runtime")


def test_sidecar_and_shape_fallbacks(tmp_path, tiny_float, edge_images):
    data = tiny_float.read_bytes()
    assert data.count(b"munet_metadata") == 1
    model = tmp_path / "m.tflite"
    model.write_bytes(data.replace(b"munet_metadata", b"other_metadata"))  # hide the embedded metadata
    # no metadata at all: the input tensor's shape and the default normalisation
    seg = Segmenter(model, threads=1)
    assert seg.info.input_size == (64, 64) and seg.info.threshold == 0.5
    rgb = load_image(list_images(edge_images)[0])
    np.testing.assert_array_equal(seg.segment(rgb).mask, Segmenter(tiny_float, threads=1).segment(rgb).mask)
    # a sidecar is read: a higher threshold gives a smaller mask
    (tmp_path / "m.json").write_text(json.dumps({"input_size": [64, 64], "threshold": 0.9}))
    strict = Segmenter(model, threads=1)
    assert strict.info.threshold == 0.9
    assert strict.segment(rgb).mask.sum() <= seg.segment(rgb).mask.sum()
    # a sidecar that disagrees with the model is rejected
    (tmp_path / "m.json").write_text(json.dumps({"input_size": [32, 32]}))
    with pytest.raises(ModelError, match="metadata says input"):
        Segmenter(model)


def test_runtime_never_imports_tensorflow(tiny_int8, edge_images, tmp_path):
    """The runtime, the CLI loop and the outputs run without TensorFlow or Keras in the process."""
    code = f"""
import sys
from munet.edge.runner import RunOptions, run
from munet.edge.runtime import Segmenter
from munet.imageio import list_images, load_image
from munet.edge.integrity import stamp_digest
seg = Segmenter({str(tiny_int8)!r})
seg.segment(load_image(list_images({str(edge_images)!r})[0]))
s = run({str(tiny_int8)!r}, {str(edge_images)!r}, RunOptions(out={str(tmp_path / "out")!r}, preview_port=0))
assert s.processed == 3, s
bad = [m for m in ("tensorflow", "keras", "tf_keras") if m in sys.modules]
assert not bad, bad
print("OK", seg.backend_name)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OK litert" in proc.stdout
    assert len(list(Path(tmp_path / "out").glob("*_segmentation.png"))) == 3


def test_forced_tensorflow_backend_matches_litert(tiny_int8, edge_images):
    """``--backend tensorflow`` (tf.lite) gives the same mask as LiteRT; skipped where TF is absent."""
    pytest.importorskip("tensorflow")
    rgb = load_image(list_images(edge_images)[0])
    tf_seg = Segmenter(tiny_int8, threads=1, backend="tensorflow")
    assert tf_seg.backend_name == "tensorflow"
    np.testing.assert_array_equal(tf_seg.segment(rgb).mask, Segmenter(tiny_int8, threads=1).segment(rgb).mask)


def test_segment_accepts_a_path(tiny_float, edge_images):
    seg = Segmenter(tiny_float, threads=1)
    path = list_images(edge_images)[1]
    expected = seg.segment(load_image(path)).mask
    np.testing.assert_array_equal(seg.segment(str(path)).mask, expected)
    np.testing.assert_array_equal(seg.segment(path).mask, expected)
    with pytest.raises(InputError, match="no such image"):
        seg.segment(path.with_name("missing.png"))


def test_threshold_outside_0_1_in_embedded_metadata_is_refused(tmp_path, tiny_float):
    data = tiny_float.read_bytes()
    assert data.count(b'"threshold": 0.5') == 1
    for bad in (b"1.5", b"0.0", b'"x"'):
        model = tmp_path / "t.tflite"
        # Re-stamped: an edit of the metadata alone would be refused by the content digest first.
        model.write_bytes(stamp_digest(data.replace(b'"threshold": 0.5', b'"threshold": ' + bad)))
        with pytest.raises(ModelError, match=r"\(embedded metadata\): threshold") as err:
            Segmenter(model, threads=1)
        assert str(model) in str(err.value) and "\n" not in str(err.value)


def test_sidecar_of_another_model_names_the_sidecar(tmp_path, tiny_float):
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_float.read_bytes().replace(b"munet_metadata", b"other_metadata"))
    side = tmp_path / "m.json"
    side.write_text(json.dumps({"input_size": [64, 64], "io_dtype": "int8", "quantization": "int8"}))
    with pytest.raises(ModelError, match="another model") as err:  # an int8 model's sidecar next to a float one
        Segmenter(model, threads=1)
    assert str(side) in str(err.value)
    side.write_text(json.dumps({"input_size": [32, 32]}))
    with pytest.raises(ModelError, match="another model") as err:
        Segmenter(model, threads=1)
    assert str(side) in str(err.value) and "(32, 32)" in str(err.value)
    side.write_text(json.dumps({"labels": ["lesion"]}))  # some other tool's JSON
    with pytest.raises(ModelError, match="no input_size") as err:
        Segmenter(model, threads=1)
    assert str(side) in str(err.value)


def _odd_tflite(path: Path, in_shape: list, out_channels: int) -> Path:
    """A one-conv sigmoid model with input ``in_shape`` (None: dynamic) and ``out_channels`` outputs."""
    tf = pytest.importorskip("tensorflow")
    kernel = tf.constant(np.random.default_rng(0).normal(0, 0.5, (3, 3, 3, out_channels)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec(in_shape, tf.float32)])
    def net(x):
        return tf.sigmoid(tf.nn.conv2d(x, kernel, 1, "SAME"))

    conv = tf.lite.TFLiteConverter.from_concrete_functions([net.get_concrete_function()], net)
    path.write_bytes(conv.convert())
    return path


@pytest.mark.parametrize(
    ("in_shape", "channels", "message"),
    [([1, 64, 64, 3], 2, "2 channels"), ([1, None, None, 3], 1, "dynamic input size")],
    ids=["two-channel-output", "dynamic-input"],
)
def test_unsupported_model_shapes_are_refused_not_all_zero_masks(tmp_path, edge_images, in_shape, channels, message):
    model = _odd_tflite(tmp_path / "odd.tflite", in_shape, channels)
    with pytest.raises(ModelError, match=message) as err:
        Segmenter(model, threads=1)
    assert str(model) in str(err.value) and "\n" not in str(err.value)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "munet.edge.cli", str(model), str(edge_images), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr and not list(out.glob("*_segmentation.png"))

"""munet.convert.api: four modes, static batch 1, metadata, int8 quantization parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.edge.metadata import METADATA_NAME, read_metadata_bytes, read_model_info, sidecar_path
from munet.train.config import config_from_run

pytest.importorskip("ai_edge_litert")


def _interp(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    return it


def test_all_modes_have_embedded_metadata_and_sidecar(converted: dict[str, Path], trained_run: Path) -> None:
    expected_quant = {"float32": "float32", "fp16": "float16", "dynamic": "dynamic", "int8": "int8"}
    for mode, path in converted.items():
        entries = read_metadata_bytes(path.read_bytes())
        assert METADATA_NAME in entries
        info = read_model_info(path)
        assert info is not None
        assert info.input_size == (64, 64)
        assert info.quantization == expected_quant[mode]
        assert info.io_dtype == ("int8" if mode == "int8" else "float32")
        assert info.alpha == pytest.approx(0.35)
        # the run's TrainConfig.config_hash, the one its MODEL_CARD.md and metrics.json carry
        assert info.config_hash == config_from_run(trained_run).config_hash() and len(info.config_hash) == 12
        assert json.loads(sidecar_path(path).read_text()) == json.loads(entries[METADATA_NAME])


def test_sizes_shrink_with_quantization(converted: dict[str, Path]) -> None:
    size = {m: p.stat().st_size for m, p in converted.items()}
    assert size["fp16"] < 0.55 * size["float32"]
    assert size["dynamic"] < 0.30 * size["float32"]
    assert size["int8"] < 0.30 * size["float32"]


def test_static_batch_one_and_int8_io_quantization(converted: dict[str, Path], session_converter) -> None:
    for path in converted.values():
        it = _interp(path)
        inp = it.get_input_details()[0]
        assert list(inp["shape"]) == [1, 64, 64, 3]
        assert list(inp["shape_signature"]) == [1, 64, 64, 3]
    it = _interp(converted["int8"])
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    in_scale, in_zp = inp["quantization"]
    # The input range follows the calibration inputs (2/255, zero point -1 for a full [-1, 1] range).
    x = session_converter.calib_x
    assert x is not None and x.shape[1:] == (64, 64, 3)
    lo, hi = in_scale * (-128 - in_zp), in_scale * (127 - in_zp)
    assert lo <= x.min() + in_scale and hi >= x.max() - in_scale
    assert hi - lo <= (x.max() - x.min()) * 1.05 + 2 * in_scale
    assert out["quantization"][0] == pytest.approx(1 / 256, rel=1e-3) and out["quantization"][1] == -128


def test_no_runtime_shape_ops_before_transpose_conv(converted: dict[str, Path]) -> None:
    from munet.convert.ops_report import read_ops

    for path in converted.values():
        ops = {op.name for op in read_ops(path.read_bytes())}
        assert "TRANSPOSE_CONV" in ops
        assert not ops & {"SHAPE", "STRIDED_SLICE", "PACK"}, ops


def test_keep_float_op_type_leaves_decoder_in_float(session_converter) -> None:
    from munet.convert.ops_report import read_ops
    from munet.convert.selective import keras_layer_name

    data, kept = session_converter.to_bytes("int8", "int8", ["TRANSPOSE_CONV"])
    ops = {op.name: op.count for op in read_ops(data)}
    assert kept == ["TRANSPOSE_CONV"]
    assert ops.get("DEQUANTIZE", 0) >= 5  # one float island per transposed conv
    assert keras_layer_name("munet_1/encoder_1/block_5_add_1/Add") == "block_5_add"


def test_min_agreement_fails_a_model_whose_masks_moved(session_converter, tiny_tflites, blob_data: Path) -> None:
    """The gate's Dice vs truth can pass while the masks moved; --min-agreement catches that (and names it)."""
    import dataclasses

    import numpy as np

    from munet.convert import gate
    from munet.convert.api import validation_set
    from munet.edge.evaluate import Prediction

    val = validation_set(session_converter, blob_data, max_images=8)
    own = gate.tflite_predictions(tiny_tflites["int8"], val.images())
    same_val = dataclasses.replace(val, float_preds=own)
    same = gate.evaluate("int8", tiny_tflites["int8"], same_val, min_agreement=0.985)
    assert same.passed and same.dice_vs_float == 1.0 and "min Dice vs float" in same.table()
    moved = dataclasses.replace(  # a "float model" whose masks sit elsewhere
        val, float_preds=[Prediction(np.roll(p.mask, 16, axis=1), np.roll(p.prob, 16, axis=1)) for p in own]
    )
    res = gate.evaluate("int8", tiny_tflites["int8"], moved, max_dice_drop=100.0, min_agreement=0.985)
    assert not res.passed
    assert any("min agreement 0.985" in r for r in res.reasons)
    assert gate.evaluate("int8", tiny_tflites["int8"], moved, max_dice_drop=100.0).passed  # off by default


def test_gate_scores_masks_at_the_original_image_size(session_converter, tiny_tflites, blob_data: Path) -> None:
    """The gate's float and TFLite masks are at each image's own size (the blobs are not 64x64), as every score."""
    from munet.convert import gate
    from munet.convert.api import validation_set
    from munet.data import load_pair

    val = validation_set(session_converter, blob_data, max_images=4)
    image, truth = load_pair(val.samples[0])
    assert image.shape[:2] != (64, 64) and val.truths[0].shape == truth.shape == val.float_preds[0].mask.shape
    res = gate.evaluate("int8", tiny_tflites["int8"], val)
    assert res.n_images == len(val.samples) and res.dice_tflite_vs_truth is not None


def test_keep_float_by_layer_name_when_the_input_zero_point_is_zero(session_converter) -> None:
    """Inputs calibrated to [-1, 254/127.5 - 1] get an int8 zero point of 0, which TF's QuantizationDebugger
    mistakes for "not quantized" (it then fed float32 and crashed: brain CV fold 1); ours quantizes them."""
    import numpy as np
    import tensorflow as tf

    from munet.convert.selective import quantize_input

    saved = (session_converter.calib_x, session_converter.held_back, session_converter.calib_stats)
    top = np.float32(254 / 127.5 - 1)
    x = np.clip(saved[0], -1.0, top).astype(np.float32)
    x[0, 0, 0, 0], x[0, 0, 1, 0] = -1.0, top
    try:
        session_converter.set_calibration(arrays=x)
        data, kept = session_converter.to_bytes("int8", "int8", ["expanded_conv_depthwise_relu"])
    finally:
        session_converter.calib_x, session_converter.held_back, session_converter.calib_stats = saved
    interp = tf.lite.Interpreter(model_content=data)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    assert detail["quantization"][1] == 0 and kept == ["expanded_conv_depthwise_relu"]
    q = quantize_input(x[:1], detail)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    interp.set_tensor(detail["index"], q)
    interp.invoke()

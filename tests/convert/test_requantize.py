"""``munet-convert MODEL.tflite --io uint8``: the lossless int8 -> uint8 I/O rewrite of an existing model
(convert/requantize.py), and the content digest munet-convert stamps into every file it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from munet.convert.cli import main
from munet.edge.integrity import check_digest, mismatch_message
from munet.edge.metadata import read_model_info
from munet.edge.runtime import Segmenter
from munet.imageio import list_images, load_image

pytest.importorskip("ai_edge_litert")


def _graph(path: Path):
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    return schema, model, model.subgraphs[0]


def _op_name(schema, model, op) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names[max(code.builtinCode, code.deprecatedBuiltinCode)]


def test_converted_files_carry_a_valid_digest(tiny_tflites: dict[str, Path]) -> None:
    for path in tiny_tflites.values():
        info = read_model_info(path)
        assert len(info.digest) == 64 and check_digest(path.read_bytes(), path.name)
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["digest"] == info.digest  # the sidecar names the same content


def test_rewrite_is_lossless_and_builds_the_converters_graph(
    tiny_tflites: dict[str, Path], session_converter, blob_data: Path, tmp_path: Path
) -> None:
    src = tiny_tflites["int8"]
    res = CliRunner().invoke(main, [str(src), "--io", "uint8", "--out", str(tmp_path / "u.tflite")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "u.tflite"
    assert f"uint8 I/O model: {out}" in res.output and out.with_suffix(".json").is_file()
    info, old_info = read_model_info(out), read_model_info(src)
    assert info.io_dtype == "uint8" and check_digest(out.read_bytes(), out.name)
    assert {k: v for k, v in vars(info).items() if k not in ("io_dtype", "digest")} == {
        k: v for k, v in vars(old_info).items() if k not in ("io_dtype", "digest")
    }
    # Same masks and probabilities as the int8-I/O file: the int8 graph sees the same int8 values.
    old, new = Segmenter(src, threads=1), Segmenter(out, threads=1)
    assert (new._in_dtype, new._out_dtype) == (np.uint8, np.uint8)
    for path in list_images(blob_data / "images")[:8]:
        rgb = load_image(path)
        a, b = old.segment(rgb), new.segment(rgb)
        np.testing.assert_array_equal(a.prob, b.prob)
        np.testing.assert_array_equal(a.mask, b.mask)
    # The graph: what the TFLite converter itself makes with inference_input/output_type = uint8.
    schema, model, graph = _graph(out)
    first, last = graph.operators[0], graph.operators[-1]
    assert _op_name(schema, model, first) == _op_name(schema, model, last) == "QUANTIZE"
    assert list(first.inputs) == list(graph.inputs) and list(last.outputs) == list(graph.outputs)
    ref_path = session_converter.convert("int8", tmp_path / "ref_uint8.tflite", io="uint8").path
    rschema, rmodel, rgraph = _graph(ref_path)
    for ours, theirs in ((graph.inputs[0], rgraph.inputs[0]), (graph.outputs[0], rgraph.outputs[0])):
        t, r = graph.tensors[ours], rgraph.tensors[theirs]
        assert t.type == r.type == schema.TensorType.UINT8
        assert list(t.shape) == list(r.shape)
        np.testing.assert_allclose(t.quantization.scale, r.quantization.scale)
        assert list(t.quantization.zeroPoint) == list(r.quantization.zeroPoint)
    quantize_versions = {
        int(rmodel.operatorCodes[o.opcodeIndex].version)
        for o in (rgraph.operators[0], rgraph.operators[-1])
        if _op_name(rschema, rmodel, o) == "QUANTIZE"
    }
    assert {int(model.operatorCodes[first.opcodeIndex].version)} == quantize_versions
    # Signature runners address tensors by index: they name the new uint8 tensors.
    (sig,) = model.signatureDefs
    assert [e.tensorIndex for e in sig.inputs] == list(graph.inputs)
    assert [e.tensorIndex for e in sig.outputs] == list(graph.outputs)
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(out)).get_signature_runner()
    x = new.prepare(load_image(list_images(blob_data / "images")[0]))
    (name,) = runner.get_input_details()
    (got,) = runner(**{name: x}).values()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, new.invoke(x))


def test_default_output_name_and_already_uint8(tiny_tflites: dict[str, Path], tmp_path: Path) -> None:
    src = Path(shutil.copy(tiny_tflites["int8"], tmp_path / "m.tflite"))
    res = CliRunner().invoke(main, [str(src), "--io", "uint8"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "m_uint8.tflite"
    assert out.is_file()
    res = CliRunner().invoke(main, [str(out), "--io", "uint8", "--out", str(tmp_path / "again.tflite")])
    assert res.exit_code == 0, res.output  # already uint8: written as is (digest re-stamped)
    assert check_digest((tmp_path / "again.tflite").read_bytes(), "again")
    assert read_model_info(tmp_path / "again.tflite").io_dtype == "uint8"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--io", "uint8", "--int8"], "--int8/--fp16/--dynamic/--float32 apply to Keras models"),
        (["--io", "uint8", "--no-gate"], "--no-gate apply to Keras models"),
        ([], "rewritten with --io uint8"),
        (["--io", "int8"], "rewritten with --io uint8"),
    ],
)
def test_rewrite_refuses_options_it_does_not_use(tiny_tflites, tmp_path, args, message) -> None:
    res = CliRunner().invoke(main, [str(tiny_tflites["int8"]), *args, "--out", str(tmp_path / "x.tflite")])
    assert res.exit_code == 2 and message in res.output, res.output
    assert res.output.strip().count("\n") == 0 and not (tmp_path / "x.tflite").exists()


def test_float_model_and_corrupted_source_are_one_line_errors(tiny_tflites, tmp_path) -> None:
    res = CliRunner().invoke(main, [str(tiny_tflites["float32"]), "--io", "uint8", "--out", str(tmp_path / "f.tflite")])
    assert res.exit_code == 2 and "float32 input and float32 output" in res.output, res.output
    assert "--int8 --io uint8" in res.output and not (tmp_path / "f.tflite").exists()
    bad = tmp_path / "bad.tflite"
    data = bytearray(tiny_tflites["int8"].read_bytes())
    data[len(data) // 2] ^= 0x04
    bad.write_bytes(data)
    res = CliRunner().invoke(main, [str(bad), "--io", "uint8", "--out", str(tmp_path / "b.tflite")])
    assert res.exit_code == 2 and mismatch_message(str(bad)) in res.output, res.output
    assert not (tmp_path / "b.tflite").exists()  # a corrupted file is never re-stamped as good
